"""How the maintenance rules and notices write times, durations and hubs.

Hub-local time is for people and for the weekend rule only: every moment is
stored and compared in UTC, and written here, at the edge, as "Sat 5 Dec 2026
00:00 +04" (the hub's local time with its offset) or "Sat 5 Dec 2026 20:00 UTC".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hubs.models import Hub


def format_offset(moment: datetime) -> str:
    """+04, -05, +0530 style, as in "Sat 5 Dec 2026 00:00 +04"."""
    offset = moment.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}{rest:02d}" if rest else f"{sign}{hours:02d}"


def format_local(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b %Y %H:%M} {format_offset(local)}"


def format_utc(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    return f"{utc:%a} {utc.day} {utc:%b %Y %H:%M} UTC"


def format_hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:g} h" if hours == int(hours) else f"{hours:.1f} h"


def hub_name(hub: Hub) -> str:
    return f"Hub {hub.code} ({hub.city})"


def hubs_phrase(hubs: Sequence[Hub]) -> str:
    codes = [hub.code for hub in hubs]
    return codes[0] if len(codes) == 1 else ", ".join(codes[:-1]) + " and " + codes[-1]
