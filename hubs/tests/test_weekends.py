"""The promise at its edges, with a frozen clock: five days' notice (120 hours)
and a weekend in every affected hub's local time. The pure rules first, then
through the one service the admin, the API and the command use."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from conftest import all_databases
from hubs.errors import MaintenanceRefused
from hubs.models import Hub
from hubs.tests.windows import NOW, hubs, local, refusal, schedule, utc
from hubs.weekends import (
    earliest_allowed_start,
    hub_weekends,
    maintenance_rule_refusals,
    notice_words,
    shared_weekends,
    weekend_of,
)

pytestmark = all_databases


# SECTION: the pure rules


def test_weekend_of_is_saturday_to_monday_local_and_none_on_a_weekday():
    dubai = ZoneInfo("Asia/Dubai")
    # Friday 4 December 2026, 20:00 UTC is Saturday 00:00 in Dubai.
    assert weekend_of(utc(2026, 12, 4, 19, 59), dubai) is None
    assert weekend_of(utc(2026, 12, 4, 20), dubai) == (utc(2026, 12, 4, 20), utc(2026, 12, 6, 20))
    assert weekend_of(utc(2026, 12, 6, 19, 59), dubai) == (utc(2026, 12, 4, 20), utc(2026, 12, 6, 20))
    assert weekend_of(utc(2026, 12, 6, 20), dubai) is None


def test_hub_weekends_lists_every_weekend_overlapping_the_span_in_order():
    london = ZoneInfo("Europe/London")
    weekends = hub_weekends(london, utc(2026, 12, 6, 12), utc(2026, 12, 19, 1))
    assert weekends == [
        (utc(2026, 12, 5), utc(2026, 12, 7)),
        (utc(2026, 12, 12), utc(2026, 12, 14)),
        (utc(2026, 12, 19), utc(2026, 12, 21)),
    ]


def test_shared_weekends_are_the_overlap_of_every_hub():
    auckland = Hub(code="nz", city="Auckland", time_zone="Pacific/Auckland")
    ashburn = Hub(code="us", city="Ashburn", time_zone="America/New_York")
    shared = shared_weekends([auckland, ashburn], utc(2026, 12, 10), utc(2026, 12, 16))
    assert shared == [(utc(2026, 12, 12, 5), utc(2026, 12, 13, 11))]
    assert shared_weekends([], utc(2026, 12, 10), utc(2026, 12, 16)) == []


def test_the_notice_is_said_in_days_when_it_is_whole_days(settings):
    assert notice_words() == "5 days' notice"
    settings.MAINTENANCE_NOTICE_HOURS = 24
    assert notice_words() == "1 day' notice"
    settings.MAINTENANCE_NOTICE_HOURS = 36
    assert notice_words() == "36 hours' notice"


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
