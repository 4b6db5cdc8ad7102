"""Writes to hubs and facilities (failover, facility availability) and the staff audit log.

Every function runs in one transaction on the control database (``default``)
and writes its staff audit entry inside that transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.forms.models import model_to_dict

from hubs.errors import HubFailoverError
from hubs.models import Facility, Hub, StaffAuditEntry, Tenant
from hubs.signals import facility_became_available

if TYPE_CHECKING:
    from portal.models import User


def audit_record(
    *,
    actor: User | None,
    action: str,
    target: Any = None,
    target_type: str = "",
    target_id: str = "",
    tenant: Tenant | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
    hub_record_id: str = "",
) -> StaffAuditEntry:
    """Write one staff audit entry. Callers run it inside their own transaction."""
    if target is not None:
        target_type = target_type or target._meta.label
        target_id = target_id or str(target.pk)
    return StaffAuditEntry.objects.create(
        actor=actor,
        actor_email=getattr(actor, "email", "") or "",
        action=action,
        target_type=target_type,
        target_id=target_id,
        target_repr=str(target)[:200] if target is not None else "",
        tenant=tenant,
        before=before,
        after=after,
        reason=reason,
        hub_record_id=hub_record_id,
    )


def audit_snapshot(instance: Any) -> dict[str, Any]:
    """A JSON-safe picture of a control-plane row for the before/after of an audit entry."""
    values = model_to_dict(instance)
    return {key: _jsonable(value) for key, value in values.items() if key not in {"password"}}


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(item) for item in value]
    if hasattr(value, "pk"):
        return value.pk
    return str(value)


def hub_fail_over(*, hub: Hub, to_role: str, acting_user: User | None, reason: str) -> Hub:
    """Serve ``hub`` from its facility with role ``to_role`` (fail over to the
    alternate, or back to the primary).

    Refused when the target facility is marked unavailable: serving a hub from a
    facility that cannot take writes would turn a degraded hub into a down one.
    Failing over to the facility that already serves the hub changes nothing and
    writes no audit entry.
    """
    if to_role not in Facility.Role.values:
        raise HubFailoverError(
            f"There is no facility role {to_role!r}; choose one of {', '.join(Facility.Role.values)}."
        )
    reason = reason.strip()
    if not reason:
        raise HubFailoverError("Give a reason for the failover; it is kept in the staff audit log.")
    with transaction.atomic(using="default"):
        locked_hub = Hub.objects.select_for_update().get(pk=hub.pk)
        target = Facility.objects.select_for_update().filter(hub=locked_hub, role=to_role).first()
        if target is None:
            raise HubFailoverError(f"Hub {locked_hub.code} has no {to_role} facility.")
        if not target.is_available:
            raise HubFailoverError(
                f"{target.name}, the {to_role} facility of hub {locked_hub.code}, is marked unavailable; "
                f"the hub stays on its {locked_hub.serving_facility} facility. "
                "Mark the facility available first if it can take writes again."
            )
        if locked_hub.serving_facility != to_role:
            before = audit_snapshot(locked_hub)
            locked_hub.serving_facility = to_role
            locked_hub.save(update_fields=["serving_facility"])
            audit_record(
                actor=acting_user,
                action="hub.fail_over" if to_role == Facility.Role.ALTERNATE else "hub.fail_back",
                target=locked_hub,
                before=before,
                after=audit_snapshot(locked_hub),
                reason=reason,
            )
    hub.serving_facility = locked_hub.serving_facility
    return locked_hub


def facility_set_availability(
    *, facility: Facility, is_available: bool, acting_user: User | None, reason: str = ""
) -> Facility:
    """Mark a facility available or unavailable. Setting the value it already
    has changes nothing and writes no audit entry.

    Marking the facility that serves its hub unavailable is allowed (monitoring
    and staff must be able to record an outage at once); the hub is failed over
    separately, by ``hub_fail_over``.
    """
    with transaction.atomic(using="default"):
        locked = Facility.objects.select_for_update().select_related("hub").get(pk=facility.pk)
        if locked.is_available != is_available:
            before = audit_snapshot(locked)
            locked.is_available = is_available
            locked.save(update_fields=["is_available"])
            audit_record(
                actor=acting_user,
                action="facility.mark_available" if is_available else "facility.mark_unavailable",
                target=locked,
                before=before,
                after=audit_snapshot(locked),
                reason=reason.strip(),
            )
            if is_available:
                transaction.on_commit(
                    lambda: facility_became_available.send(
                        sender=Facility, hub_code=locked.hub_id, facility_id=locked.pk
                    ),
                    using="default",
                )
    facility.is_available = locked.is_available
    return locked
