"""The promise at its edges, with a frozen clock: five days' notice (120 hours)
and a weekend in every affected hub's local time, through the one service the
admin, the API and the command use; changes, cancellation, emergencies; and
the admin that explains every refusal."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model

from conftest import all_databases
from hubs.errors import MaintenanceRefused
from hubs.maintenance import (
    earliest_allowed_start,
    maintenance_cancel,
    maintenance_change,
    maintenance_rule_refusals,
    maintenance_schedule,
)
from hubs.models import Hub, MaintenanceWindow, NoticeDelivery, StaffAuditEntry

pytestmark = all_databases

# Sunday 29 November 2026, 16:00 UTC (20:00 in Dubai).
NOW = datetime(2026, 11, 29, 16, 0, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def hubs(*codes: str) -> list[Hub]:
    found = {hub.code: hub for hub in Hub.objects.filter(code__in=codes)}
    return [found[code] for code in codes]


def local(day: date, zone: str, hour: int = 0, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(zone)).astimezone(UTC)


SAT_9 = datetime(2026, 12, 12, 9, tzinfo=UTC)
SAT_13 = datetime(2026, 12, 12, 13, tzinfo=UTC)


def schedule(codes: str = "uk", start: datetime = SAT_9, end: datetime = SAT_13, **kw):
    return maintenance_schedule(
        hubs=hubs(*codes.split(",")), title="Storage upgrade", starts_at=start, ends_at=end, **kw
    )


def refusal(codes: str, start: datetime, end: datetime, **kw) -> str:
    with pytest.raises(MaintenanceRefused) as caught:
        schedule(codes, start, end, **kw)
    return str(caught.value)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


# SECTION: notice


def test_the_refusal_says_exactly_when_the_earliest_start_is(frozen):
    # Wednesday is too soon and not at the weekend; the first allowed start in
    # Dubai is the next Saturday 00:00 there.
    with pytest.raises(MaintenanceRefused) as caught:
        schedule("ae", utc(2026, 12, 2, 6), utc(2026, 12, 2, 8))
    assert caught.value.reasons[0] == (
        "Hub ae (Dubai): maintenance must start on or after Sat 5 Dec 2026 00:00 +04 to give 5 days' notice."
    )
    assert "is not at the weekend there" in caught.value.reasons[1]


def test_exactly_120_hours_of_notice_is_enough_and_one_minute_less_is_not():
    # Saturday 5 December 00:00 in London is 120 hours after Monday 30 November 00:00 UTC.
    start, end = utc(2026, 12, 5, 0), utc(2026, 12, 5, 2)
    with time_machine.travel(utc(2026, 11, 30, 0, 0), tick=False):
        window = schedule("uk", start, end)
        assert window.announced_at == utc(2026, 11, 30, 0, 0)
    with time_machine.travel(utc(2026, 11, 30, 0, 1), tick=False):
        message = refusal("uk", start, end)
    assert message == (
        "Hub uk (London): maintenance must start on or after Sat 5 Dec 2026 00:01 +00 to give 5 days' notice."
    )


def test_the_notice_period_is_a_setting(frozen, settings):
    settings.MAINTENANCE_NOTICE_HOURS = 24
    assert schedule("uk", utc(2026, 12, 5, 9), utc(2026, 12, 5, 10)).pk
    settings.MAINTENANCE_NOTICE_HOURS = 240
    assert "to give 10 days' notice" in refusal("uk", utc(2026, 12, 5, 9), utc(2026, 12, 5, 10))


# SECTION: weekend, in every hub's local time


@pytest.mark.parametrize("code", ["uk", "de", "us", "ae", "hk", "au", "nz"])
def test_saturday_0000_to_monday_0000_local_is_allowed_and_not_a_minute_more(frozen, code):
    hub = Hub.objects.get(code=code)
    saturday, monday = date(2026, 12, 12), date(2026, 12, 14)
    start, end = local(saturday, hub.time_zone), local(monday, hub.time_zone)
    assert maintenance_rule_refusals(hubs=[hub], starts_at=start, ends_at=end, announced_at=NOW) == []

    before = maintenance_rule_refusals(
        hubs=[hub], starts_at=start - timedelta(minutes=1), ends_at=end, announced_at=NOW
    )
    assert len(before) == 1 and "is not at the weekend there" in before[0]
    assert "Fri 11 Dec 2026 23:59" in before[0]

    after = maintenance_rule_refusals(hubs=[hub], starts_at=start, ends_at=end + timedelta(minutes=1), announced_at=NOW)
    assert len(after) == 1 and "must end by Mon 14 Dec 2026 00:00" in after[0]

    at_monday = maintenance_rule_refusals(hubs=[hub], starts_at=end, ends_at=end + timedelta(hours=1), announced_at=NOW)
    assert len(at_monday) == 1 and "Mon 14 Dec 2026 00:00" in at_monday[0] and "not at the weekend" in at_monday[0]

    window = schedule(code, start, end)
    assert window.hubs.get() == hub


# Weekends on which the clocks change: 47 or 49 hours long in UTC.
DST_WEEKENDS = [
    ("uk", date(2027, 3, 27), 47),  # BST starts Sun 28 Mar 01:00 UTC
    ("uk", date(2027, 10, 30), 49),  # BST ends Sun 31 Oct
    ("us", date(2027, 3, 13), 47),  # EDT starts Sun 14 Mar 02:00 local
    ("us", date(2027, 11, 6), 49),  # EDT ends Sun 7 Nov
    ("au", date(2027, 4, 3), 49),  # AEDT ends Sun 4 Apr 03:00 local
    ("au", date(2027, 10, 2), 47),  # AEDT starts Sun 3 Oct 02:00 local
    ("nz", date(2027, 4, 3), 49),  # NZDT ends Sun 4 Apr 03:00 local
    ("nz", date(2027, 9, 25), 47),  # NZDT starts Sun 26 Sep 02:00 local
]


@pytest.mark.parametrize(("code", "saturday", "hours"), DST_WEEKENDS)
def test_weekends_around_daylight_saving_changes(code, saturday, hours):
    hub = Hub.objects.get(code=code)
    start = local(saturday, hub.time_zone)
    monday = local(saturday + timedelta(days=2), hub.time_zone)
    assert monday - start == timedelta(hours=hours)
    with time_machine.travel(start - timedelta(days=10), tick=False):
        whole = schedule(code, start, monday)
        assert whole.ends_at - whole.starts_at == timedelta(hours=hours)

        # 48 hours from Saturday 00:00 is Monday 01:00 after spring forward, and
        # Sunday 23:00 after fall back (allowed).
        fixed = start + timedelta(hours=48)
        refusals = maintenance_rule_refusals(
            hubs=[hub], starts_at=start, ends_at=fixed, announced_at=start - timedelta(days=10)
        )
        if hours == 47:
            assert len(refusals) == 1 and "shorten it by 1 h" in refusals[0]
        else:
            assert refusals == []

        # The hour after the change, in local time, is still the weekend.
        sunday_noon = local(saturday + timedelta(days=1), hub.time_zone, 12)
        assert schedule(code, sunday_noon, monday).pk


# SECTION: several hubs


def test_nz_and_us_share_only_part_of_their_weekends(frozen):
    # December: Auckland is UTC+13, Ashburn UTC-5. Their weekends overlap from
    # Saturday 05:00 UTC (00:00 in Ashburn) to Sunday 11:00 UTC (Monday 00:00 in Auckland).
    assert earliest_allowed_start(hubs=hubs("nz", "us")) == utc(2026, 12, 5, 5)
    assert earliest_allowed_start(hubs=hubs("nz")) == utc(2026, 12, 4, 16)
    assert earliest_allowed_start(hubs=hubs("us")) == utc(2026, 12, 5, 5)

    window = schedule("nz,us", utc(2026, 12, 12, 5), utc(2026, 12, 13, 11))
    assert {hub.code for hub in window.hubs.all()} == {"nz", "us"}

    too_early = refusal("nz,us", utc(2026, 12, 12, 3), utc(2026, 12, 12, 6))
    assert "Hub us (Ashburn, Virginia): the start, Fri 11 Dec 2026 22:00 -05, is not at the weekend there" in too_early
    assert "Hub nz" not in too_early
    assert (
        "The weekends of hubs us and nz overlap only from Sat 12 Dec 2026 05:00 UTC to Sun 13 Dec 2026 11:00 UTC "
        "(30 h) that week" in too_early
    )

    too_late = refusal("us,nz", utc(2026, 12, 13, 10), utc(2026, 12, 13, 12))
    assert "Hub nz (Auckland): the window must end by Mon 14 Dec 2026 00:00 +13" in too_late
    assert "shorten it by 1 h" in too_late

    too_long = refusal("nz,us", utc(2026, 12, 12, 5), utc(2026, 12, 13, 12))
    assert "It lasts 31 h, longer than their shared weekend: schedule a separate window per hub." in too_long


def test_notice_refusal_for_several_hubs_names_the_shared_earliest_start(frozen):
    message = refusal("uk,ae", utc(2026, 12, 2, 9), utc(2026, 12, 2, 10))
    assert (
        "Hubs uk and ae: maintenance must start on or after Sat 5 Dec 2026 00:00 UTC "
        "(uk Sat 5 Dec 2026 00:00 +00, ae Sat 5 Dec 2026 04:00 +04) to give 5 days' notice at the weekend in every hub."
    ) in message


def test_malformed_windows_are_refused_with_what_to_change(frozen):
    assert refusal("uk", utc(2026, 12, 12, 13), utc(2026, 12, 12, 9)) == (
        "The end, Sat 12 Dec 2026 09:00 UTC, must be after the start, Sat 12 Dec 2026 13:00 UTC."
    )
    with pytest.raises(MaintenanceRefused, match="Choose at least one hub"):
        maintenance_schedule(hubs=[], title="x", starts_at=utc(2026, 12, 12, 9), ends_at=utc(2026, 12, 12, 10))
    with pytest.raises(MaintenanceRefused, match="title"):
        maintenance_schedule(hubs=hubs("uk"), title=" ", starts_at=utc(2026, 12, 12, 9), ends_at=utc(2026, 12, 12, 10))
    assert not MaintenanceWindow.objects.exists()


# SECTION: changes and cancellation


def test_moving_later_or_shortening_needs_no_new_notice_but_earlier_or_longer_does(frozen):
    window = schedule("uk", utc(2026, 12, 12, 9), utc(2026, 12, 12, 13))
    frozen.move_to(utc(2026, 12, 8, 12))  # four days before: the notice is no longer five days

    later = maintenance_change(window=window, starts_at=utc(2026, 12, 12, 10), ends_at=utc(2026, 12, 12, 14))
    assert (later.revision, later.announced_at) == (2, NOW), "moving later keeps the first announcement"
    shorter = maintenance_change(window=window, ends_at=utc(2026, 12, 12, 12))
    assert (shorter.revision, shorter.ends_at) == (3, utc(2026, 12, 12, 12))

    with pytest.raises(MaintenanceRefused) as earlier:
        maintenance_change(window=window, starts_at=utc(2026, 12, 12, 8), ends_at=utc(2026, 12, 12, 12))
    assert "must start on or after Sun 13 Dec 2026 12:00 +00 to give 5 days' notice" in str(earlier.value)
    with pytest.raises(MaintenanceRefused, match="5 days' notice"):
        maintenance_change(window=window, ends_at=utc(2026, 12, 12, 15))
    with pytest.raises(MaintenanceRefused, match="5 days' notice"):
        maintenance_change(window=window, hubs=hubs("uk", "de"))
    with pytest.raises(MaintenanceRefused, match="is not at the weekend there"):
        maintenance_change(window=window, starts_at=utc(2026, 12, 15, 10), ends_at=utc(2026, 12, 15, 12))

    window.refresh_from_db()
    assert (window.starts_at, window.ends_at, window.revision) == (utc(2026, 12, 12, 10), utc(2026, 12, 12, 12), 3)
    kinds = set(NoticeDelivery.objects.filter(window=window).values_list("kind", "revision"))
    assert kinds <= {("announced", 1), ("changed", 2), ("changed", 3)}


def test_moving_earlier_with_enough_notice_is_a_new_announcement(frozen):
    window = schedule("uk", utc(2026, 12, 19, 9), utc(2026, 12, 19, 13))
    frozen.move_to(utc(2026, 11, 30, 9))
    moved = maintenance_change(window=window, starts_at=utc(2026, 12, 12, 9), ends_at=utc(2026, 12, 12, 13))
    assert moved.announced_at == utc(2026, 11, 30, 9)
    assert moved.changed_at == utc(2026, 11, 30, 9)


def test_raising_the_impact_is_a_new_announcement_lowering_it_is_not(frozen):
    window = schedule("uk", impact="degraded")
    frozen.move_to(utc(2026, 12, 10, 9))
    with pytest.raises(MaintenanceRefused, match="5 days' notice"):
        maintenance_change(window=window, impact="read_only")
    window = schedule("uk", impact="unavailable", now=NOW)
    assert maintenance_change(window=window, impact="degraded").impact == "degraded"


def test_a_change_that_changes_nothing_is_not_announced(frozen):
    window = schedule("uk")
    same = maintenance_change(window=window, title="Storage upgrade", starts_at=window.starts_at)
    assert same.revision == 1
    assert not StaffAuditEntry.objects.filter(action="maintenancewindow.change").exists()


def test_cancelling_is_always_allowed_and_announced(frozen):
    window = schedule("uk")
    frozen.move_to(utc(2026, 12, 12, 10))  # running
    cancelled = maintenance_cancel(window=window, reason="Not needed after all")
    assert (cancelled.state, cancelled.cancel_reason, cancelled.revision) == ("cancelled", "Not needed after all", 2)
    assert StaffAuditEntry.objects.get(action="maintenancewindow.cancel").reason == "Not needed after all"
    with pytest.raises(MaintenanceRefused, match="nothing to cancel"):
        maintenance_cancel(window=window)
    with pytest.raises(MaintenanceRefused, match="can no longer be changed"):
        maintenance_change(window=window, title="Other")


def test_a_running_window_may_end_earlier_but_not_later_or_move(frozen):
    window = schedule("uk")
    frozen.move_to(utc(2026, 12, 12, 10))
    assert maintenance_change(window=window, ends_at=utc(2026, 12, 12, 11)).ends_at == utc(2026, 12, 12, 11)
    with pytest.raises(MaintenanceRefused, match="is running; extending it"):
        maintenance_change(window=window, ends_at=utc(2026, 12, 12, 15))
    with pytest.raises(MaintenanceRefused, match="its start can no longer be moved"):
        maintenance_change(window=window, starts_at=utc(2026, 12, 12, 10, 30))
    longer = maintenance_change(
        window=window, ends_at=utc(2026, 12, 12, 15), emergency=True, emergency_reason="Array rebuild is slower"
    )
    assert longer.is_emergency and longer.ends_at == utc(2026, 12, 12, 15)


# SECTION: emergencies


def test_an_emergency_needs_a_written_reason(frozen):
    tomorrow = (utc(2026, 11, 30, 14), utc(2026, 11, 30, 15))  # a Monday, tomorrow
    assert "only with a written reason" in refusal("uk", *tomorrow, emergency=True)
    assert "only with a written reason" in refusal("uk", *tomorrow, emergency=True, emergency_reason="   ")
    assert not StaffAuditEntry.objects.filter(action__startswith="maintenancewindow").exists()


def test_an_emergency_with_a_reason_bypasses_the_rules_is_flagged_and_audited(frozen):
    actor = get_user_model().objects.create_user(
        username="duty@hubport.test", email="duty@hubport.test", password="x-long-pass"
    )
    window = schedule(
        "uk,ae",
        utc(2026, 11, 30, 14),
        utc(2026, 11, 30, 15),
        emergency=True,
        emergency_reason="Firmware fix for a failing RAID controller",
        acting_user=actor,
    )
    assert window.is_emergency and window.emergency_reason == "Firmware fix for a failing RAID controller"
    assert str(window).startswith("EMERGENCY ")
    entry = StaffAuditEntry.objects.get(action="maintenancewindow.emergency_schedule")
    assert (entry.actor, entry.reason, entry.target_id) == (actor, window.emergency_reason, str(window.pk))


def test_an_ordinary_window_is_audited_too(frozen):
    window = schedule("uk")
    entry = StaffAuditEntry.objects.get(action="maintenancewindow.schedule")
    assert entry.target_id == str(window.pk) and entry.reason == ""
