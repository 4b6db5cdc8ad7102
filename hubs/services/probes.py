"""A round of probes: run every probe of a hub (or of the control plane) and
record one row per probe, count its minute for uptime and weigh the round for
incidents, in one transaction. Queues nothing, so the probe
task imports it without importing itself back."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from hubs.models import Heartbeat, ProbeResult
from hubs.monitoring.probes import probes_for
from hubs.services.failover_auto import failover_automatic_consider
from hubs.services.failover_events import failover_recovery_record
from hubs.services.incidents import Observation, incidents_observe
from hubs.services.uptime import RoundOutcome, uptime_round_record

# Raw rows of two days: enough for the on-call engineer to read what happened
# last night; uptime keeps its own roll-ups.
PROBE_RESULTS_KEPT = timedelta(hours=48)
DETAIL_MAX_CHARS = 500
# Each probe waits in its own thread; 8 at a time keeps a hub's database and
# facilities from seeing more than a handful of probe connections at once.
ROUND_CONCURRENCY = 8


def probe_round_run(*, hub_code: str | None) -> list[ProbeResult]:
    """Run every probe of ``hub_code`` (None: the control plane) side by side,
    each bounded by its timeout, then record the round."""
    probes = probes_for(hub_code)
    # Side by side: a round lasts as long as its slowest probe (10 s at most by
    # default), not the sum of 14 timeouts, so it ends well inside its minute.
    with ThreadPoolExecutor(max_workers=ROUND_CONCURRENCY, thread_name_prefix="probe-round") as executor:
        outcomes = list(executor.map(lambda probe: probe.run(), probes))
    rows = []
    for probe, outcome in zip(probes, outcomes, strict=True):
        rows.append(
            ProbeResult(
                # The probe's hub, not the round's: the control round's
                # workers.round_trip probes speak for each hub's workers.
                hub_id=probe.hub_code,
                name=probe.name,
                component=probe.component,
                severity=probe.severity,
                ok=outcome.ok,
                latency_ms=round(outcome.latency_ms, 3),
                detail=outcome.detail[:DETAIL_MAX_CHARS],
            )
        )
    at = timezone.now()
    for row in rows:
        row.at = at
    # The round's rows and what they mean for incidents commit together: a
    # round is either recorded, counted for uptime and weighed, or none of them.
    with transaction.atomic():
        ProbeResult.objects.bulk_create(rows)
        # Before incidents_observe: the flips compare with the streaks it moves on.
        uptime_round_record(
            hub_code=hub_code,
            outcomes=[
                RoundOutcome(
                    name=row.name, severity=row.severity, ok=row.ok, hub_code=row.hub_id, component=row.component
                )
                for row in rows
            ],
            at=at,
        )
        incidents_observe(
            observations=[
                Observation(
                    hub_code=row.hub_id,
                    name=row.name,
                    component=row.component,
                    severity=row.severity,
                    ok=row.ok,
                    detail=row.detail,
                    at=at,
                )
                for row in rows
            ],
            now=at,
        )
        # A passing file transaction after a failover ends its recovery time.
        failover_recovery_record(results=rows, at=at)
    if hub_code is not None:
        failover_automatic_consider(hub_code=hub_code, now=at)
    return rows


def probe_results_expire(*, now: datetime | None = None) -> int:
    """Delete raw results older than 48 hours; returns how many went."""
    cutoff = (now or timezone.now()) - PROBE_RESULTS_KEPT
    deleted, _ = ProbeResult.objects.filter(at__lt=cutoff).delete()
    return deleted


def heartbeat_record(*, name: str, now: datetime | None = None) -> Heartbeat:
    """Say that ``name`` is alive now (one row per name, updated in place)."""
    heartbeat, _ = Heartbeat.objects.update_or_create(name=name, defaults={"at": now or timezone.now()})
    return heartbeat
