"""Availability read from the stored minutes agrees with hubs.uptime's arithmetic:
in the hub's local day across DST, with windows excluded or not, over random
minute sets; a year of seven hubs is read in a fixed handful of queries; and the
current status follows the open incidents and running windows."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import all_databases
from hubs.models import Hub, HubUptimeDay, Incident, MaintenanceWindow
from hubs.services.uptime import BITMAP_BYTES
from hubs.tests.monitoring.uptime_rows import at, store_minutes
from hubs.tests.windows import END, START, schedule
from hubs.uptime import MINUTE, MinuteState, WindowTerms, availability, day_bounds, minute_state, roll_up
from hubs.uptime_read import HubState, hub_statuses, hub_uptimes, status_from

pytestmark = all_databases

UP, DOWN, MAINT, UNKNOWN = MinuteState.UP, MinuteState.DOWN, MinuteState.MAINTENANCE, MinuteState.UNKNOWN


def bar(hub: str, day: date, now: datetime):  # type: ignore[no-untyped-def]
    [figure] = [d for d in hub_uptimes(now=now, hub_codes=[hub])[hub].days if d.day == day]
    return figure


def test_a_day_that_loses_an_hour_in_london_has_1380_minutes() -> None:
    day = date(2027, 3, 28)  # clocks go forward at 01:00 UTC
    start, end = day_bounds(day, "Europe/London")
    minutes = {start + i * MINUTE: UP for i in range((end - start) // MINUTE)}
    for i in range(10):
        minutes[start + (100 + i) * MINUTE] = DOWN
    store_minutes("uk", minutes)
    figure = bar("uk", day, now=end + timedelta(hours=3))
    assert figure.figures.total == 1380
    assert (figure.figures.up, figure.figures.down, figure.figures.unknown) == (1370, 10, 0)
    assert str(figure.figures.uptime_percent) == "99.27"
    # The autumn day has 1,500 minutes; none stored, so all unknown.
    autumn = bar("uk", date(2027, 10, 31), now=at(2027, 11, 1, 12, 0))
    assert (autumn.figures.total, autumn.figures.unknown, autumn.figures.uptime_percent) == (1500, 1500, 0)


def test_announced_window_excluded_overrun_down_emergency_down(frozen) -> None:
    announced = schedule("uk")  # Saturday 12 December 09:00-13:00 UTC, announced 13 days ahead
    emergency = schedule("de", START, END, emergency_reason="Disk controller failing")
    assert emergency.is_emergency
    now = END + timedelta(hours=2)
    day_start = day_bounds(START.date(), "Europe/London")[0]
    # Probes fail from the window's start until 30 minutes past its end, pass otherwise.
    for hub in ("uk", "de"):
        store_minutes(
            hub,
            {
                day_start + i * MINUTE: DOWN if START <= day_start + i * MINUTE < END + timedelta(minutes=30) else UP
                for i in range((now - day_start) // MINUTE)
            },
        )
    uk = bar("uk", START.date(), now=now)
    assert (uk.figures.maintenance, uk.figures.down, uk.figures.up) == (240, 30, 15 * 60 - 270)
    assert uk.figures.uptime == pytest.approx(100 * 630 / 660)
    # The emergency window excuses nothing: all 270 minutes are down. (Berlin's
    # day began an hour earlier, at 23:00 UTC, before de's first round: that
    # hour is not counted at all, so nothing is unknown.)
    de = bar("de", START.date(), now=now)
    assert (de.figures.maintenance, de.figures.down, de.figures.unknown) == (0, 270, 0)
    assert de.figures.total == (now - day_start) // MINUTE
    announced.refresh_from_db()
    assert WindowTerms.of(announced).excuses(START)


def test_a_window_announced_late_or_cancelled_excuses_nothing(frozen) -> None:
    window = schedule("uk")
    MaintenanceWindow.objects.filter(pk=window.pk).update(state=MaintenanceWindow.State.CANCELLED)
    store_minutes("uk", {START + i * MINUTE: DOWN for i in range(240)})
    figure = bar("uk", START.date(), now=END)
    assert (figure.figures.maintenance, figure.figures.down) == (0, 240)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    states=st.dictionaries(
        st.integers(min_value=0, max_value=3 * 1440 - 1), st.sampled_from([UP, DOWN, UNKNOWN]), max_size=200
    ),
    window_start=st.integers(min_value=0, max_value=3 * 1440 - 1),
    window_minutes=st.integers(min_value=1, max_value=600),
    announced=st.booleans(),
)
def test_stored_minutes_read_as_the_pure_arithmetic_counts_them(states, window_start, window_minutes, announced):
    """Auckland: the hub whose local day lies furthest from UTC's, over a day."""
    HubUptimeDay.objects.all().delete()
    MaintenanceWindow.objects.all().delete()
    day = date(2027, 4, 4)  # Auckland leaves daylight time: a 1,500-minute day
    start, end = day_bounds(day, "Pacific/Auckland")
    base = start - timedelta(days=1)
    minutes = {base + i * MINUTE: state for i, state in states.items()}
    store_minutes("nz", minutes)
    terms = WindowTerms(
        starts_at=base + window_start * MINUTE,
        ends_at=base + (window_start + window_minutes) * MINUTE,
        impact="unavailable",
        is_emergency=False,
        announced_at=(base - timedelta(days=6)) if announced else base + window_start * MINUTE + MINUTE,
        cancelled=False,
    )
    window = MaintenanceWindow.objects.create(
        title="Property",
        starts_at=terms.starts_at,
        ends_at=terms.ends_at,
        announced_at=terms.announced_at,
        state=MaintenanceWindow.State.SCHEDULED,
    )
    window.hubs.set(["nz"])
    # Counted from nz's first observed minute (none: nothing to count).
    observed_minutes = [m for m, state in minutes.items() if state is not UNKNOWN]
    measured_from = min(max(start, min(observed_minutes)), end) if observed_minutes else end
    expected = availability(
        roll_up(
            {
                m: minute_state(minute=m, critical_failing=None if s is UNKNOWN else s is DOWN, windows=[terms])
                for m, s in minutes.items()
            }
            | {
                # Minutes with no row are no result at all: excused inside the window too.
                start + i * MINUTE: MAINT
                for i in range((end - start) // MINUTE)
                if start + i * MINUTE not in minutes and terms.excuses(start + i * MINUTE)
            },
            measured_from,
            end,
        )
    )
    got = bar("nz", day, now=end + timedelta(hours=1)).figures
    assert got == expected
    assert got.uptime_percent == expected.uptime_percent


def test_a_year_of_seven_hubs_is_read_in_a_fixed_number_of_queries(django_assert_max_num_queries, frozen) -> None:
    rng = random.Random(9)
    now = at(2026, 11, 29, 16, 0)
    rows = [
        HubUptimeDay(
            hub_id=hub.code,
            day=now.date() - timedelta(days=back),
            observed=b"\xff" * BITMAP_BYTES,
            down=rng.randbytes(2) + bytes(BITMAP_BYTES - 2),
        )
        for hub in Hub.objects.all()
        for back in range(400)
    ]
    HubUptimeDay.objects.bulk_create(rows)
    schedule("uk")
    Incident.objects.create(
        hub_id="uk", component="database", title="London: database failing", opened_at=now - timedelta(hours=1)
    )
    with django_assert_max_num_queries(5):
        uptimes = hub_uptimes(now=now)
    assert len(uptimes) == 7 and all(len(u.days) == 90 for u in uptimes.values())
    assert uptimes["uk"].days[-1].incidents == ("London: database failing",)
    year = uptimes["de"].year
    assert year.total == (now - day_bounds(date(2026, 1, 1), "Europe/Berlin")[0]) // MINUTE
    with django_assert_max_num_queries(3):
        statuses = hub_statuses(now=now)
    assert statuses["uk"].status is HubState.MAJOR_OUTAGE and statuses["de"].status is HubState.OPERATIONAL


def incident(component: str, severity: str = "critical") -> Incident:
    return Incident(component=component, severity=severity, title=component, opened_at=at(2026, 1, 1))


@pytest.mark.parametrize(
    ("components", "maintenance", "expected"),
    [
        ((), False, HubState.OPERATIONAL),
        ((("notices", "warning"),), False, HubState.DEGRADED),
        ((("storage.primary", "critical"),), False, HubState.PARTIAL_OUTAGE),
        ((("snapshots", "critical"),), False, HubState.PARTIAL_OUTAGE),
        ((("storage.primary", "critical"), ("storage.alternate", "critical")), False, HubState.MAJOR_OUTAGE),
        ((("database", "critical"),), False, HubState.MAJOR_OUTAGE),
        ((("broker", "critical"),), True, HubState.MAJOR_OUTAGE),
        ((("workers", "critical"),), False, HubState.MAJOR_OUTAGE),
        ((("storage.primary", "critical"),), True, HubState.UNDER_MAINTENANCE),
        ((), True, HubState.UNDER_MAINTENANCE),
    ],
)
def test_status_from_incidents_and_maintenance(components, maintenance, expected) -> None:
    found = status_from(incidents=[incident(c, s) for c, s in components], in_maintenance=maintenance)
    assert found is expected


def test_statuses_of_every_hub_with_components_and_the_control_plane(frozen) -> None:
    now = at(2026, 11, 29, 16, 0)
    Incident.objects.create(hub_id="de", component="storage.primary", title="x", opened_at=now)
    Incident.objects.create(hub_id="us", component="notices", severity="warning", title="y", opened_at=now)
    statuses = hub_statuses(now=now)
    assert statuses["de"].status is HubState.PARTIAL_OUTAGE
    components = {c.name: c.status for c in statuses["de"].components}
    assert components["storage.primary"] is HubState.PARTIAL_OUTAGE
    assert components["database"] is HubState.OPERATIONAL and "storage.alternate" in components
    assert statuses["us"].status is HubState.DEGRADED and statuses["uk"].status is HubState.OPERATIONAL
    # The control plane serves every hub: its broker failing is every hub's major outage.
    Incident.objects.create(hub_id=None, component="broker", title="Control plane: broker failing", opened_at=now)
    assert {s.status for s in hub_statuses(now=now).values()} == {HubState.MAJOR_OUTAGE}


def test_cached_figures_are_reused_within_their_minute_only(settings) -> None:
    from django.core.cache import cache

    from hubs.uptime_read import hub_uptimes_cached

    settings.HUBPORT_STATUS_CACHE_SECONDS = 60
    cache.clear()
    now = at(2026, 11, 30, 10, 0)
    store_minutes("uk", {now - MINUTE: UP})
    assert hub_uptimes_cached(now=now)["uk"].day.up == 1
    store_minutes("uk", {now - MINUTE: UP, now - 2 * MINUTE: UP})
    assert hub_uptimes_cached(now=now + timedelta(seconds=30))["uk"].day.up == 1, "the same minute: cached"
    assert hub_uptimes_cached(now=now + MINUTE)["uk"].day.up == 2
    settings.HUBPORT_STATUS_CACHE_SECONDS = 0
    store_minutes("uk", {now - MINUTE: UP, now - 2 * MINUTE: UP, now - 3 * MINUTE: UP})
    assert hub_uptimes_cached(now=now)["uk"].day.up == 3
    cache.clear()
