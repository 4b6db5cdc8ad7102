"""Pages for signing up, signing in (with a second step for the code), signing
out, the home page, choosing a workspace and the person's profile."""

from __future__ import annotations

from typing import Any

import django_otp
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LogoutView
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from hubs.models import Hub
from portal.forms.accounts import CodeForm, LoginForm, ProfileForm, SignupForm, TenantChoiceForm
from portal.middleware.tenant import SESSION_TENANT_KEY
from portal.models import BackupCodeDevice
from portal.security.devices import event_details
from portal.security.guards import code_guard, sign_in_guard, signup_guard, slowed_down
from portal.security.sign_in_link import link_sent_response
from portal.selectors import membership_for, memberships_for_user
from portal.services.accounts import user_time_zone_set
from portal.services.sign_ins import (
    SLOWED_DOWN,
    sign_in_code_failure_record,
    sign_in_event_record,
    sign_in_failure_record,
)
from portal.services.tenants import tenant_create
from portal.signed_in import signed_in_user
from portal.two_factor import code_verify, user_has_any_device

PENDING_LOGIN_SESSION_KEY = "hubport_pending_login"
# Long enough to unlock a phone and read a code, short enough that a password
# typed on a shared computer and walked away from is soon worthless.
PENDING_LOGIN_MAX_AGE_SECONDS = 5 * 60
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
SIGNUP_SLOWED = "Too many signups from your network. Wait {wait} and try again."


def safe_next_url(request: HttpRequest, candidate: str | None, default: str = "home") -> str:
    """The URL to go to after this step, if it is on this site; otherwise ``default``."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse(default)


# SECTION: home and workspaces


@login_required
@require_http_methods(["GET", "POST"])
def tenant_choose(request: HttpRequest) -> HttpResponse:
    """List the person's workspaces; POST switches to one of them (and only theirs)."""
    next_url = request.POST.get("next") or request.GET.get("next")
    if request.method == "POST":
        form = TenantChoiceForm(request.POST)
        if not form.is_valid():
            raise Http404("No such workspace.")
        # Another tenant's id, or one that does not exist, answers the same 404,
        # so the switcher cannot be used to learn which tenant ids exist.
        membership = membership_for(user=signed_in_user(request), tenant_id=form.cleaned_data["tenant_id"])
        if membership is None:
            raise Http404("No such workspace.")
        request.session[SESSION_TENANT_KEY] = membership.tenant_id
        messages.success(request, f"You are now working in {membership.tenant.name}.")
        return HttpResponseRedirect(safe_next_url(request, next_url))
    return render(
        request,
        "portal/accounts/tenant_choose.html",
        {
            "memberships": memberships_for_user(user=signed_in_user(request)),
            "next": next_url if next_url and safe_next_url(request, next_url) == next_url else "",
        },
    )


