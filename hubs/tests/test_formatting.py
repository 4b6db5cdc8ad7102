"""How times, durations and hubs are written in refusals and notices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hubs.formatting import format_hours, format_local, format_offset, format_utc, hubs_phrase
from hubs.models import Hub

MOMENT = datetime(2026, 12, 4, 20, 0, tzinfo=UTC)


def test_local_time_carries_its_offset_and_utc_says_so():
    assert format_local(MOMENT, ZoneInfo("Asia/Dubai")) == "Sat 5 Dec 2026 00:00 +04"
    assert format_local(MOMENT, ZoneInfo("America/New_York")) == "Fri 4 Dec 2026 15:00 -05"
    assert format_offset(MOMENT.astimezone(ZoneInfo("Asia/Kolkata"))) == "+0530"
    assert format_utc(MOMENT.astimezone(ZoneInfo("Pacific/Auckland"))) == "Fri 4 Dec 2026 20:00 UTC"


def test_hours_are_whole_when_they_can_be():
    assert format_hours(timedelta(hours=30)) == "30 h"
    assert format_hours(timedelta(minutes=90)) == "1.5 h"


def test_hubs_are_listed_as_a_sentence_says_them():
    hubs = [Hub(code=code) for code in ("uk", "de", "ae")]
    assert hubs_phrase(hubs[:1]) == "uk"
    assert hubs_phrase(hubs) == "uk, de and ae"
