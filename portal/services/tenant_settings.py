"""Writes of a tenant's own settings, made by its owners and admins.

These are customer actions, not staff ones: nothing goes to the staff audit
log. Staff change the same fields in the admin through
``portal.services.staff.tenant_admin_change``, under the same rules
(``snapshot_schedule_refusal``), with one staff audit entry.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import router, transaction

from hubs.models import Membership, Tenant
from portal.models import User


def snapshot_schedule_refusal(schedule: str) -> str | None:
    """Why ``schedule`` is not a snapshot schedule; None when it is one."""
    if schedule in Tenant.SnapshotSchedule.values:
        return None
    choices = ", ".join(f"{value!r} ({label.lower()})" for value, label in Tenant.SnapshotSchedule.choices)
    return f"Choose one of {choices}."


def tenant_snapshot_schedule_set(*, tenant: Tenant, acting_user: User, schedule: str) -> Tenant:
    """Set how often the tenant's scheduled snapshots are taken.

    Only the tenant's owners and admins may; the next beat tick
    (``snapshots.services.snapshots_take_scheduled``) follows the new interval,
    counted from the last scheduled snapshot.
    """
    using = router.db_for_write(Tenant)
    with transaction.atomic(using=using):
        role = (
            Membership.objects.using(using)
            .filter(tenant_id=tenant.pk, user_id=acting_user.pk)
            .values_list("role", flat=True)
            .first()
        )
        if role not in (Membership.Role.OWNER, Membership.Role.ADMIN):
            raise PermissionDenied("Only the workspace's owners and admins can change the snapshot schedule.")
        refusal = snapshot_schedule_refusal(schedule)
        if refusal:
            raise ValidationError({"schedule": refusal}, code="invalid_choice")
        # Saved even when the value in memory already matches: the row may differ.
        tenant.snapshot_schedule = schedule
        tenant.save(update_fields=["snapshot_schedule"])
    return tenant
