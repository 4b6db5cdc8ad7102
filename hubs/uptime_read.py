"""Reads for the status page, the status API and whoever else shows a hub's
health: each hub's availability (day, month and year so far, in the hub's
local time, and 90 daily figures), its current status and its components',
and the incidents and maintenance the public may read.

Cost: a fixed handful of queries whatever the periods: one for every day
bitmap of every hub since the earliest period begins (a year and 90 days at
most: some 3,000 rows of 360 bytes for seven hubs), one for the windows, one for
the incidents. The minutes are then counted as bits of Python integers a
UTC day at a time (``int.bit_count``), not minute by minute, and the counts go
through ``hubs.uptime.availability`` so the page, the API and the tests share
one arithmetic. The edges cache ``hub_uptimes`` for
``HUBPORT_STATUS_CACHE_SECONDS`` (60).
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Min, Prefetch, Q
from django.utils import timezone

from hubs.models import Hub, HubUptimeDay, Incident, IncidentUpdate, MaintenanceWindow
from hubs.monitoring.probes import STAFF_ONLY_COMPONENTS, component_is_public, probes_for
from hubs.services.uptime import MINUTES_A_DAY
from hubs.uptime import MINUTE, Availability, MinuteState, WindowTerms, availability, day_bounds, month_bounds
from hubs.uptime import year_bounds as local_year_bounds

BAR_DAYS = 90
RECENT_RESOLVED_DAYS = 14
FULL_DAY = (1 << MINUTES_A_DAY) - 1


class HubState(enum.StrEnum):
    """A hub's (or a component's) current status, worst last but one: maintenance
    is shown instead of anything short of a major outage."""

    OPERATIONAL = "operational"
    DEGRADED = "degraded"
    PARTIAL_OUTAGE = "partial_outage"
    MAJOR_OUTAGE = "major_outage"
    UNDER_MAINTENANCE = "under_maintenance"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


# A critical incident on one of these leaves the hub unusable: major outage.
# Both storages failing is one too; one storage or any other critical
# component is a partial outage (the hub still serves from the other facility).
MAJOR_COMPONENTS = frozenset({"database", "broker", "workers"})
STORAGE_COMPONENTS = frozenset({"storage.primary", "storage.alternate"})


# SECTION: availability


@dataclass(frozen=True)
class DayFigure:
    day: date  # the hub's local day
    figures: Availability
    incidents: tuple[str, ...]  # titles of the incidents open at some moment of the day


@dataclass(frozen=True)
class HubUptime:
    hub_code: str
    day: Availability
    month: Availability
    year: Availability
    days: tuple[DayFigure, ...]  # BAR_DAYS local days, oldest first, today (so far) last


def floor_minute(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def _mask(first: int, last: int) -> int:
    """Bits first..last-1 of a day."""
    return ((1 << last) - 1) ^ ((1 << first) - 1)


def _utc_day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@dataclass
class _HubMinutes:
    """One hub's bitmaps by UTC day, as integers (bit i: minute i of the day)."""

    observed: dict[date, int] = field(default_factory=dict)
    down: dict[date, int] = field(default_factory=dict)
    maintenance: dict[date, int] = field(default_factory=lambda: defaultdict(int))

    def excuse(self, start: datetime, end: datetime) -> None:
        """Mark the minutes m with start <= m < end as maintenance."""
        first = _ceil_minute(start)
        last = _ceil_minute(end)
        day = first.date()
        while first < last:
            day_start = _utc_day_start(day)
            day_end = day_start + timedelta(days=1)
            a = (first - day_start) // MINUTE
            b = (min(last, day_end) - day_start) // MINUTE
            self.maintenance[day] |= _mask(a, b)
            first, day = day_end, day + timedelta(days=1)

    def count(self, start: datetime, end: datetime) -> Availability:
        """The states of the minutes of [start, end), both on the minute."""
        counts = {state: 0 for state in MinuteState}
        moment = start
        while moment < end:
            day = moment.date()
            day_start = _utc_day_start(day)
            day_end = min(day_start + timedelta(days=1), end)
            mask = _mask((moment - day_start) // MINUTE, (day_end - day_start) // MINUTE)
            maintenance = self.maintenance.get(day, 0) & mask
            down = self.down.get(day, 0) & mask & ~maintenance
            up = self.observed.get(day, 0) & mask & ~maintenance & ~down
            counts[MinuteState.MAINTENANCE] += maintenance.bit_count()
            counts[MinuteState.DOWN] += down.bit_count()
            counts[MinuteState.UP] += up.bit_count()
            counts[MinuteState.UNKNOWN] += mask.bit_count() - (maintenance | down | up).bit_count()
            moment = day_end
        return availability(counts)


def _ceil_minute(moment: datetime) -> datetime:
    floored = floor_minute(moment)
    return floored if floored == moment.astimezone(UTC) else floored + MINUTE


def _incident_spans(since: datetime, now: datetime) -> list[tuple[str | None, str, datetime, datetime]]:
    rows = Incident.objects.filter(Q(resolved_at__isnull=True) | Q(resolved_at__gt=since), opened_at__lt=now).exclude(
        component__in=STAFF_ONLY_COMPONENTS
    )
    return [
        (hub_id, title, opened_at, resolved_at or now)
        for hub_id, title, opened_at, resolved_at in rows.order_by("opened_at", "pk").values_list(
            "hub_id", "title", "opened_at", "resolved_at"
        )
    ]


def hub_uptimes(*, now: datetime | None = None, hub_codes: Iterable[str] | None = None) -> dict[str, HubUptime]:
    """Every hub's availability for its current local day, month and year so far
    (up to the last whole minute: the minute under way has no round yet), and its
    last ``BAR_DAYS`` local days, by hub code, each counted from the hub's first
    observed minute. Four queries (hubs, days, each hub's first day, windows)
    and one for the incidents named on the days."""
    end = floor_minute(now or timezone.now())
    hubs = list(Hub.objects.filter(code__in=list(hub_codes)) if hub_codes is not None else Hub.objects.all())
    if not hubs:
        return {}
    periods: dict[str, dict[str, tuple[datetime, datetime]]] = {}
    bar_days: dict[str, list[date]] = {}
    for hub in hubs:
        today = end.astimezone(hub.zone).date()
        bar_days[hub.code] = [today - timedelta(days=back) for back in range(BAR_DAYS - 1, -1, -1)]
        periods[hub.code] = {
            "day": day_bounds(today, hub.zone),
            "month": month_bounds(today.year, today.month, hub.zone),
            "year": local_year_bounds(today.year, hub.zone),
            "bars": (day_bounds(bar_days[hub.code][0], hub.zone)[0], end),
        }
    earliest = min(min(p["year"][0], p["bars"][0]) for p in periods.values())

    minutes = {hub.code: _HubMinutes() for hub in hubs}
    rows = HubUptimeDay.objects.filter(hub__in=hubs, day__gte=earliest.date(), day__lte=end.date())
    for hub_id, day, observed, down in rows.values_list("hub_id", "day", "observed", "down"):
        minutes[hub_id].observed[day] = int.from_bytes(bytes(observed), "little")
        minutes[hub_id].down[day] = int.from_bytes(bytes(down), "little")
    # Counted from the hub's first observed minute: a period that began before
    # monitoring did counts only what came after (a hub first probed in
    # November does not show a year of unknown minutes); from then on every
    # unknown minute counts. A hub never probed has nothing to count ("n/a").
    first_days = HubUptimeDay.objects.filter(hub__in=hubs).values("hub_id").annotate(first=Min("day"))
    since: dict[str, datetime] = {}
    for hub_id, first_day in first_days.values_list("hub_id", "first"):
        first_bits = minutes[hub_id].observed.get(first_day, 0)
        first_minute = (first_bits & -first_bits).bit_length() - 1 if first_bits else 0
        since[hub_id] = _utc_day_start(first_day) + first_minute * MINUTE
    windows = (
        MaintenanceWindow.objects.filter(hubs__in=hubs, ends_at__gt=earliest, starts_at__lt=end)
        .exclude(state=MaintenanceWindow.State.CANCELLED)
        .values_list("hubs", "starts_at", "ends_at", "impact", "is_emergency", "announced_at", "state", "cancelled_at")
    )
    for hub_id, starts_at, ends_at, impact, is_emergency, announced_at, state, cancelled_at in windows:
        terms = WindowTerms(
            starts_at=starts_at,
            ends_at=ends_at,
            impact=impact,
            is_emergency=is_emergency,
            announced_at=announced_at,
            cancelled=state == MaintenanceWindow.State.CANCELLED or cancelled_at is not None,
        )
        # A window excuses all of its planned interval or none of it.
        if hub_id in minutes and terms.excuses(terms.starts_at):
            minutes[hub_id].excuse(terms.starts_at, terms.ends_at)
    spans = _incident_spans(min(p["bars"][0] for p in periods.values()), end)

    result = {}
    for hub in hubs:
        hub_minutes, hub_periods, began = minutes[hub.code], periods[hub.code], since.get(hub.code, end)

        def so_far(
            bounds: tuple[datetime, datetime], counted: _HubMinutes = hub_minutes, measured_from: datetime = began
        ) -> Availability:
            stop = min(bounds[1], end)
            start = min(max(bounds[0], measured_from), stop)
            return counted.count(start, stop)

        days = []
        for day in bar_days[hub.code]:
            start, stop = day_bounds(day, hub.zone)
            titles = tuple(
                title
                for hub_id, title, opened, closed in spans
                if hub_id in (hub.code, None) and opened < stop and closed > start
            )
            days.append(DayFigure(day=day, figures=so_far((start, stop)), incidents=titles))
        result[hub.code] = HubUptime(
            hub_code=hub.code,
            day=so_far(hub_periods["day"]),
            month=so_far(hub_periods["month"]),
            year=so_far(hub_periods["year"]),
            days=tuple(days),
        )
    return result


def hub_uptimes_cached(*, now: datetime | None = None) -> dict[str, HubUptime]:
    """``hub_uptimes`` of every hub, kept ``HUBPORT_STATUS_CACHE_SECONDS`` (0: not cached)."""
    seconds = int(getattr(settings, "HUBPORT_STATUS_CACHE_SECONDS", 60))
    if seconds <= 0:
        return hub_uptimes(now=now)
    key = f"hubs:uptime:{floor_minute(now or timezone.now()):%Y%m%d%H%M}"
    found = cache.get(key)
    if found is None:
        found = hub_uptimes(now=now)
        cache.set(key, found, seconds)
    return found


# SECTION: current status


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    status: HubState


@dataclass(frozen=True)
class HubStatus:
    hub_code: str
    status: HubState
    components: tuple[ComponentStatus, ...]


def _component_status(incidents: Sequence[Incident]) -> HubState:
    if any(i.severity == Incident.Severity.CRITICAL for i in incidents):
        critical = {i.component for i in incidents if i.severity == Incident.Severity.CRITICAL}
        return HubState.MAJOR_OUTAGE if critical & MAJOR_COMPONENTS else HubState.PARTIAL_OUTAGE
    return HubState.DEGRADED if incidents else HubState.OPERATIONAL


def status_from(*, incidents: Sequence[Incident], in_maintenance: bool) -> HubState:
    """A hub's status from its open incidents (and the control plane's, which
    serves every hub) and whether a window of it is running: a critical incident
    on the database, the broker or the workers, or on both storages, is a major
    outage; any other critical incident a partial outage; a warning one degraded.
    A running window shows as under maintenance unless there is a major outage."""
    critical = {i.component for i in incidents if i.severity == Incident.Severity.CRITICAL}
    if critical & MAJOR_COMPONENTS or STORAGE_COMPONENTS <= critical:
        return HubState.MAJOR_OUTAGE
    if in_maintenance:
        return HubState.UNDER_MAINTENANCE
    if critical:
        return HubState.PARTIAL_OUTAGE
    return HubState.DEGRADED if incidents else HubState.OPERATIONAL


def hub_statuses(*, now: datetime | None = None) -> dict[str, HubStatus]:
    """Every hub's current status and its components', by hub code. Three
    queries: hubs, open incidents, running windows. Components are the ones the
    hub's registered probes watch, plus any with an open incident."""
    now = now or timezone.now()
    hubs = list(Hub.objects.all())
    open_incidents: dict[str | None, list[Incident]] = defaultdict(list)
    for incident in Incident.objects.exclude(state=Incident.State.RESOLVED).exclude(
        component__in=STAFF_ONLY_COMPONENTS
    ):
        open_incidents[incident.hub_id].append(incident)
    running = set(
        MaintenanceWindow.objects.filter(starts_at__lte=now, ends_at__gt=now)
        .exclude(state=MaintenanceWindow.State.CANCELLED)
        .values_list("hubs", flat=True)
    )
    control = open_incidents.get(None, [])
    statuses = {}
    for hub in hubs:
        own = open_incidents.get(hub.code, [])
        in_maintenance = hub.code in running
        watched = {probe.component for probe in probes_for(hub.code) if component_is_public(probe.component)}
        names = sorted(watched | {i.component for i in own})
        components = []
        for name in names:
            component = _component_status([i for i in own if i.component == name])
            if in_maintenance and component in (HubState.OPERATIONAL, HubState.DEGRADED):
                component = HubState.UNDER_MAINTENANCE
            components.append(ComponentStatus(name=name, status=component))
        statuses[hub.code] = HubStatus(
            hub_code=hub.code,
            status=status_from(incidents=[*own, *control], in_maintenance=in_maintenance),
            components=tuple(components),
        )
    return statuses


def hub_status_now(*, hub_code: str, now: datetime | None = None) -> HubState:
    """One hub's current status (for a banner or a metric)."""
    return hub_statuses(now=now)[hub_code].status


# SECTION: what the public reads


def incidents_public(*, now: datetime | None = None, resolved_days: int = RECENT_RESOLVED_DAYS) -> list[Incident]:
    """Open incidents and those resolved in the last ``resolved_days``, newest
    first, each with ``public_updates`` (only the public ones, oldest first)."""
    now = now or timezone.now()
    since = now - timedelta(days=resolved_days)
    return list(
        Incident.objects.filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=since))
        .exclude(component__in=STAFF_ONLY_COMPONENTS)
        .select_related("hub")
        .prefetch_related(
            Prefetch(
                "updates",
                queryset=IncidentUpdate.objects.filter(public=True).order_by("at", "pk"),
                to_attr="public_updates",
            )
        )
        .order_by("-opened_at", "-pk")
    )


def windows_current(*, now: datetime | None = None) -> list[MaintenanceWindow]:
    """Windows of any hub running or still to come, soonest first, with their hubs."""
    now = now or timezone.now()
    return list(
        MaintenanceWindow.objects.filter(
            ends_at__gt=now, state__in=[MaintenanceWindow.State.SCHEDULED, MaintenanceWindow.State.IN_PROGRESS]
        )
        .prefetch_related("hubs")
        .order_by("starts_at", "pk")
    )
