"""Automatic failover: a hub whose primary has failed long enough, with its
alternate healthy, fails over by itself, records the event and pages.

Off unless staff set the hub's ``auto_failover_after_minutes``. Considered
after each of the hub's probe rounds (``probe_round_run``), from the recorded
results alone: the primary has failed N minutes when its database
(``database.read``, the hub alias, which serves from the primary until then) or
its storage (``storage.primary.round_trip``) has failed every round for N
minutes; the alternate is healthy when its storage round trip passed in the
latest round (its database is checked by the promotion itself, which refuses
when the standby does not answer)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.utils import timezone

from hubs.errors import HubFailoverError, IncidentRefused
from hubs.formatting import format_utc
from hubs.models import Facility, FailoverEvent, Hub, Incident, ProbeResult
from hubs.services.failover_events import probe_failing_since
from hubs.services.hubs import hub_fail_over
from hubs.services.incidents import incident_open

logger = logging.getLogger(__name__)

PRIMARY_PROBES = ("database.read", "storage.primary.round_trip")
ALTERNATE_PROBE = "storage.alternate.round_trip"
FAILOVER_COMPONENT = "failover"


def failover_automatic_consider(*, hub_code: str, now: datetime | None = None) -> FailoverEvent | None:
    """Fail the hub over if its rule says so now; the event, or None."""
    now = now or timezone.now()
    hub = Hub.objects.get(pk=hub_code)
    minutes = hub.auto_failover_after_minutes
    if minutes is None or hub.serving_facility != Facility.Role.PRIMARY:
        return None
    starts = {name: probe_failing_since(hub_code=hub_code, name=name, before=now) for name in PRIMARY_PROBES}
    failing = {name: since for name, since in starts.items() if since is not None}
    if not failing or now - min(failing.values()) < timedelta(minutes=minutes):
        return None
    alternate = (
        ProbeResult.objects.filter(hub_id=hub_code, name=ALTERNATE_PROBE, at__lte=now)
        .order_by("-at")
        .values_list("ok", flat=True)
        .first()
    )
    if not alternate:
        logger.warning("Hub %s: automatic failover held back, its alternate storage is not passing", hub_code)
        return None
    reason = "automatic: " + "; ".join(
        f"{name} failing since {format_utc(since)}" for name, since in sorted(failing.items())
    )
    reason += f" (rule: {minutes} min)"
    try:
        event = hub_fail_over(hub=hub, to_role=Facility.Role.ALTERNATE, acting_user=None, reason=reason, automatic=True)
    except HubFailoverError as exc:
        logger.warning("Hub %s: automatic failover refused (%s): %s", hub_code, exc.code, exc.detail)
        return None
    if event is not None:
        _page(hub, event)
    return event


def _page(hub: Hub, event: FailoverEvent) -> None:
    """An incident of its own, so the duty engineer is paged and must fail back later."""
    at = format_utc(event.finished_at or event.started_at)
    body = (
        f"Hub {hub.code} failed over to its alternate facility by itself at {at}. "
        f"{event.reason}. Recovery point: {_recovery_point(event)}. "
        "Fail back once the primary is repaired and in sync (docs/failover.md)."
    )
    try:
        incident_open(
            hub=hub,
            component=FAILOVER_COMPONENT,
            title=f"Hub {hub.code} failed over automatically to its alternate facility",
            body=body,
            acting_user=None,
            severity=Incident.Severity.WARNING,
            public=False,
        )
    except IncidentRefused:
        logger.warning("Hub %s: a failover incident is open already; it was not opened again", hub.code)


def _recovery_point(event: FailoverEvent) -> str:
    lag = "no standby"
    if event.lag_bytes is not None:
        lag = f"{event.lag_bytes:,} bytes of WAL, {event.lag_seconds or 0:.1f} s"
    blobs = "unknown" if event.blobs_not_copied is None else f"{event.blobs_not_copied:,}"
    return f"replication lag {lag}; blobs not copied {blobs}"
