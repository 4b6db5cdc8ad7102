"""Personal access tokens for the REST API.

A token acts for one user in one tenant. Its text is ``hp_<prefix>_<secret>``:
the prefix (8 hex characters) tells a person's tokens apart in lists and is
not secret; the secret is 256 random bits. Only the SHA-256 of the whole token
is stored: with 256 bits of entropy a fast hash is enough, and looking a token
up by its hash means no comparison ever runs over the secret itself, so the
time a check takes says nothing about how close a guess was.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import BigIntegerField, CharField
from django.db.models.expressions import RawSQL
from django.utils import timezone

from hubs.models import Membership, Tenant
from portal.models import ApiToken, User

TOKEN_SCHEME = "hp"
PREFIX_HEX_CHARS = 8
# last_used_at is for people ("used 3 minutes ago"), not for auditing every
# request: writing it at most once a minute keeps a busy script from turning
# every API call into a control-plane write.
LAST_USED_RESOLUTION = timedelta(minutes=1)
MAX_NAME_LENGTH = cast(int, ApiToken._meta.get_field("name").max_length)  # a CharField always has one
# Ids are 64-bit (BigAutoField); a bigger number in a URL must be a 404, not a database error.
MAX_TOKEN_ID = 2**63 - 1
# An app password sits in a client's keychain (Explorer, Finder, rclone): a
# ``dav`` token opens WebDAV only, never the REST API; an ``api`` token is
# accepted by both, as a Bearer token.
SCOPE_API = "api"
SCOPE_DAV = "dav"
SCOPES = (SCOPE_API, SCOPE_DAV)


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def api_token_create(
    *, user: User, tenant: Tenant, name: str, expires_at: datetime | None = None, scope: str = SCOPE_API
) -> tuple[ApiToken, str]:
    """Make a token for ``user`` in ``tenant``; returns the row and the full token.

    The full token exists only in the return value: show it once, never store it.
    """
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["Give the token a name, such as the script or computer that will use it."]
    elif len(name) > MAX_NAME_LENGTH:
        errors["name"] = [f"A token name can be at most {MAX_NAME_LENGTH} characters."]
    if expires_at is not None and expires_at <= timezone.now():
        errors["expires_at"] = ["The expiry must be in the future."]
    if scope not in SCOPES:
        errors["scope"] = [f"Unknown scope {scope!r}; use {' or '.join(SCOPES)}."]
    if not Membership.objects.filter(user=user, tenant=tenant).exists():
        errors["tenant"] = ["You can only make tokens for a workspace you belong to."]
    if errors:
        raise ValidationError(errors)
    prefix = secrets.token_hex(PREFIX_HEX_CHARS // 2)
    raw = f"{TOKEN_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic(using="default"):
        token = ApiToken.objects.create(
            user=user,
            tenant=tenant,
            name=name,
            prefix=prefix,
            secret_hash=_hash(raw),
            expires_at=expires_at,
            scope=scope,
        )
    return token, raw


def api_token_revoke(*, token: ApiToken, acting_user: User) -> ApiToken:
    """Revoke a token; a person revokes only their own. Revoking twice is harmless."""
    if token.user_id != acting_user.pk:
        raise PermissionDenied("You can only revoke your own tokens.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


@dataclass(frozen=True)
class TokenCheck:
    """The outcome of checking a presented token: the token, or why it was refused."""

    token: ApiToken | None
    refusal: str = ""
    membership: Membership | None = None


_MEMBERSHIP_OF_TOKEN = (
    f'SELECT m."{{column}}" FROM "{Membership._meta.db_table}" m '  # noqa: S608 - names from the models
    f'WHERE m."user_id" = "{ApiToken._meta.db_table}"."user_id" '
    f'AND m."tenant_id" = "{ApiToken._meta.db_table}"."tenant_id"'
)


def api_token_check(raw: str) -> TokenCheck:
    """Check a presented token, saying why it is refused when it is."""
    scheme, _, rest = (raw or "").partition("_")
    prefix, _, secret = rest.partition("_")
    if scheme != TOKEN_SCHEME or len(prefix) != PREFIX_HEX_CHARS or not secret:
        return TokenCheck(None, "The token is malformed. Tokens look like hp_1a2b3c4d_…; copy it again.")
    # The membership comes with the token, in one query: every API request
    # asks. Plain SQL subqueries, because the ORM's Subquery took longer to
    # build (about 3 ms) than the second query it saved.
    token = (
        ApiToken.objects.select_related("user", "tenant", "tenant__hub")
        .annotate(
            membership_pk=RawSQL(_MEMBERSHIP_OF_TOKEN.format(column="id"), [], output_field=BigIntegerField()),  # noqa: S611
            membership_role=RawSQL(_MEMBERSHIP_OF_TOKEN.format(column="role"), [], output_field=CharField()),  # noqa: S611
        )
        .filter(secret_hash=_hash(raw))
        .first()
    )
    # The lookup by hash already matched the whole token; the prefix comparison
    # only guards against a hash collision in a corrupted row.
    if token is None or not hmac.compare_digest(token.prefix, prefix):
        return TokenCheck(None, "The token is not valid. Check that you copied all of it, or make a new one.")
    now = timezone.now()
    if token.revoked_at is not None:
        return TokenCheck(None, "The token has been revoked. Make a new one under Settings → API tokens.")
    if token.expires_at is not None and token.expires_at <= now:
        return TokenCheck(None, "The token has expired. Make a new one under Settings → API tokens.")
    if not token.user.is_active:
        return TokenCheck(None, "The token's user account is disabled.")
    if token.membership_pk is None:
        return TokenCheck(None, "The token's user no longer belongs to the token's workspace.")
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    membership = Membership.from_db(  # created_at deferred: read if anyone asks
        "default",
        ["id", "user_id", "tenant_id", "role"],
        [token.membership_pk, token.user_id, token.tenant_id, token.membership_role],
    )
    membership.user, membership.tenant = token.user, token.tenant
    return TokenCheck(token, membership=membership)


def api_token_authenticate(raw: str) -> ApiToken | None:
    """The token if it may be used now (known, not revoked, not expired, its user
    still a member of its tenant), else None."""
    return api_token_check(raw).token


def api_tokens_for(*, user: User, tenant: Tenant) -> list[ApiToken]:
    """A person's tokens in one tenant, newest first, revoked ones included."""
    return list(ApiToken.objects.filter(user=user, tenant=tenant).order_by("-created_at", "-id"))


def api_token_of_user(*, user: User, token_id: int) -> ApiToken | None:
    """One of the person's own tokens; another person's looks like none at all."""
    if not 0 < token_id <= MAX_TOKEN_ID:
        return None
    return ApiToken.objects.filter(pk=token_id, user=user).first()


def api_tokens_revoke_for_membership(membership: Membership) -> int:
    """Revoke every token a person holds for a tenant they are removed from
    (``hubs.services.memberships`` calls it inside the removal): they already stop
    working with the membership, and must not work again if the person is invited back."""
    return ApiToken.objects.filter(
        user_id=membership.user_id, tenant_id=membership.tenant_id, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
