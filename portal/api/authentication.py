"""Who is calling the API, and in which tenant.

Two ways in, tried in this order:

- ``Authorization: Bearer hp_…``: a personal access token, which acts for one
  user in one tenant. A bad token is refused with 401 at once; it never falls
  back to the browser session.
- The browser session, with its CSRF check, in the tenant TenantMiddleware
  chose for the session. A session that still owes its two-factor code is not
  a way in: the two-factor middleware leaves /api/ alone, so this class holds
  the same line for the API.

Either way the views find ``request.tenant`` and ``request.membership``, and
times are in the person's zone (portal.middleware.time_zone).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, SessionAuthentication, get_authorization_header
from rest_framework.request import Request

from hubs.monitoring.attacks import token_failure_observe
from portal.security.attempts import failure_record, token_limit, wait_seconds
from portal.selectors import display_zone_for
from portal.services.provisioning import tenant_ensure_provisioned
from portal.tokens import SCOPE_API, api_token_check
from portal.two_factor import user_has_any_device

BEARER_KEYWORD = "Bearer"


def _attach_tenant(request: Request, *, tenant: Any, membership: Any) -> None:
    # DRF's Request reads unknown attributes from the Django request, so the
    # views (and anything else holding the HttpRequest) see the same values.
    django_request: HttpRequest = request._request
    django_request.tenant = tenant  # type: ignore[attr-defined]
    django_request.membership = membership  # type: ignore[attr-defined]


class BearerTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].decode("latin-1").lower() != BEARER_KEYWORD.lower():
            return None
        address = request.META.get("REMOTE_ADDR", "")
        wait = wait_seconds(token_limit(), address)
        if wait:
            raise exceptions.Throttled(
                wait=wait, detail=f"Too many failed token authentications from your address; retry in {wait} s."
            )
        try:
            return self._authenticate_bearer(request, header)
        except exceptions.AuthenticationFailed:
            failure_record(token_limit(), address)
            token_failure_observe()  # the token-guessing detector, across every address
            raise

    def _authenticate_bearer(self, request: Request, header: list[bytes]) -> tuple[Any, Any]:
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "The Authorization header must be 'Bearer <token>', with the token and no spaces in it."
            )
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("The token is malformed; copy it again.") from exc
        check = api_token_check(raw)
        if check.token is None:
            raise exceptions.AuthenticationFailed(check.refusal)
        token, membership = check.token, check.membership
        if token.scope != SCOPE_API:
            raise exceptions.AuthenticationFailed(
                "This token is a WebDAV app password; it opens /dav/ only. Make an API token for the REST API."
            )
        assert membership is not None  # a usable token always comes with its membership
        tenant = tenant_ensure_provisioned(tenant=membership.tenant)
        _attach_tenant(request, tenant=tenant, membership=membership)
        # The middleware could not know the person yet: their zone from here on,
        # so a token sees the times a browser session sees (until the request ends).
        timezone.activate(display_zone_for(user=token.user, tenant=tenant))
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) when no credentials came at all.
        return f'{BEARER_KEYWORD} realm="api"'


class TenantSessionAuthentication(SessionAuthentication):
    """The browser's session, with CSRF, in the tenant the middleware chose."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        user = result[0]
        # OTPMiddleware gives the session's user is_verified; without it, assume not verified.
        is_verified = getattr(user, "is_verified", lambda: False)
        if not is_verified() and user_has_any_device(user=user):
            raise exceptions.AuthenticationFailed(
                "Your session still needs its two-factor code. Sign in again in the browser."
            )
        django_request = request._request
        tenant = getattr(django_request, "tenant", None)
        if tenant is not None and tenant.require_two_factor and not user_has_any_device(user=user):
            raise exceptions.PermissionDenied(
                f"{tenant.name} requires two-factor authentication. Set it up in the browser first."
            )
        _attach_tenant(request, tenant=tenant, membership=getattr(django_request, "membership", None))
        return result
