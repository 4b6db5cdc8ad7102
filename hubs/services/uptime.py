"""What a probe round leaves for uptime: its minute in the hub's day bitmaps
and the probes that flipped; and their expiry after 400 days.

Called by ``probe_round_run`` inside the transaction that records the round,
so a round is recorded, weighed and counted together or not at all. Queues
nothing.

The control plane's round marks no hub's minute of its own: every hub round
probes what the hub's workers need of the control plane
(``control_database.read``, ``broker.round_trip``), so a control outage that
customers feel shows in each hub's minutes already. The exception is a hub's
probe that runs in the control round, ``workers.round_trip``: when it fails,
that hub's minute is down, because a hub whose workers are all dead runs no
round of its own and would otherwise show only unknown minutes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from hubs.models import HubUptimeDay, ProbeFlip, ProbeStreak
from hubs.monitoring.probes import component_is_public

# Minutes and flips of 400 days: a whole year to compare with the year before,
# and a month to spare for a late audit.
UPTIME_KEPT = timedelta(days=400)
MINUTES_A_DAY = 1440
BITMAP_BYTES = MINUTES_A_DAY // 8


@dataclass(frozen=True)
class RoundOutcome:
    """One probe's result in a round, as uptime needs it."""

    name: str
    severity: str
    ok: bool
    # The probe's hub (None: control plane). Usually the round's; the control
    # round's workers.round_trip probes speak for each hub's workers.
    hub_code: str | None = None
    component: str = ""


def minute_of(moment: datetime) -> tuple[date, int]:
    """The UTC day of a moment and the index of its minute in that day."""
    moment = moment.astimezone(UTC)
    return moment.date(), moment.hour * 60 + moment.minute


def bitmap_set(bitmap: bytes, index: int) -> bytes:
    cells = bytearray(bitmap or bytes(BITMAP_BYTES))
    cells[index // 8] |= 1 << (index % 8)
    return bytes(cells)


def uptime_minute_record(*, hub_code: str, at: datetime, critical_failing: bool) -> HubUptimeDay:
    """Mark the minute of ``at`` observed, and down if a critical probe failed.

    Idempotent and order-free: bits are only ever set, so a second round in the
    same minute can add "down" but never take it away (down wins)."""
    day, index = minute_of(at)
    with transaction.atomic():
        # The row may not exist yet; two rounds racing to make it both insert
        # and one insert is ignored, then both lock the one row.
        HubUptimeDay.objects.bulk_create(
            [HubUptimeDay(hub_id=hub_code, day=day, observed=bytes(BITMAP_BYTES), down=bytes(BITMAP_BYTES))],
            ignore_conflicts=True,
        )
        row = HubUptimeDay.objects.select_for_update().get(hub_id=hub_code, day=day)
        row.observed = bitmap_set(bytes(row.observed), index)
        fields = ["observed"]
        if critical_failing:
            row.down = bitmap_set(bytes(row.down), index)
            fields.append("down")
        row.save(update_fields=fields)
    return row


def probe_flips_record(*, hub_code: str | None, outcomes: Sequence[RoundOutcome], at: datetime) -> list[ProbeFlip]:
    """A flip for every probe whose result differs from its previous round's.

    Reads the streaks before ``incidents_observe`` counts this round into them.
    A probe never seen before is taken to have passed, so a new probe that
    fails at once is a flip and one that passes is not."""
    previous = dict(ProbeStreak.objects.filter(hub_id=hub_code).values_list("name", "last_ok"))
    flips = [
        ProbeFlip(hub_id=hub_code, name=outcome.name, ok=outcome.ok, at=at)
        for outcome in outcomes
        if previous.get(outcome.name, True) != outcome.ok
    ]
    return ProbeFlip.objects.bulk_create(flips) if flips else []


def uptime_round_record(*, hub_code: str | None, outcomes: Sequence[RoundOutcome], at: datetime) -> None:
    """Everything uptime keeps of one round: the flips of each probe's hub, the
    round's own hub's minute, and, for a hub's probe in another round that
    failed a critical check, that hub's minute as down: a hub whose workers are
    all dead runs no round of its own, and the control round's ping says so."""
    by_hub: dict[str | None, list[RoundOutcome]] = {}
    for outcome in outcomes:
        by_hub.setdefault(outcome.hub_code, []).append(outcome)
    for probe_hub, group in by_hub.items():
        probe_flips_record(hub_code=probe_hub, outcomes=group, at=at)
    for probe_hub, group in by_hub.items():
        if probe_hub is None:
            continue
        # A staff-only probe (an attack detected) never marks a minute down.
        critical_failing = any(not o.ok for o in group if o.severity == "critical" and component_is_public(o.component))
        if probe_hub == hub_code or critical_failing:
            uptime_minute_record(hub_code=probe_hub, at=at, critical_failing=critical_failing)


def uptime_expire(*, now: datetime | None = None) -> dict[str, int]:
    """Delete day bitmaps and flips older than 400 days."""
    cutoff = (now or timezone.now()) - UPTIME_KEPT
    # A day row goes once its last minute is older than the cutoff.
    days, _ = HubUptimeDay.objects.filter(day__lt=cutoff.astimezone(UTC).date()).delete()
    flips, _ = ProbeFlip.objects.filter(at__lt=cutoff).delete()
    return {"days": days, "flips": flips}
