"""How a person reads sizes and times: one rule for every page, the admin,
the API's documentation and the store's messages.

Sizes are binary and say so (KiB, MiB, GiB, TiB): the store's limits are
powers of two (a 20 GiB largest file, a 1 TiB quota), which decimal units
would show as 21.5 GB and 1.1 TB.

Times are shown in the active zone (django.utils.timezone; the portal
activates the reader's own zone for each request, and everything else runs in
UTC) and carry its label: "24 Nov 2026, 19:42 JST", "10:42 UTC+4". So a
sentence never mixes zones, and no time is ambiguous.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import formats, timezone

BINARY_UNITS = (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024))


def bytes_label(size: int, *, exact: bool = False) -> str:
    """ "1 TiB", "20 GiB", "1.5 MiB": the largest binary unit, whole when it
    divides, else to one decimal. ``exact`` adds the bytes, "1.5 MiB
    (1,572,864 bytes)", for a refusal whose reader may need the precise figure."""
    for unit, unit_size in BINARY_UNITS:
        # Also when the unit below would round up to 1,024 of it: 1,048,575
        # bytes is "1.0 MiB", never "1,024.0 KiB".
        if size >= unit_size or round(size / (unit_size // 1024), 1) >= 1024:
            value = size / unit_size
            label = f"{value:,.0f} {unit}" if size % unit_size == 0 else f"{value:,.1f} {unit}"
            return f"{label} ({size:,} bytes)" if exact else label
    return f"{size:,} byte{'s' if size != 1 else ''}"


# The format pages use for a moment, as Django's date filter reads it.
MOMENT_FORMAT = "j M Y, H:i"


def zone_abbreviation(moment: datetime) -> str:
    """ "JST", "AEDT", "GMT": the active zone's name for itself at ``moment``;
    "UTC+4", "UTC-3:30" for zones that have only numbers."""
    local = timezone.localtime(moment)
    name = local.tzname() or ""
    if name and name[0] not in "+-":
        return name
    minutes = int((local.utcoffset() or timedelta(0)).total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{'+' if minutes > 0 else '-'}{hours}" + (f":{rest:02d}" if rest else "")


def time_label(moment: datetime, pattern: str = MOMENT_FORMAT) -> str:
    """ "24 Nov 2026, 19:42 JST": ``moment`` in the active zone, in Django's
    date format ``pattern``, with the zone's label."""
    local = timezone.localtime(moment)
    return f"{formats.date_format(local, pattern)} {zone_abbreviation(local)}"


def zone_label(moment: datetime | None = None) -> str:
    """ "Tokyo time (JST)", "Dubai time (UTC+4)", "UTC": the active zone, named
    once for a page, with its label at ``moment`` (now by default)."""
    abbreviation = zone_abbreviation(moment or timezone.now())
    key = timezone.get_current_timezone_name()
    if "/" not in key or key.startswith("Etc/"):
        return abbreviation
    place = key.rsplit("/", 1)[1].replace("_", " ")
    return f"{place} time ({abbreviation})"
