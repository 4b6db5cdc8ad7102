"""Writes to hubs and facilities: failover and facility availability.

Every function runs in one transaction on the control database (``default``)
and writes its staff audit entry inside that transaction. A failover also
promotes the hub's standby database, when it has one, before that commit
(``failover_database``); docs/failover.md is the operator's page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import DatabaseError, connections, transaction
from django.utils import timezone

from hubs.db.sides import has_standby, serving_side_forget
from hubs.display import bytes_label
from hubs.errors import FacilityChangeError, HubFailoverError
from hubs.models import Facility, FailoverEvent, Hub
from hubs.routing import hub_database_alias
from hubs.services.audit import audit_record, audit_snapshot
from hubs.services.failover_database import database_switch
from hubs.services.failover_events import failover_outage_started_at
from hubs.signals import facility_became_available
from hubs.storage import hub_facilities_forget
from hubs.storage_backlog import storage_backlog

if TYPE_CHECKING:
    from portal.models import User


def hub_fail_over(
    *, hub: Hub, to_role: str, acting_user: User | None, reason: str, automatic: bool = False
) -> FailoverEvent | None:
    """Serve ``hub`` from its facility with role ``to_role`` (fail over to the
    alternate, or back to the primary): its storage and, when it has a standby,
    its database together, with a ``FailoverEvent`` saying what was lost.

    Refused (HubFailoverError, nothing changed) when the target facility is
    marked unavailable, when failing back while a blob still misses a facility
    or while the primary database is not a caught-up standby of the alternate,
    and when a database side cannot be promoted or fenced
    (``hubs.services.failover_database``). Failing over to the facility that
    already serves the hub changes nothing, writes no audit entry and returns
    None. Every process follows within HUBPORT_FAILOVER_SIDE_CACHE_SECONDS
    (``hubs.db.sides``); this one at once.
    """
    if to_role not in Facility.Role.values:
        raise HubFailoverError(
            f"There is no facility role {to_role!r}; choose one of {', '.join(Facility.Role.values)}."
        )
    reason = reason.strip()
    if not reason:
        raise HubFailoverError("Give a reason for the failover; it is kept in the staff audit log.")
    started_at = timezone.now()
    # The hub's row stays locked while the database is promoted (a second or
    # two), so two failovers of one hub never run at once.
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
        if locked_hub.serving_facility == to_role:
            hub.serving_facility = locked_hub.serving_facility
            return None
        if to_role == Facility.Role.PRIMARY:
            _refuse_fail_back_while_blobs_wait(locked_hub.code)
        outage_started_at = failover_outage_started_at(hub_code=locked_hub.code, now=started_at)
        switch = database_switch(hub_code=locked_hub.code, to_role=to_role)
        before = audit_snapshot(locked_hub)
        locked_hub.serving_facility = to_role
        locked_hub.failover_generation += 1
        locked_hub.save(update_fields=["serving_facility", "failover_generation"])
        event = FailoverEvent.objects.create(
            hub=locked_hub,
            direction=(
                FailoverEvent.Direction.TO_ALTERNATE
                if to_role == Facility.Role.ALTERNATE
                else FailoverEvent.Direction.TO_PRIMARY
            ),
            reason=reason[:500],
            actor=acting_user,
            automatic=automatic,
            started_at=started_at,
            finished_at=timezone.now(),
            generation=locked_hub.failover_generation,
            promoted=switch.promoted,
            database_detail=switch.detail[:300],
            lag_bytes=switch.lag_bytes,
            lag_seconds=switch.lag_seconds,
            outage_started_at=outage_started_at or started_at,
        )
        audit_record(
            actor=acting_user,
            action="hub.fail_over" if to_role == Facility.Role.ALTERNATE else "hub.fail_back",
            target=locked_hub,
            before=before,
            after=audit_snapshot(locked_hub),
            reason=reason,
        )
    hub.serving_facility = locked_hub.serving_facility
    hub.failover_generation = locked_hub.failover_generation
    alias = hub_database_alias(locked_hub.code)
    serving_side_forget(locked_hub.code)
    hub_facilities_forget(locked_hub.code)
    if has_standby(alias):
        connections[alias].close()
    # Read from the side that serves now: what it has of the blobs' bookkeeping.
    waiting = _backlog_or_none(locked_hub.code)
    if waiting is not None:
        event.blobs_not_copied, event.bytes_not_copied = waiting
        event.save(update_fields=["blobs_not_copied", "bytes_not_copied"])
    return event


def _backlog_or_none(hub_code: str) -> tuple[int, int] | None:
    try:
        return storage_backlog(hub_code)
    except DatabaseError:
        return None


def _refuse_fail_back_while_blobs_wait(hub_code: str) -> None:
    try:
        waiting = storage_backlog(hub_code)
    except DatabaseError as exc:
        raise HubFailoverError(
            f"Hub {hub_code}'s database does not answer, so nobody can tell whether every blob reached the "
            "primary facility; the hub stays on its alternate."
        ) from exc
    if waiting and waiting[0]:
        raise HubFailoverError(
            f"{waiting[0]:,} blob(s) of hub {hub_code} ({bytes_label(waiting[1])}) are not yet in both facilities; "
            "failing back now would serve files the primary facility does not have. Mark the primary facility "
            "available so replication copies them, wait until the hub's replication backlog is zero, then fail back."
        )


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
    hub_facilities_forget(locked.hub_id)
    return locked


def facility_set_availability(
    *, facility: Facility, is_available: bool, acting_user: User | None, reason: str = ""
) -> Facility:
    """Mark a facility available or unavailable (``facility_change`` for the rules)."""
    return facility_change(facility=facility, is_available=is_available, acting_user=acting_user, reason=reason)
