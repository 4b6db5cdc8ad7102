"""Uptime arithmetic at its edges (issue 9): what a window excuses and what it
does not, unknown minutes, days that cross DST in hubs' zones, leap years, and
the 99.98 % promise. Pure functions: no database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hubs.uptime import (
    MINUTE,
    Availability,
    MinuteState,
    WindowTerms,
    availability,
    day_bounds,
    minute_state,
    minutes_in,
    month_bounds,
    roll_up,
    year_bounds,
)

UP, DOWN, MAINT, UNKNOWN = MinuteState.UP, MinuteState.DOWN, MinuteState.MAINTENANCE, MinuteState.UNKNOWN

# A Saturday-night window, announced a week ahead: 02:00 to 04:00 UTC.
START = datetime(2027, 3, 13, 2, 0, tzinfo=UTC)
END = START + timedelta(hours=2)


def window(**changes: object) -> WindowTerms:
    terms: dict[str, object] = {
        "starts_at": START,
        "ends_at": END,
        "impact": "unavailable",
        "is_emergency": False,
        "announced_at": START - timedelta(days=7),
        "cancelled": False,
    }
    terms.update(changes)
    return WindowTerms(**terms)  # type: ignore[arg-type]


def state_at(minute: datetime, failing: bool | None, *windows: WindowTerms) -> MinuteState:
    return minute_state(minute=minute, critical_failing=failing, windows=windows)


# SECTION: one minute


def test_no_window_failing_passing_and_no_result():
    assert state_at(START, False) is UP
    assert state_at(START, True) is DOWN
    assert state_at(START, None) is UNKNOWN


def test_announced_part_is_maintenance_from_first_to_last_minute():
    w = window()
    assert state_at(START, True, w) is MAINT
    assert state_at(END - MINUTE, True, w) is MAINT
    # Just before: the window has not begun, so the failure is downtime.
    assert state_at(START - MINUTE, True, w) is DOWN


def test_maintenance_excludes_the_minute_whatever_the_probes_said():
    w = window()
    assert state_at(START, False, w) is MAINT
    assert state_at(START, None, w) is MAINT


def test_read_only_window_excuses_like_unavailable():
    assert state_at(START, True, window(impact="read_only")) is MAINT


def test_overrun_past_planned_end_is_down_when_failing():
    w = window()
    assert state_at(END, True, w) is DOWN
    assert state_at(END + timedelta(minutes=30), True, w) is DOWN
    assert state_at(END, False, w) is UP
    assert state_at(END, None, w) is UNKNOWN


def test_emergency_window_is_down():
    assert state_at(START, True, window(is_emergency=True)) is DOWN
    assert state_at(START, False, window(is_emergency=True)) is UP


def test_degraded_window_does_not_excuse_downtime():
    assert state_at(START, True, window(impact="degraded")) is DOWN
    assert state_at(START, False, window(impact="degraded")) is UP


def test_cancelled_window_does_not_excuse():
    assert state_at(START, True, window(cancelled=True)) is DOWN


def test_window_announced_after_it_began_or_never_does_not_excuse():
    assert state_at(START, True, window(announced_at=START + MINUTE)) is DOWN
    assert state_at(START, True, window(announced_at=None)) is DOWN


def test_one_excusing_window_among_others_is_enough():
    assert state_at(START, True, window(is_emergency=True), window(impact="degraded"), window()) is MAINT


def test_terms_of_a_model_window_without_the_database():
    from hubs.models import MaintenanceWindow

    row = MaintenanceWindow(
        starts_at=START,
        ends_at=END,
        impact=MaintenanceWindow.Impact.READ_ONLY,
        is_emergency=False,
        announced_at=START - timedelta(days=6),
    )
    terms = WindowTerms.of(row)
    assert terms == window(impact="read_only", announced_at=START - timedelta(days=6))
    row.state = MaintenanceWindow.State.CANCELLED
    assert WindowTerms.of(row).cancelled is True


# SECTION: a window's day rolled up


def test_day_with_window_and_overrun():
    """A day in UTC: a two-hour announced window excluded, 30 minutes of overrun
    down, every other minute up."""
    start, end = day_bounds(date(2027, 3, 13), "UTC")
    w = window()
    overrun_end = END + timedelta(minutes=30)
    states = {}
    minute = start
    while minute < end:
        failing = START <= minute < overrun_end
        states[minute] = state_at(minute, failing, w)
        minute += MINUTE
    counts = roll_up(states, start, end)
    figure = availability(counts)
    assert (figure.up, figure.down, figure.maintenance, figure.unknown) == (1440 - 150, 30, 120, 0)
    assert figure.uptime == Fraction((1440 - 150) * 100, 1440 - 120)
    assert figure.uptime_percent == Decimal("97.72")  # 1290 / 1320 = 97.727...
    assert figure.coverage_percent == Decimal("100.00")


def test_unknown_minutes_count_against_uptime_and_show_in_coverage():
    start, end = day_bounds(date(2027, 6, 1), "Europe/London")
    # The prober was down for the last 144 minutes: nothing recorded for them.
    states = {start + i * MINUTE: UP for i in range(1440 - 144)}
    figure = availability(roll_up(states, start, end))
    assert figure.unknown == 144
    assert figure.uptime_percent == Decimal("90.00")
    assert figure.coverage_percent == Decimal("90.00")


def test_explicit_unknown_entries_count_once():
    start, end = day_bounds(date(2027, 6, 1), "UTC")
    counts = roll_up({start: UNKNOWN, start + MINUTE: DOWN}, start, end)
    assert counts[UNKNOWN] == 1439
    assert counts[DOWN] == 1


def test_minutes_outside_the_period_are_ignored():
    start, end = day_bounds(date(2027, 6, 1), "UTC")
    counts = roll_up({start - MINUTE: DOWN, end: DOWN, start: UP}, start, end)
    assert counts == {UP: 1, UNKNOWN: 1439}


def test_a_key_off_the_minute_is_refused():
    start, end = day_bounds(date(2027, 6, 1), "UTC")
    with pytest.raises(ValueError, match="not on the minute"):
        roll_up({start + timedelta(seconds=30): UP}, start, end)


def test_all_maintenance_has_no_uptime_figure():
    figure = availability({MAINT: 1440})
    assert figure.uptime is None
    assert figure.uptime_percent is None
    assert figure.coverage_percent == Decimal("100.00")


def test_empty_period_has_no_figures():
    figure = availability({})
    assert figure == Availability(0, 0, 0, 0)
    assert figure.uptime is None
    assert figure.coverage is None


# SECTION: periods in the hub's local time


@pytest.mark.parametrize(
    ("zone", "day", "minutes"),
    [
        ("Europe/London", date(2027, 3, 28), 1380),  # spring forward
        ("Europe/London", date(2027, 10, 31), 1500),  # fall back
        ("Europe/London", date(2027, 6, 1), 1440),
        ("Australia/Sydney", date(2027, 10, 3), 1380),  # spring forward (October)
        ("Australia/Sydney", date(2027, 4, 4), 1500),  # fall back (April)
        ("Pacific/Auckland", date(2027, 9, 26), 1380),
        ("Pacific/Auckland", date(2027, 4, 4), 1500),
        ("Asia/Tokyo", date(2027, 3, 28), 1440),  # no DST
    ],
)
def test_day_across_dst(zone, day, minutes):
    start, end = day_bounds(day, zone)
    assert start.tzinfo is UTC
    assert minutes_in(start, end) == minutes


def test_london_spring_day_bounds_in_utc():
    # Midnight GMT to midnight BST: 00:00Z to 23:00Z.
    assert day_bounds(date(2027, 3, 28), "Europe/London") == (
        datetime(2027, 3, 28, 0, 0, tzinfo=UTC),
        datetime(2027, 3, 28, 23, 0, tzinfo=UTC),
    )


def test_sydney_day_starts_the_previous_utc_day():
    start, _ = day_bounds(date(2027, 6, 1), "Australia/Sydney")
    assert start == datetime(2027, 5, 31, 14, 0, tzinfo=UTC)


def test_a_dst_day_fully_up_is_100_percent_of_its_own_minutes():
    start, end = day_bounds(date(2027, 10, 31), "Europe/London")
    states = {start + i * MINUTE: UP for i in range(1500)}
    figure = availability(roll_up(states, start, end))
    assert figure.total == 1500
    assert figure.uptime_percent == Decimal("100.00")
    assert figure.coverage_percent == Decimal("100.00")


def test_leap_year_and_common_year():
    assert minutes_in(*year_bounds(2028, "Europe/London")) == 527_040
    assert minutes_in(*year_bounds(2027, "Europe/London")) == 525_600
    # DST changes inside a year cancel out; the year in Sydney is as long.
    assert minutes_in(*year_bounds(2028, "Australia/Sydney")) == 527_040


def test_february_2028_has_29_days():
    assert minutes_in(*month_bounds(2028, 2, "UTC")) == 29 * 1440
    assert minutes_in(*month_bounds(2027, 2, "UTC")) == 28 * 1440


def test_december_ends_at_new_year_local_midnight():
    start, end = month_bounds(2027, 12, "Pacific/Auckland")
    assert end == year_bounds(2028, "Pacific/Auckland")[0]
    assert minutes_in(start, end) == 31 * 1440


def test_month_figure_with_maintenance_and_downtime():
    """March 2027 in London has 44,580 minutes (31 days, one of them 23 hours).
    Two hours of maintenance excluded, 45 minutes down, one hour unknown."""
    start, end = month_bounds(2027, 3, "Europe/London")
    assert minutes_in(start, end) == 31 * 1440 - 60
    states: dict[datetime, MinuteState] = {}
    for i in range(minutes_in(start, end) - 60):
        states[start + i * MINUTE] = UP
    for i in range(120):
        states[START + i * MINUTE] = MAINT
    for i in range(45):
        states[END + i * MINUTE] = DOWN
    figure = availability(roll_up(states, start, end))
    assert (figure.maintenance, figure.down, figure.unknown) == (120, 45, 60)
    assert figure.up == 44_580 - 120 - 45 - 60
    assert figure.uptime == Fraction(figure.up * 100, 44_580 - 120)
    assert figure.uptime_percent == Decimal("99.76")  # 44,355 / 44,460 = 99.7638...
    assert figure.coverage_percent == Decimal("99.86")  # 44,520 / 44,580 = 99.8654...


def test_the_99_98_promise_over_2027():
    """99.98 % of 525,600 minutes leaves 105.12 down: 105 keeps the promise, 106
    breaks it and is shown so (rounded down, never up)."""
    total = minutes_in(*year_bounds(2027, "UTC"))
    kept = availability({UP: total - 105, DOWN: 105})
    broken = availability({UP: total - 106, DOWN: 106})
    assert kept.uptime_percent == Decimal("99.98")
    assert broken.uptime_percent == Decimal("99.97")
    assert broken.uptime is not None and broken.uptime > Fraction(9997, 100)


def test_minutes_in_refuses_backwards_and_partial_periods():
    start = datetime(2027, 1, 1, tzinfo=UTC)
    assert minutes_in(start, start) == 0
    with pytest.raises(ValueError, match="before it starts"):
        minutes_in(start, start - MINUTE)
    with pytest.raises(ValueError, match="whole minutes"):
        minutes_in(start, start + timedelta(seconds=90))


# SECTION: the invariant

DAYS = st.sampled_from(
    [
        (date(2027, 3, 28), "Europe/London"),
        (date(2027, 10, 31), "Europe/London"),
        (date(2027, 10, 3), "Australia/Sydney"),
        (date(2027, 4, 4), "Pacific/Auckland"),
        (date(2028, 2, 29), "Asia/Tokyo"),
    ]
)


@settings(max_examples=60, deadline=None)
@given(day=DAYS, data=st.data())
def test_every_minute_counted_once_and_uptime_bounded(day, data):
    start, end = day_bounds(*day)
    total = minutes_in(start, end)
    # Any subset of the minutes, each with any state (absent ones are unknown).
    assigned = data.draw(st.dictionaries(st.integers(0, total - 1), st.sampled_from(list(MinuteState)), max_size=total))
    states = {start + i * MINUTE: state for i, state in assigned.items()}
    figure = availability(roll_up(states, start, end))
    assert figure.up + figure.down + figure.maintenance + figure.unknown == total
    assert figure.unknown >= total - len(states)
    if figure.maintenance == total:
        assert figure.uptime is None
    else:
        assert figure.uptime is not None and 0 <= figure.uptime <= 100
    assert figure.coverage is not None and 0 <= figure.coverage <= 100
