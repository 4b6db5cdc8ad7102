"""What the uptime tests share: minutes written straight into the day bitmaps
(the service writes one minute per round; a test of a year needs them in bulk)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, date, datetime

from hubs.models import HubUptimeDay
from hubs.services.uptime import BITMAP_BYTES, minute_of
from hubs.uptime import MinuteState


def store_minutes(hub_code: str, states: Mapping[datetime, MinuteState]) -> None:
    """UP and DOWN minutes become bits; UNKNOWN and MAINTENANCE store nothing
    (maintenance comes from the windows, unknown is the absence of a round)."""
    observed: dict[date, int] = defaultdict(int)
    down: dict[date, int] = defaultdict(int)
    for minute, state in states.items():
        day, index = minute_of(minute)
        if state in (MinuteState.UP, MinuteState.DOWN):
            observed[day] |= 1 << index
        if state is MinuteState.DOWN:
            down[day] |= 1 << index
    for day, bits in observed.items():
        HubUptimeDay.objects.update_or_create(
            hub_id=hub_code,
            day=day,
            defaults={
                "observed": bits.to_bytes(BITMAP_BYTES, "little"),
                "down": down[day].to_bytes(BITMAP_BYTES, "little"),
            },
        )


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)