# SECTION: the person's profile


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    """Settings → Profile: the time zone every page shows times in."""
    user = signed_in_user(request)
    tenant = getattr(request, "tenant", None)
    hub_time_zone = tenant.hub.time_zone if tenant is not None else None
    form = ProfileForm(request.POST or None, initial={"time_zone": user.time_zone}, hub_time_zone=hub_time_zone)
    if request.method == "POST" and form.is_valid():
        try:
            user_time_zone_set(user=user, time_zone=form.cleaned_data["time_zone"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if user.time_zone:
                chosen = f"{user.time_zone} time"
            else:
                chosen = f"your hub’s time zone ({hub_time_zone})" if hub_time_zone else "UTC"
            messages.success(request, f"Times are now shown in {chosen}.")
            return redirect("profile")
    return render(request, "portal/accounts/profile.html", {"form": form})


# SECTION: signup


@sensitive_post_parameters("password1", "password2")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        messages.info(request, "You are signed in already. Sign out first to create another company's account.")
        return redirect("home")
    form = SignupForm(request.POST or None)
    context = {"form": form, "hubs": Hub.objects.order_by("sort_order", "code")}
    if request.method == "POST":
        guard = signup_guard(request)
        if guard.wait:
            context["form"] = SignupForm()
            return slowed_down(request, "portal/accounts/signup.html", context, guard.wait, message=SIGNUP_SLOWED)
        guard.counted()
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = tenant_create(
                name=data["company_name"],
                slug=data["slug"],
                hub_code=data["hub"],
                owner_email=data["email"],
                owner_password=data["password1"],
            )
        except ValidationError as error:
            form.add_service_errors(error)
        except IntegrityError:
            # Two signups for the same email or address at the same moment: the
            # database constraint decides, the loser is told to try again.
            form.add_error(None, "That email or workspace address was just taken. Check them and try again.")
        else:
            auth_login(request, result.user, backend=MODEL_BACKEND)
            request.session[SESSION_TENANT_KEY] = result.tenant.pk
            messages.success(
                request,
                f"Welcome to Hubport. {result.tenant.name}'s files will live in {result.tenant.hub.label}.",
            )
            return redirect("home")
    return render(request, "portal/accounts/signup.html", context)


# SECTION: signing in


def _pending_login(request: HttpRequest) -> dict[str, Any] | None:
    pending = request.session.get(PENDING_LOGIN_SESSION_KEY)
    if not isinstance(pending, dict):
        return None
    started = pending.get("started_at", 0)
    if not isinstance(started, (int, float)) or timezone.now().timestamp() - started > PENDING_LOGIN_MAX_AGE_SECONDS:
        request.session.pop(PENDING_LOGIN_SESSION_KEY, None)
        return None
    return pending


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if request.user.is_authenticated:
        return HttpResponseRedirect(safe_next_url(request, next_url))
    form = LoginForm(request, data=request.POST or None)
    guard = sign_in_guard(request, email=request.POST.get("email", ""))
    if request.method == "POST" and guard.wait:
        # Slowed down: the password is not even looked at, so guessing on
        # learns nothing; from another address the right one still works.
        sign_in_failure_record(email=request.POST.get("email", ""), request=request, outcome=SLOWED_DOWN)
        return slowed_down(
            request, "registration/login.html", {"form": LoginForm(request), "next": next_url}, guard.wait
        )
    if request.method == "POST" and not form.is_valid() and form.has_error(NON_FIELD_ERRORS, "invalid_login"):
        guard.failed()
    if request.method == "POST" and form.is_valid():
        if guard.link_required():
            # Past the account's high threshold: the password alone is not enough.
            return link_sent_response(request, user=form.get_user(), next_url=next_url, form=LoginForm(request))
        guard.succeeded()
        user = form.get_user()
        request.session.pop(PENDING_LOGIN_SESSION_KEY, None)
        if user_has_any_device(user=user):
            # Password right, code still to come: the person is not signed in
            # until the code step, and only their id waits in the session.
            request.session[PENDING_LOGIN_SESSION_KEY] = {
                "user_id": user.pk,
                "started_at": timezone.now().timestamp(),
                "backend": getattr(user, "backend", MODEL_BACKEND),
                "next": next_url,
            }
            return redirect("login_code")
        auth_login(request, user)
        return HttpResponseRedirect(safe_next_url(request, next_url))
    return render(request, "registration/login.html", {"form": form, "next": next_url})


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_code(request: HttpRequest) -> HttpResponse:
    """The second step: a code from the authenticator app or a backup code.

    Serves two cases: a sign-in waiting for its code (nobody is signed in yet),
    and a signed-in session that was never verified although the person now has
    a device (the two-factor middleware sends them here).
    """
    pending = None
    if request.user.is_authenticated:
        user = signed_in_user(request)
        next_url = request.POST.get("next") or request.GET.get("next") or ""
        # is_verified() is added to the user by django_otp's OTPMiddleware.
        if user.is_verified() or not user_has_any_device(user=user):  # type: ignore[attr-defined]
            return HttpResponseRedirect(safe_next_url(request, next_url))
    else:
        pending = _pending_login(request)
        pending_user = (
            get_user_model().objects.filter(pk=pending["user_id"], is_active=True).first() if pending else None
        )
        if pending_user is None:
            messages.info(request, "Your sign-in took too long. Enter your email and password again.")
            return redirect("login")
        user = pending_user
        next_url = pending["next"] if pending else ""
    form = CodeForm(request.POST or None)
    context = {"form": form, "next": next_url, "signed_in": pending is None, "email": user.email}
    guard = code_guard(request, user_id=user.pk)
    if request.method == "POST" and guard.wait:
        sign_in_event_record(user=user, request=request, outcome=SLOWED_DOWN)
        return slowed_down(request, "registration/login_code.html", {**context, "form": CodeForm()}, guard.wait)
    if request.method == "POST" and form.is_valid():
        check = code_verify(
            user=user, code=form.cleaned_data["code"], notice_details=event_details(request=request, user=user)
        )
        if check.device is None:
            guard.failed()
            sign_in_code_failure_record(user=user, request=request)
            form.add_error("code", check.error)
        else:
            guard.succeeded()
            if pending is not None:
                request.session.pop(PENDING_LOGIN_SESSION_KEY, None)
                auth_login(request, user, backend=pending.get("backend") or MODEL_BACKEND)
            django_otp.login(request, check.device)
            if isinstance(check.device, BackupCodeDevice):
                messages.warning(
                    request,
                    "You signed in with a backup code; it cannot be used again. "
                    "If you have lost your phone, set up your authenticator app again.",
                )
            return HttpResponseRedirect(safe_next_url(request, next_url))
    return render(request, "registration/login_code.html", context)


class HubportLogoutView(LogoutView):
    """Sign out (POST only, as Django requires) and say so on the sign-in page."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        messages.info(request, "You have signed out.")
        return response
