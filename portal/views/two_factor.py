"""Pages for the person's two-factor devices and the workspace's Security settings."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

import django_otp
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from portal.forms.accounts import DeviceRemoveForm, EnrolmentConfirmForm, RequireTwoFactorForm
from portal.security.devices import event_details
from portal.signed_in import signed_in_user
from portal.two_factor import (
    backup_codes_regenerate,
    backup_codes_remaining,
    confirmed_totp_device,
    members_two_factor_status,
    tenant_require_two_factor_set,
    tenants_requiring_two_factor,
    totp_device_remove,
    totp_enrolment_confirm,
    totp_enrolment_start,
    user_has_any_device,
    user_has_two_factor,
)

NEW_BACKUP_CODES_SESSION_KEY = "hubport_new_backup_codes"

View = Callable[..., HttpResponse]


def verified_if_enrolled(view: View) -> View:
    """Changing devices needs a session verified with a code when the person has
    a device, so a stolen password alone cannot swap or remove the second factor."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = signed_in_user(request)
        # is_verified() is added to the user by django_otp's OTPMiddleware.
        if not user.is_verified() and user_has_any_device(user=user):  # type: ignore[attr-defined]
            return redirect(f"{reverse('login_code')}?{urlencode({'next': request.get_full_path()})}")
        return view(request, *args, **kwargs)

    return wrapper


@login_required
@never_cache
@verified_if_enrolled
def overview(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    return render(
        request,
        "portal/two_factor/overview.html",
        {
            "totp_device": confirmed_totp_device(user=user),
            "backup_codes_remaining": backup_codes_remaining(user=user),
            "requiring_tenants": tenants_requiring_two_factor(user=user),
        },
    )


@sensitive_post_parameters("code")
@login_required
@never_cache
@verified_if_enrolled
@require_http_methods(["GET", "POST"])
def setup(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    if request.method == "POST":
        form = EnrolmentConfirmForm(request.POST)
        if form.is_valid():
            try:
                result = totp_enrolment_confirm(
                    user=user,
                    device_id=form.cleaned_data["device_id"],
                    code=form.cleaned_data["code"],
                    notice_details=event_details(request=request, user=user),
                )
            except ValidationError as error:
                field_messages = error.message_dict.get("code", []) if hasattr(error, "error_dict") else []
                for message in field_messages or error.messages:
                    form.add_error("code", message)
            else:
                # The code just proved the device: this session counts as verified.
                django_otp.login(request, result.device)
                if result.backup_codes:
                    request.session[NEW_BACKUP_CODES_SESSION_KEY] = result.backup_codes
                    messages.success(request, "Two-factor authentication is on. Keep your backup codes safe.")
                    return redirect("two_factor_backup_codes")
                messages.success(request, "Your new authenticator app is set up; the old one no longer works.")
                return redirect("two_factor")
    else:
        form = EnrolmentConfirmForm()
    enrolment = totp_enrolment_start(user=user)
    form.initial["device_id"] = enrolment.device.pk
    if form.is_bound:
        # A stale or replaced pending device: confirm against the one shown now.
        data = request.POST.copy()  # form.data is request.POST, which is immutable
        data["device_id"] = str(enrolment.device.pk)
        form.data = data
    return render(
        request,
        "portal/two_factor/setup.html",
        {
            "form": form,
            "enrolment": enrolment,
            "qr_svg": mark_safe(enrolment.qr_svg()),  # noqa: S308 - SVG drawn by segno from our own URL
            "replacing": user_has_two_factor(user=user),
        },
    )


@login_required
@never_cache
@verified_if_enrolled
@require_http_methods(["GET", "POST"])
def backup_codes(request: HttpRequest) -> HttpResponse:
    """GET shows codes made a moment ago, once; POST makes ten new ones."""
    if request.method == "POST":
        try:
            user = signed_in_user(request)
            codes = backup_codes_regenerate(user=user, notice_details=event_details(request=request, user=user))
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("two_factor")
        request.session[NEW_BACKUP_CODES_SESSION_KEY] = codes
        messages.success(request, "You have ten new backup codes. The old ones no longer work.")
        return redirect("two_factor_backup_codes")
    codes = request.session.pop(NEW_BACKUP_CODES_SESSION_KEY, None)
    return render(
        request,
        "portal/two_factor/backup_codes.html",
        {
            "codes": codes if isinstance(codes, list) else None,
            "remaining": backup_codes_remaining(user=signed_in_user(request)),
            "has_two_factor": user_has_two_factor(user=signed_in_user(request)),
        },
    )


@sensitive_post_parameters("password")
@login_required
@never_cache
@verified_if_enrolled
@require_http_methods(["GET", "POST"])
def remove(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    device = confirmed_totp_device(user=user)
    if device is None:
        messages.info(request, "You have no authenticator app to remove.")
        return redirect("two_factor")
    form = DeviceRemoveForm(request.POST or None, user=user, initial={"device_id": device.pk})
    if request.method == "POST" and form.is_valid():
        try:
            totp_device_remove(
                user=user,
                device_id=form.cleaned_data["device_id"],
                notice_details=event_details(request=request, user=user),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Your authenticator app and backup codes are removed.")
            return redirect("two_factor")
    return render(
        request,
        "portal/two_factor/remove.html",
        {"form": form, "device": device, "requiring_tenants": tenants_requiring_two_factor(user=user)},
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def tenant_security(request: HttpRequest) -> HttpResponse:
    """Settings → Security: the person's own two-factor status and the workspace policy."""
    tenant = getattr(request, "tenant", None)
    membership = getattr(request, "membership", None)
    if tenant is None or membership is None:
        return redirect(f"{reverse('tenant_choose')}?{urlencode({'next': request.get_full_path()})}")
    is_owner = membership.role == membership.Role.OWNER
    form = RequireTwoFactorForm(request.POST or None, initial={"required": tenant.require_two_factor})
    if request.method == "POST":
        if not is_owner:
            raise PermissionDenied("Only an owner can change the workspace's two-factor policy.")
        if form.is_valid():
            required = form.cleaned_data["required"]
            try:
                tenant_require_two_factor_set(tenant=tenant, acting_user=signed_in_user(request), required=required)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(
                    request,
                    "Every member now needs two-factor authentication."
                    if required
                    else "Two-factor authentication is now optional for members.",
                )
                return redirect("tenant_security")
    return render(
        request,
        "portal/two_factor/tenant_security.html",
        {
            "form": form,
            "tenant": tenant,
            "is_owner": is_owner,
            "has_two_factor": user_has_two_factor(user=signed_in_user(request)),
            "backup_codes_remaining": backup_codes_remaining(user=signed_in_user(request)),
            "members": members_two_factor_status(tenant=tenant) if membership.can_administer else None,
        },
    )
