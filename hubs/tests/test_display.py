"""How a person reads sizes (binary units named as such: KiB, MiB, GiB, TiB)
and times (in the active zone, with its label)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from hubs.display import bytes_label, time_label, zone_label


@pytest.mark.parametrize(
    ("size", "label"),
    [
        (0, "0 bytes"),
        (1, "1 byte"),
        (1023, "1,023 bytes"),
        (1024, "1 KiB"),
        (1536, "1.5 KiB"),
        (1_572_864, "1.5 MiB"),
        (1024**2 - 1, "1.0 MiB"),  # never "1,024.0 KiB"
        (20 * 1024**3, "20 GiB"),
        (1024**4, "1 TiB"),
        (3 * 1024**5, "3,072 TiB"),
    ],
)
def test_bytes_label_uses_the_largest_binary_unit(size: int, label: str) -> None:
    assert bytes_label(size) == label


@pytest.mark.parametrize(
    ("size", "label"),
    [
        (10, "10 bytes"),
        (1024, "1 KiB (1,024 bytes)"),
        (1_572_864, "1.5 MiB (1,572,864 bytes)"),
    ],
)
def test_bytes_label_exact_adds_the_bytes_when_a_unit_is_used(size: int, label: str) -> None:
    assert bytes_label(size, exact=True) == label


# SECTION: times

MOMENT = datetime(2026, 11, 24, 10, 42, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "label", "named"),
    [
        ("UTC", "24 Nov 2026, 10:42 UTC", "UTC"),
        ("Asia/Tokyo", "24 Nov 2026, 19:42 JST", "Tokyo time (JST)"),
        ("Australia/Sydney", "24 Nov 2026, 21:42 AEDT", "Sydney time (AEDT)"),
        ("Asia/Dubai", "24 Nov 2026, 14:42 UTC+4", "Dubai time (UTC+4)"),
        ("Asia/Kathmandu", "24 Nov 2026, 16:27 UTC+5:45", "Kathmandu time (UTC+5:45)"),
        ("America/Argentina/Buenos_Aires", "24 Nov 2026, 07:42 UTC-3", "Buenos Aires time (UTC-3)"),
    ],
)
def test_a_time_is_shown_in_the_active_zone_with_its_label(zone: str, label: str, named: str) -> None:
    with timezone.override(ZoneInfo(zone)):
        assert time_label(MOMENT) == label
        assert zone_label(MOMENT) == named


def test_the_label_follows_daylight_saving_at_that_moment() -> None:
    with timezone.override(ZoneInfo("Europe/London")):
        assert time_label(datetime(2026, 7, 10, 12, 0, tzinfo=UTC), "H:i") == "13:00 BST"
        assert time_label(MOMENT, "H:i") == "10:42 GMT"
        assert zone_label(datetime(2026, 7, 10, tzinfo=UTC)) == "London time (BST)"
