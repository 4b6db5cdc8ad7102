"""Who is calling /dav/: HTTP Basic with the account's email and an app password
(a token with the ``dav`` scope), or ``Authorization: Bearer`` with a dav or api
token. An account password is never accepted: Basic credentials sit in
clients' keychains, and an app password can be revoked on its own.

A failed attempt counts against the address in the same limit as the API's
bearer tokens (``portal.security.attempts.token_limit``) and feeds the
token-guessing detector.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from hubs.models import Membership, Tenant
from hubs.monitoring.attacks import token_failure_observe
from portal.models import User
from portal.security.attempts import failure_record, token_limit, wait_seconds
from portal.security.client_address import client_address_decide
from portal.services.provisioning import tenant_ensure_provisioned
from portal.tokens import SCOPE_API, SCOPE_DAV, api_token_check


@dataclass(frozen=True)
class DavCaller:
    user: User
    tenant: Tenant
    membership: Membership
    token_id: int


@dataclass(frozen=True)
class DavRefusal:
    status: int
    detail: str
    retry_after: int = 0


def client_address(environ: dict[str, Any]) -> str:
    return client_address_decide(peer=environ.get("REMOTE_ADDR", ""), forwarded_for=environ.get("HTTP_X_FORWARDED_FOR"))


def _credentials(header: str) -> tuple[str | None, str] | None:
    """(email or None for a bearer token, token text), or None when malformed."""
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value and " " not in value:
        return None, value
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        email, sep, password = decoded.partition(":")
        if not sep or not email or not password:
            return None
        return email, password
    return None


def dav_authenticate(environ: dict[str, Any]) -> DavCaller | DavRefusal:
    header = environ.get("HTTP_AUTHORIZATION", "")
    if not header:
        return DavRefusal(401, "Sign in with your email and an app password (Settings → API tokens, scope WebDAV).")
    address = client_address(environ)
    wait = wait_seconds(token_limit(), address)
    if wait:
        return DavRefusal(429, f"Too many failed sign-ins from your address; retry in {wait} s.", retry_after=wait)
    outcome = _check(header)
    if isinstance(outcome, DavRefusal):
        failure_record(token_limit(), address)
        token_failure_observe()
    return outcome


def _check(header: str) -> DavCaller | DavRefusal:
    credentials = _credentials(header)
    if credentials is None:
        return DavRefusal(401, "The Authorization header is malformed; use Basic (email and app password) or Bearer.")
    email, raw = credentials
    check = api_token_check(raw)
    token = check.token
    if token is None or check.membership is None:
        # An account password lands here too: it is never a way in over WebDAV.
        return DavRefusal(401, "Use an app password (a token with the WebDAV scope), not your account password.")
    if email is not None and (token.scope != SCOPE_DAV or token.user.email.lower() != email.strip().lower()):
        return DavRefusal(401, "That app password is not a WebDAV app password of this account.")
    if email is None and token.scope not in (SCOPE_API, SCOPE_DAV):
        return DavRefusal(401, "That token cannot open WebDAV.")
    tenant = tenant_ensure_provisioned(tenant=check.membership.tenant)
    return DavCaller(user=token.user, tenant=tenant, membership=check.membership, token_id=token.pk)
