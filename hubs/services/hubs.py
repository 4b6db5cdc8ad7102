"""Writes to hubs and facilities: failover and facility availability.

Every function runs in one transaction on the control database (``default``)
and writes its staff audit entry inside that transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from hubs.errors import FacilityChangeError, HubFailoverError
from hubs.models import Facility, Hub
from hubs.services.audit import audit_record, audit_snapshot
from hubs.signals import facility_became_available

if TYPE_CHECKING:
    from portal.models import User


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


def facility_change(
    *,
    facility: Facility,
    acting_user: User | None,
    name: str | None = None,
    is_available: bool | None = None,
    reason: str = "",
) -> Facility:
    """Rename a facility or mark it available or unavailable, or both, with one
    audit entry: ``facility.mark_available`` or ``facility.mark_unavailable``
    when its availability changes, ``facility.change`` for a new name alone.
    ``None`` keeps a value; setting the values it already has changes nothing
    and writes no audit entry.

    Marking the facility that serves its hub unavailable is allowed (monitoring
    and staff must be able to record an outage at once); the hub is failed over
    separately, by ``hub_fail_over``. A facility made available again is
    announced after the commit (``hubs.signals.facility_became_available``), so
    the store copies to it the blobs written while it was away.
    """
    if name is not None:
        name = name.strip()
        if not name:
            raise FacilityChangeError("Give the facility a name.")
    with transaction.atomic(using="default"):
        locked = Facility.objects.select_for_update().select_related("hub").get(pk=facility.pk)
        before = audit_snapshot(locked)
        became_available = is_available is True and not locked.is_available
        changed: list[str] = []
        if name is not None and name != locked.name:
            locked.name = name
            changed.append("name")
        if is_available is not None and is_available != locked.is_available:
            locked.is_available = is_available
            changed.append("is_available")
        if changed:
            locked.save(update_fields=changed)
            if "is_available" in changed:
                action = "facility.mark_available" if locked.is_available else "facility.mark_unavailable"
            else:
                action = "facility.change"
            audit_record(
                actor=acting_user,
                action=action,
                target=locked,
                before=before,
                after=audit_snapshot(locked),
                reason=reason.strip(),
            )
            if became_available:
                hub_code, facility_id = locked.hub_id, locked.pk
                transaction.on_commit(
                    lambda: facility_became_available.send(sender=Facility, hub_code=hub_code, facility_id=facility_id),
                    using="default",
                )
    facility.name, facility.is_available = locked.name, locked.is_available
    return locked


def facility_set_availability(
    *, facility: Facility, is_available: bool, acting_user: User | None, reason: str = ""
) -> Facility:
    """Mark a facility available or unavailable (``facility_change`` for the rules)."""
    return facility_change(facility=facility, is_available=is_available, acting_user=acting_user, reason=reason)
