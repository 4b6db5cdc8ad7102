"""Sends people to the two-factor step they still owe before anything else.

Runs after TenantMiddleware (it needs ``request.tenant``) and after django-otp's
OTPMiddleware (it needs ``request.user.is_verified()``):

- someone with a confirmed device whose session was never verified with a code
  goes to the code step;
- a member of a tenant that requires two-factor, who has no device, goes to
  enrolment.

Sign-in, sign-out, password reset, enrolment, static files and the API stay
reachable: the API authenticates with tokens, not with this session.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.http import urlencode

from portal.two_factor import user_has_any_device


class TwoFactorEnforcementMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    @cached_property
    def always_open_prefixes(self) -> tuple[str, ...]:
        """Paths nobody is ever redirected away from."""
        return (
            settings.STATIC_URL,
            "/api/",
            "/favicon.ico",
            reverse("login"),
            reverse("login_code"),
            reverse("logout"),
            reverse("password_reset"),
        )

    @cached_property
    def open_to_unenrolled_prefixes(self) -> tuple[str, ...]:
        """Paths a member who still has to enrol may use: enrolment itself, and the
        workspace chooser (another workspace may not require two-factor)."""
        return (reverse("two_factor"), reverse("tenant_choose"))

    def __call__(self, request: HttpRequest) -> HttpResponse:
        redirect_to = self.required_step(request)
        if redirect_to is not None:
            return HttpResponseRedirect(redirect_to)
        return self.get_response(request)

    def required_step(self, request: HttpRequest) -> str | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or request.path.startswith(self.always_open_prefixes):
            return None
        if user.is_verified():
            return None
        if user_has_any_device(user=user):
            return f"{reverse('login_code')}?{urlencode({'next': request.get_full_path()})}"
        tenant = getattr(request, "tenant", None)
        if tenant is not None and tenant.require_two_factor:
            if request.path.startswith(self.open_to_unenrolled_prefixes):
                return None
            return reverse("two_factor_setup")
        return None
