"""Uptime as arithmetic (issue 9, "Uptime"): what one minute of one hub was,
and what a day, a month or a year of such minutes adds up to.

Pure: nothing here reads or writes the database, so the figures the status
page, the API and an auditor see come from one set of functions that the tests
exercise at their edges (DST days, leap years, the 99.98% promise). The
probes and the per-minute states they record belong to ``hubs.monitoring``;
this module knows nothing of them, so it can be used (and tested) on its own.

The definition, in one paragraph (the status page shows it, see
docs/architecture.md): availability = up minutes / (minutes in the period −
maintenance minutes) × 100. A minute is under maintenance only inside an
announced, non-emergency window's planned interval whose impact makes the hub
unavailable or read-only; it is excluded whatever the probes said. Outside
such a window a minute is down if a critical component failed, unknown if no
probe result exists, up otherwise; unknown minutes count against availability
and are shown on their own as "measured coverage".
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_DOWN, Decimal
from fractions import Fraction
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from hubs.models import MaintenanceWindow

MINUTE = timedelta(minutes=1)

# Impacts under which customers were told the hub cannot be used as normal
# (the values of MaintenanceWindow.Impact). "degraded" promises a working hub,
# only slower, so a failure inside a degraded window is downtime.
EXCUSING_IMPACTS = frozenset({"unavailable", "read_only"})

# The definition in one paragraph, as the status page shows it (and
# docs/architecture.md, "Uptime").
AVAILABILITY_DEFINITION = (
    "Each hub's availability for a day, a month or a year, counted in the hub's local time, is the number "
    "of minutes the hub was up divided by the minutes in the period less its maintenance minutes, as a "
    "percentage shown to two decimals and rounded down. A minute is maintenance only inside the planned "
    "interval of a window announced before it began, not an emergency, that made the hub unavailable or "
    "read-only; such minutes are left out whatever the probes saw. Every other minute is down if a critical "
    "component failed, up if every critical probe passed, and unknown if there is no probe result for it; "
    "unknown minutes count against availability, and the share of minutes that were not unknown is shown "
    "beside it as measured coverage. A window's overrun, an emergency window and a degraded window are not "
    "maintenance. A period is counted from the hub's first probe round: before monitoring began there is "
    "nothing to count, and a hub not yet probed shows n/a."
)

# Two decimals on the status page and in the API ("99.98"), as the issue asks.
DISPLAY_STEP = Decimal("0.01")


class MinuteState(enum.StrEnum):
    UP = "up"
    DOWN = "down"
    MAINTENANCE = "maintenance"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class WindowTerms:
    """What uptime needs to know of a maintenance window: its planned interval
    and whether it was promised. A plain value, so the arithmetic needs no model
    and tests need no database."""

    starts_at: datetime
    ends_at: datetime
    impact: str
    is_emergency: bool
    announced_at: datetime | None
    cancelled: bool

    def excuses(self, minute: datetime) -> bool:
        """Whether the minute starting at ``minute`` is excluded as maintenance.

        Only the planned interval [starts_at, ends_at) counts: a minute after
        ends_at is an overrun and is judged by the probes like any other. A window
        announced after it began (or never) was not announced, and an emergency
        window was never promised, so neither excuses anything; a cancelled window
        did not happen."""
        if self.cancelled or self.is_emergency or self.impact not in EXCUSING_IMPACTS:
            return False
        if self.announced_at is None or self.announced_at > self.starts_at:
            return False
        return self.starts_at <= minute < self.ends_at

    @classmethod
    def of(cls, window: MaintenanceWindow) -> WindowTerms:
        # The "cancelled" state is the one way a window is called off
        # (hubs.services.maintenance.maintenance_cancel sets both it and cancelled_at).
        return cls(
            starts_at=window.starts_at,
            ends_at=window.ends_at,
            impact=window.impact,
            is_emergency=window.is_emergency,
            announced_at=window.announced_at,
            cancelled=window.state == "cancelled" or window.cancelled_at is not None,
        )


def minute_state(*, minute: datetime, critical_failing: bool | None, windows: Iterable[WindowTerms]) -> MinuteState:
    """The state of one minute of one hub.

    ``critical_failing`` is True if any critical component failed in the minute,
    False if every critical probe passed, None if there is no result at all.

    Precedence: an excusing window first, whatever the probes said, because the
    S3-style denominator (minutes in the period − maintenance minutes) takes
    these minutes out of the period altogether. Counting a passing minute of an
    announced outage as UP would let a window in which the hub happened to work
    raise the figure, and a window whose probes were stopped with the hub would
    lower it; neither says anything about the promise. Outside such a window: no
    result is UNKNOWN (never UP: the prober being down is no evidence the hub
    was up), a failure is DOWN, else UP."""
    if any(window.excuses(minute) for window in windows):
        return MinuteState.MAINTENANCE
    if critical_failing is None:
        return MinuteState.UNKNOWN
    return MinuteState.DOWN if critical_failing else MinuteState.UP


# SECTION: periods in the hub's local time


def _zone(zone: ZoneInfo | str) -> ZoneInfo:
    return zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)


def _local_midnight_utc(day: date, zone: ZoneInfo) -> datetime:
    # fold=0: where midnight falls in a DST gap (it does in a few zones, e.g.
    # America/Santiago), zoneinfo applies the offset before the change, which is
    # the instant the day really begins; where midnight repeats, the first one.
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def day_bounds(day: date, zone: ZoneInfo | str) -> tuple[datetime, datetime]:
    """[start, end) in UTC of a local calendar day: 1,440 minutes, or 1,380 and
    1,500 on the days the clocks change."""
    tz = _zone(zone)
    return _local_midnight_utc(day, tz), _local_midnight_utc(day + timedelta(days=1), tz)


def month_bounds(year: int, month: int, zone: ZoneInfo | str) -> tuple[datetime, datetime]:
    tz = _zone(zone)
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return _local_midnight_utc(date(year, month, 1), tz), _local_midnight_utc(following, tz)


def year_bounds(year: int, zone: ZoneInfo | str) -> tuple[datetime, datetime]:
    tz = _zone(zone)
    return _local_midnight_utc(date(year, 1, 1), tz), _local_midnight_utc(date(year + 1, 1, 1), tz)


def minutes_in(start: datetime, end: datetime) -> int:
    """Whole minutes in [start, end). Every hub zone's offset is whole minutes, so
    a period that is not is a caller's mistake and is refused rather than rounded."""
    span = end - start
    if span < timedelta(0):
        raise ValueError(f"period ends before it starts: {start.isoformat()} .. {end.isoformat()}")
    if span % MINUTE:
        raise ValueError(f"period is not whole minutes: {start.isoformat()} .. {end.isoformat()}")
    return span // MINUTE


