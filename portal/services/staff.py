"""Writes made by support staff: tenants added in the admin, staff accounts.

Kept apart from ``portal.services`` (the customer side); each function runs in
one transaction on ``default`` and writes its staff audit entry inside it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import DatabaseError, transaction

from hubs.models import Tenant
from hubs.services import audit_record, audit_snapshot
from hubs.services.oncall import rota_participant_add
from portal.models import AuthenticatorDevice, User
from portal.services.provisioning import tenant_provision
from portal.services.tenant_settings import snapshot_schedule_refusal
from portal.services.tenants import RESERVED_SLUGS
from portal.tasks import tenant_provision_task

logger = logging.getLogger(__name__)

STAFF_DEVICE_NAME = "Staff authenticator"


def tenant_admin_create(*, tenant: Tenant, acting_user: User | None) -> Tenant:
    """Save a new tenant built by a staff form, then make its space in its hub.

    The hub side is made after the control side commits, as at signup
    (``portal.services.tenant_create``): a tenant row that rolled back must never
    leave rows in a hub database. If provisioning fails then, the provisioning
    task retries it and ``tenant_ensure_provisioned`` repairs it on next use.
    """
    if tenant.pk is not None:
        raise ValueError("tenant_admin_create saves new tenants only.")
    if not tenant.hub_id:
        raise ValidationError({"hub": "Choose the tenant's hub: its data never leaves it."})
    if tenant.slug in RESERVED_SLUGS:
        raise ValidationError({"slug": f"The address {tenant.slug!r} is reserved. Choose another."})
    with transaction.atomic(using="default"):
        tenant.save()
        audit_record(
            actor=acting_user,
            action="tenant.add",
            target=tenant,
            tenant=tenant,
            after=audit_snapshot(tenant),
        )
        tenant_id = tenant.pk
        transaction.on_commit(lambda: _provision_after_commit(tenant_id), using="default")
    return tenant


def _provision_after_commit(tenant_id: int) -> None:
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return
    try:
        tenant_provision(tenant=tenant)
    except DatabaseError:
        logger.exception("Provisioning tenant %s in hub %s failed; queued for retry", tenant.pk, tenant.hub_id)
        tenant_provision_task.delay(tenant_id=tenant.pk)


def tenant_admin_provision(*, tenant: Tenant, acting_user: User | None) -> Tenant:
    """Make (or finish making) a tenant's space in its hub, on a staff request.

    Idempotent. The hub side commits on the hub database first; the control
    side (``provisioned_at`` and the audit entry) commits together after it, so
    a failure in between leaves a tenant that is provisioned but not yet marked,
    which the next call repairs.
    """
    with transaction.atomic(using="default"):
        locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
        before = audit_snapshot(locked)
        tenant_provision(tenant=locked)
        audit_record(
            actor=acting_user,
            action="tenant.provision",
            target=locked,
            tenant=locked,
            before=before,
            after=audit_snapshot(locked),
        )
    tenant.provisioned_at = locked.provisioned_at
    return locked


# The largest value the BIGINT limit columns hold.
MAX_LIMIT_BYTES = 2**63 - 1


def tenant_admin_change(
    *,
    tenant: Tenant,
    acting_user: User | None,
    name: str,
    slug: str,
    require_two_factor: bool,
    snapshot_schedule: str,
    quota_bytes: int | None,
    max_file_bytes: int | None,
    reason: str = "",
) -> Tenant:
    """Change a tenant's settings on a staff request: its name and address, the
    two-factor policy, the snapshot schedule (the rule its owners change it
    under) and its limits (``None``: the default). One ``tenant.change`` audit
    entry with every field before and after; a save that changes nothing writes
    none. The hub is not among them: it never changes.
    """
    errors: dict[str, str] = {}
    name, slug = name.strip(), slug.strip()
    if not name:
        errors["name"] = "Give the tenant a name."
    if slug in RESERVED_SLUGS:
        errors["slug"] = f"The address {slug!r} is reserved. Choose another."
    schedule_refusal = snapshot_schedule_refusal(snapshot_schedule)
    if schedule_refusal:
        errors["snapshot_schedule"] = schedule_refusal
    for field, value in (("quota_bytes", quota_bytes), ("max_file_bytes", max_file_bytes)):
        if value is not None and not 1 <= value <= MAX_LIMIT_BYTES:
            errors[field] = f"Give a number of bytes from 1 to {MAX_LIMIT_BYTES:,}, or nothing for the default."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic(using="default"):
        locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
        if Tenant.objects.filter(slug=slug).exclude(pk=locked.pk).exists():
            raise ValidationError({"slug": f"Another tenant has the address {slug!r}."})
        before = audit_snapshot(locked)
        values = {
            "name": name,
            "slug": slug,
            "require_two_factor": require_two_factor,
            "snapshot_schedule": snapshot_schedule,
            "quota_bytes": quota_bytes,
            "max_file_bytes": max_file_bytes,
        }
        changed = [field for field, value in values.items() if getattr(locked, field) != value]
        if changed:
            for field in changed:
                setattr(locked, field, values[field])
            locked.save(update_fields=changed)
            audit_record(
                actor=acting_user,
                action="tenant.change",
                target=locked,
                tenant=locked,
                before=before,
                after=audit_snapshot(locked),
                reason=reason.strip(),
            )
    return locked


@dataclass(frozen=True)
class StaffEnrolment:
    user: User
    device: AuthenticatorDevice
    created_user: bool
    created_device: bool


def staff_user_ensure(*, email: str, password: str, superuser: bool = False, on_call: bool = False) -> StaffEnrolment:
    """Make ``email`` a staff user with a confirmed TOTP device; idempotent.

    Run again for an existing user, it keeps the password (a script re-run must
    not reset a password the person has since changed), only ever grants staff
    or superuser status, and returns the device the user already has.
    ``on_call`` puts the user on the default on-call rota (``hubs.services.oncall``).
    """
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ValidationError({"email": exc.messages}) from exc
    user_model = get_user_model()
    with transaction.atomic(using="default"):
        user = user_model.objects.select_for_update().filter(email__iexact=email).first()
        created_user = user is None
        if user is None:
            candidate = user_model(username=email, email=email)
            try:
                validate_password(password, user=candidate)
            except ValidationError as exc:
                raise ValidationError({"password": exc.messages}) from exc
            user = user_model.objects.create_user(
                username=email, email=email, password=password, is_staff=True, is_superuser=superuser
            )
            audit_record(actor=None, action="user.add", target=user, after=audit_snapshot(user), reason="create_staff")
        elif not user.is_staff or (superuser and not user.is_superuser):
            before = audit_snapshot(user)
            user.is_staff = True
            user.is_superuser = user.is_superuser or superuser
            user.save(update_fields=["is_staff", "is_superuser"])
            audit_record(
                actor=None,
                action="user.change",
                target=user,
                before=before,
                after=audit_snapshot(user),
                reason="create_staff",
            )
        device = AuthenticatorDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
        created_device = device is None
        if device is None:
            device = AuthenticatorDevice.objects.create(user=user, name=STAFF_DEVICE_NAME, confirmed=True)
            # The key is a secret: the audit entry says a device was made, not its key.
            audit_record(
                actor=None,
                action="totpdevice.add",
                target=device,
                after={"user": user.pk, "name": device.name, "confirmed": True},
                reason="create_staff",
            )
        if on_call:
            rota_participant_add(user=user)
    return StaffEnrolment(user=user, device=device, created_user=created_user, created_device=created_device)
