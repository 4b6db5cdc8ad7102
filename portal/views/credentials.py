"""Settings → Password and Settings → Email address: changing either, told to
the person by email, and the reset-by-email page that ends in the same service.

Changing the password keeps this session and ends every other one (Django
checks each session against the password's hash). A wrong current password
counts as a failed sign-in of that account from this address, so a stolen
session cannot guess the password at full speed.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import INTERNAL_RESET_SESSION_TOKEN, PasswordResetConfirmView
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from portal.forms.accounts import EmailChangeForm, PasswordChangeForm
from portal.security.devices import event_details
from portal.security.guards import sign_in_guard, slowed_down
from portal.services.accounts import (
    email_change_read,
    user_email_change_confirm,
    user_email_change_request,
    user_password_change,
)
from portal.signed_in import signed_in_user


def _service_errors(form: Form, error: ValidationError, field: str) -> None:
    """A service's ValidationError onto the form: its own keys, else ``field``."""
    if hasattr(error, "error_dict"):
        for key, texts in error.message_dict.items():
            form.add_error(key if key in form.fields else field, texts)
    else:
        form.add_error(field, error)


@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def password_change(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    form = PasswordChangeForm(request.POST or None, user=user)
    guard = sign_in_guard(request, email=user.email)
    if request.method == "POST" and guard.wait:
        return slowed_down(
            request, "portal/accounts/password_change.html", {"form": PasswordChangeForm(user=user)}, guard.wait
        )
    if request.method == "POST":
        if not form.is_valid():
            if form.has_error("old_password", "password_incorrect"):
                guard.failed()
        else:
            guard.succeeded()
            try:
                user_password_change(
                    user=user,
                    new_password=form.cleaned_data["new_password1"],
                    details=event_details(request=request, user=user),
                )
            except ValidationError as error:
                _service_errors(form, error, "new_password1")
            else:
                update_session_auth_hash(request, user)
                messages.success(request, "Your password is changed. Every other session has been signed out.")
                return redirect("profile")
    return render(request, "portal/accounts/password_change.html", {"form": form})


@sensitive_post_parameters("password")
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def email_change(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    form = EmailChangeForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            user_email_change_request(
                user=user, new_email=form.cleaned_data["new_email"], details=event_details(request=request, user=user)
            )
        except ValidationError as error:
            _service_errors(form, error, "new_email")
        else:
            messages.success(
                request,
                f"We sent a link to {form.cleaned_data['new_email']}. Open it within 24 hours to use that address; "
                "until then your address stays as it is.",
            )
            return redirect("profile")
    return render(request, "portal/accounts/email_change.html", {"form": form, "current": user.email})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def email_change_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The link from the email: a page with a button (GET changes nothing, so a
    mail scanner following links cannot confirm), then the change."""
    user = signed_in_user(request)
    try:
        change = email_change_read(token=token, user=user)
        if request.method == "POST":
            user_email_change_confirm(user=user, token=token, details=event_details(request=request, user=user))
            messages.success(request, f"Your email address is now {change.new_email}.")
            return redirect("profile")
    except ValidationError as error:
        return render(
            request, "portal/accounts/email_change_confirm.html", {"refused": " ".join(error.messages)}, status=400
        )
    return render(request, "portal/accounts/email_change_confirm.html", {"change": change})


class HubportPasswordResetConfirmView(PasswordResetConfirmView):
    """Django's reset page, ending in the same service as a change: the person
    is told by email that their password was reset."""

    template_name = "registration/password_reset_confirm.html"

    def form_valid(self, form: Any) -> HttpResponse:
        user = form.user
        user_password_change(
            user=user,
            new_password=form.cleaned_data["new_password1"],
            details=event_details(request=self.request, user=user),
            how="reset with a link sent by email",
        )
        del self.request.session[INTERNAL_RESET_SESSION_TOKEN]
        return HttpResponseRedirect(self.get_success_url())
