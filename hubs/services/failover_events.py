"""What a failover measured, read from the probes: when the outage began (the
first failed probe of it) and when the hub recovered (the first passing
``file_transaction`` probe after the failover). Reads and writes only the
control database; queues nothing."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db.models import Max, Min

from hubs.models import FailoverEvent, ProbeResult

FILE_TRANSACTION = "file_transaction"


def probe_failing_since(*, hub_code: str, name: str, before: datetime | None = None) -> datetime | None:
    """When the probe's current run of failures began (its first failure after
    its last pass), or None when its latest result passed or there is none."""
    results = ProbeResult.objects.filter(hub_id=hub_code, name=name)
    if before is not None:
        results = results.filter(at__lte=before)
    latest = results.order_by("-at").values_list("ok", flat=True).first()
    if latest is None or latest:
        return None
    last_pass = results.filter(ok=True).aggregate(at=Max("at"))["at"]
    failures = results.filter(ok=False)
    if last_pass is not None:
        failures = failures.filter(at__gt=last_pass)
    first: datetime | None = failures.aggregate(at=Min("at"))["at"]
    return first


def failover_outage_started_at(*, hub_code: str, now: datetime) -> datetime | None:
    """The first failed probe of the outage the hub is in: the earliest start
    among the critical probes failing in its latest round; None when none fails."""
    latest_at = ProbeResult.objects.filter(hub_id=hub_code, at__lte=now).aggregate(at=Max("at"))["at"]
    if latest_at is None:
        return None
    failing = ProbeResult.objects.filter(
        hub_id=hub_code, at=latest_at, ok=False, severity=ProbeResult.Severity.CRITICAL
    ).values_list("name", flat=True)
    starts = [probe_failing_since(hub_code=hub_code, name=name, before=now) for name in set(failing)]
    return min((start for start in starts if start is not None), default=None)


def failover_recovery_record(*, results: Iterable[ProbeResult], at: datetime) -> list[FailoverEvent]:
    """Called by the probe round inside its transaction: a passing
    ``file_transaction`` probe after a failover ends that failover's recovery
    time. Returns the events it completed."""
    passed_hubs: Sequence[str] = sorted(
        {row.hub_id for row in results if row.name == FILE_TRANSACTION and row.ok and row.hub_id}
    )
    completed = []
    for event in FailoverEvent.objects.select_for_update().filter(
        hub_id__in=passed_hubs, recovered_at__isnull=True, finished_at__lt=at
    ):
        event.recovered_at = at
        event.recovery_seconds = round((at - (event.outage_started_at or event.started_at)).total_seconds(), 3)
        event.save(update_fields=["recovered_at", "recovery_seconds"])
        completed.append(event)
    return completed