# SECTION: counting and the figures


def roll_up(minute_states: Mapping[datetime, MinuteState], start: datetime, end: datetime) -> Counter[MinuteState]:
    """Every state counted over [start, end); a minute with no entry is UNKNOWN.

    Keys are the minutes' starts, aware and on the minute. Walks the mapping,
    not the period (a year is 525,600 minutes, a day's mapping 1,440 entries), so
    the missing minutes are the period's length less those found."""
    total = minutes_in(start, end)
    counts: Counter[MinuteState] = Counter()
    for minute, state in minute_states.items():
        if start <= minute < end:
            if (minute - start) % MINUTE:
                # A key off the minute grid would be counted once here but its
                # own minute again as missing: refuse rather than double-count.
                raise ValueError(f"minute key not on the minute: {minute.isoformat()}")
            counts[state] += 1
    counts[MinuteState.UNKNOWN] += total - sum(counts.values())
    return counts


def _display(value: Fraction | None) -> Decimal | None:
    if value is None:
        return None
    # Rounded down, never up: a published figure must not be better than the
    # measurement. 106 minutes down in 2027 is 99.97983 %, shown 99.97, a breach
    # of the 99.98 % promise, not 99.98.
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(DISPLAY_STEP, rounding=ROUND_DOWN)


@dataclass(frozen=True, slots=True)
class Availability:
    up: int
    down: int
    maintenance: int
    unknown: int

    @property
    def total(self) -> int:
        return self.up + self.down + self.maintenance + self.unknown

    @property
    def uptime(self) -> Fraction | None:
        """Exact percentage; None when every minute was maintenance (or there were
        none): nothing was promised, and 100 would claim a measurement."""
        countable = self.total - self.maintenance
        return None if countable == 0 else Fraction(self.up * 100, countable)

    @property
    def coverage(self) -> Fraction | None:
        """Exact percentage of minutes with a state other than unknown. A
        maintenance minute counts as covered: it is excluded by the announcement,
        not by the probes."""
        return None if self.total == 0 else Fraction((self.total - self.unknown) * 100, self.total)

    @property
    def uptime_percent(self) -> Decimal | None:
        return _display(self.uptime)

    @property
    def coverage_percent(self) -> Decimal | None:
        return _display(self.coverage)


def availability(counts: Mapping[MinuteState, int]) -> Availability:
    return Availability(
        up=counts.get(MinuteState.UP, 0),
        down=counts.get(MinuteState.DOWN, 0),
        maintenance=counts.get(MinuteState.MAINTENANCE, 0),
        unknown=counts.get(MinuteState.UNKNOWN, 0),
    )
