"""Signup: the owner, the tenant and the owner's membership, then the tenant's space in its hub."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils.text import slugify

from hubs.models import Hub, Membership, Tenant
from portal.models import User
from portal.services.provisioning import tenant_provision
from portal.tasks import tenant_provision_task

logger = logging.getLogger(__name__)

RESERVED_SLUGS = frozenset({"admin", "api", "static", "status", "www", "support", "hubport"})


@dataclass(frozen=True)
class SignupResult:
    user: User
    tenant: Tenant


def _free_slug(base: str) -> str:
    base = (slugify(base)[:50] or "team").strip("-") or "team"
    candidate, n = base, 1
    while candidate in RESERVED_SLUGS or Tenant.objects.filter(slug=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def validate_new_tenant(
    *, name: str, slug: str | None, hub_code: str, email: str, password: str
) -> dict[str, list[str]]:
    """Every reason a signup would be refused, per field; empty when it would succeed."""
    errors: dict[str, list[str]] = {}
    if not name.strip():
        errors.setdefault("company_name", []).append("Enter your company's name.")
    if not Hub.objects.filter(code=hub_code).exists():
        errors.setdefault("hub", []).append(f"There is no hub {hub_code!r}. Choose one of the hubs listed.")
    if get_user_model().objects.filter(email__iexact=email).exists():
        errors.setdefault("email", []).append("An account with this email address already exists. Sign in instead.")
    if slug is not None:
        if slug in RESERVED_SLUGS or Tenant.objects.filter(slug=slug).exists():
            errors.setdefault("slug", []).append(f"The address {slug!r} is taken. Choose another.")
    try:
        validate_password(password, user=get_user_model()(email=email, username=email))
    except ValidationError as exc:
        errors.setdefault("password", []).extend(exc.messages)
    return errors


def tenant_create(
    *, name: str, hub_code: str, owner_email: str, owner_password: str, slug: str | None = None
) -> SignupResult:
    """Create the owner, the tenant and the owner's membership in one control-plane
    transaction, then provision the tenant's space in its hub.

    The hub side is made after the control side commits. If that second step
    fails (the hub database is down, the process dies), the account is not
    half-made: ``tenant_ensure_provisioned`` finishes it on next use, and the
    provisioning task retries it in the background.
    """
    email = owner_email.strip().lower()
    errors = validate_new_tenant(name=name, slug=slug, hub_code=hub_code, email=email, password=owner_password)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic(using="default"):
        user = get_user_model().objects.create_user(username=email, email=email, password=owner_password)
        tenant = Tenant.objects.create(name=name.strip(), slug=slug or _free_slug(name), hub_id=hub_code)
        Membership.objects.create(user=user, tenant=tenant, role=Membership.Role.OWNER)

        def enqueue_provisioning() -> None:
            tenant_provision_task.delay(tenant_id=tenant.pk)

        transaction.on_commit(enqueue_provisioning, using="default")
    try:
        tenant_provision(tenant=tenant)
    except DatabaseError:
        logger.exception("Provisioning tenant %s in hub %s failed; it is retried on next use", tenant.pk, hub_code)
    return SignupResult(user=user, tenant=tenant)
