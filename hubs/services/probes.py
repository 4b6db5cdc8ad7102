"""A round of probes: run every probe of a hub (or of the control plane) and
record one row per probe, in one transaction. Queues nothing, so the probe
task imports it without importing itself back."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from hubs.models import Heartbeat, ProbeResult
from hubs.monitoring.probes import probes_for

# Raw rows of two days: enough for the on-call engineer to read what happened
# last night; uptime keeps its own roll-ups.
PROBE_RESULTS_KEPT = timedelta(hours=48)
DETAIL_MAX_CHARS = 500


def probe_round_run(*, hub_code: str | None) -> list[ProbeResult]:
    """Run every probe of ``hub_code`` (None: the control plane) one after the
    other, each bounded by its timeout, then record the round."""
    rows = []
    for probe in probes_for(hub_code):
        outcome = probe.run()
        rows.append(
            ProbeResult(
                hub_id=hub_code,
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
    with transaction.atomic():
        ProbeResult.objects.bulk_create(rows)
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
