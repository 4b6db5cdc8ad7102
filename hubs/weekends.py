"""The promise, as pure rules: maintenance happens at the weekend and is
announced five days ahead (docs: the resilience statement).

- **Notice**: a window starts at least ``MAINTENANCE_NOTICE_HOURS`` (120) hours
  after its announcement, the moment it is saved.
- **Weekend**: start and end fall inside one weekend, Saturday 00:00 to Monday
  00:00, in the local time of every affected hub (zoneinfo, so daylight-saving
  weekends of 47 or 49 hours are what they are).

Nothing here reads or writes the database: the services in
``hubs.services.maintenance`` apply these rules to every way of scheduling (the
admin, the API, ``manage.py schedule_maintenance``), and the admin's form asks
the same functions, so a refusal reads the same everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from hubs.formatting import format_hours, format_local, format_utc, hub_name, hubs_phrase
from hubs.models import Hub

# How far ahead earliest_allowed_start looks: two hubs' weekends always share at
# least 22 hours (zones differ by at most 26 h), so the first week after the
# notice period has a common weekend; eight weeks is room for odd zones.
SEARCH_WEEKS = 8


def notice_hours() -> int:
    return int(getattr(settings, "MAINTENANCE_NOTICE_HOURS", 120))


def notice_period() -> timedelta:
    return timedelta(hours=notice_hours())


def notice_words() -> str:
    hours = notice_hours()
    if hours % 24 == 0:
        days = hours // 24
        return f"{days} day{'s' if days != 1 else ''}' notice"
    return f"{hours} hours' notice"


# SECTION: weekends


Interval = tuple[datetime, datetime]


def weekend_of(moment: datetime, zone: ZoneInfo) -> Interval | None:
    """The weekend (Saturday 00:00 to Monday 00:00 local) containing ``moment``, in UTC; None on a weekday."""
    local = moment.astimezone(zone)
    if local.weekday() < 5:
        return None
    saturday = local.date() - timedelta(days=local.weekday() - 5)
    return _weekend_starting(saturday, zone)


def _weekend_starting(saturday: date, zone: ZoneInfo) -> Interval:
    start = datetime.combine(saturday, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(saturday + timedelta(days=2), time(0), tzinfo=zone).astimezone(UTC)
    return start, end


def hub_weekends(zone: ZoneInfo, since: datetime, until: datetime) -> list[Interval]:
    """Every weekend of ``zone`` that overlaps [since, until), in UTC, in order."""
    day = since.astimezone(zone).date()
    saturday = day + timedelta(days=(5 - day.weekday()) % 7) - timedelta(days=7)
    weekends: list[Interval] = []
    while True:
        start, end = _weekend_starting(saturday, zone)
        if start >= until:
            return weekends
        if end > since:
            weekends.append((start, end))
        saturday += timedelta(days=7)


def _intersect(left: list[Interval], right: list[Interval]) -> list[Interval]:
    shared: list[Interval] = []
    i = j = 0
    while i < len(left) and j < len(right):
        start, end = max(left[i][0], right[j][0]), min(left[i][1], right[j][1])
        if start < end:
            shared.append((start, end))
        if left[i][1] <= right[j][1]:
            i += 1
        else:
            j += 1
    return shared


def shared_weekends(hubs: Sequence[Hub], since: datetime, until: datetime) -> list[Interval]:
    """The stretches of [since, until) that are weekend in every hub, in UTC."""
    shared: list[Interval] | None = None
    for hub in hubs:
        weekends = hub_weekends(hub.zone, since, until)
        shared = weekends if shared is None else _intersect(shared, weekends)
    return shared or []


def earliest_allowed_start(*, hubs: Sequence[Hub], now: datetime | None = None) -> datetime | None:
    """The earliest moment a window announced ``now`` may start in every one of ``hubs``:
    after the notice period and at the weekend in each hub. None for no hubs, or
    for hubs whose weekends never overlap."""
    hubs = list(hubs)
    if not hubs:
        return None
    now = now or timezone.now()
    notice_from = now + notice_period()
    for start, end in shared_weekends(hubs, notice_from, notice_from + timedelta(weeks=SEARCH_WEEKS)):
        if end > notice_from:
            return max(start, notice_from)
    return None


# SECTION: the rules


def _notice_refusal(hubs: Sequence[Hub], *, starts_at: datetime, announced_at: datetime) -> str | None:
    if starts_at >= announced_at + notice_period():
        return None
    earliest = earliest_allowed_start(hubs=hubs, now=announced_at)
    if earliest is None:
        return f"Maintenance must start at least {notice_hours()} hours after it is announced."
    if len(hubs) == 1:
        return (
            f"{hub_name(hubs[0])}: maintenance must start on or after "
            f"{format_local(earliest, hubs[0].zone)} to give {notice_words()}."
        )
    locals_ = ", ".join(f"{hub.code} {format_local(earliest, hub.zone)}" for hub in hubs)
    return (
        f"Hubs {hubs_phrase(hubs)}: maintenance must start on or after {format_utc(earliest)} "
        f"({locals_}) to give {notice_words()} at the weekend in every hub."
    )


def _weekend_refusals(hubs: Sequence[Hub], *, starts_at: datetime, ends_at: datetime) -> list[str]:
    reasons: list[str] = []
    for hub in hubs:
        zone = hub.zone
        weekend = weekend_of(starts_at, zone)
        if weekend is None:
            next_start, next_end = hub_weekends(zone, starts_at, starts_at + timedelta(days=8))[0]
            reasons.append(
                f"{hub_name(hub)}: the start, {format_local(starts_at, zone)}, is not at the weekend there; "
                "maintenance must start and end between Saturday 00:00 and Monday 00:00 local time "
                f"(the next weekend there is {format_local(next_start, zone)} to {format_local(next_end, zone)})."
            )
        elif ends_at > weekend[1]:
            reasons.append(
                f"{hub_name(hub)}: the window must end by {format_local(weekend[1], zone)}, the end of that "
                f"weekend there, but ends {format_local(ends_at, zone)}; shorten it by "
                f"{format_hours(ends_at - weekend[1])} or start it earlier."
            )
    if reasons and len(hubs) > 1:
        reasons.append(_shared_weekend_explanation(hubs, starts_at=starts_at, ends_at=ends_at))
    return reasons


def _shared_weekend_explanation(hubs: Sequence[Hub], *, starts_at: datetime, ends_at: datetime) -> str:
    shared = shared_weekends(hubs, starts_at - timedelta(days=7), starts_at + timedelta(days=14))
    nearest = next(((start, end) for start, end in shared if end > starts_at), None)
    if nearest is None:
        return f"The weekends of hubs {hubs_phrase(hubs)} do not overlap; schedule a window per hub."
    start, end = nearest
    text = (
        f"The weekends of hubs {hubs_phrase(hubs)} overlap only from {format_utc(start)} to {format_utc(end)} "
        f"({format_hours(end - start)}) that week; the window must fit inside that."
    )
    if ends_at - starts_at > end - start:
        text += (
            f" It lasts {format_hours(ends_at - starts_at)}, longer than their shared weekend: "
            "schedule a separate window per hub."
        )
    return text


def maintenance_rule_refusals(
    *,
    hubs: Sequence[Hub],
    starts_at: datetime,
    ends_at: datetime,
    announced_at: datetime,
    check_notice: bool = True,
    check_weekend: bool = True,
) -> list[str]:
    """Every reason a window would be refused; empty when it keeps the promise."""
    hubs = sorted(hubs, key=lambda hub: (hub.sort_order, hub.code))
    if not hubs:
        return ["Choose at least one hub."]
    if timezone.is_naive(starts_at) or timezone.is_naive(ends_at):
        return ["Give the start and end with their time zone (for example 2026-12-05T09:00Z)."]
    if ends_at <= starts_at:
        return [f"The end, {format_utc(ends_at)}, must be after the start, {format_utc(starts_at)}."]
    if ends_at <= announced_at:
        return [f"The end, {format_utc(ends_at)}, is already past."]
    reasons: list[str] = []
    if check_notice:
        refusal = _notice_refusal(hubs, starts_at=starts_at, announced_at=announced_at)
        if refusal:
            reasons.append(refusal)
    if check_weekend:
        reasons.extend(_weekend_refusals(hubs, starts_at=starts_at, ends_at=ends_at))
    return reasons


EMERGENCY_NEEDS_REASON = (
    "An emergency window bypasses the weekend and notice rules only with a written reason; give one."
)
