"""How a person reads sizes: one rule for every page, the admin, the API's
documentation and the store's messages.

Sizes are binary and say so (KiB, MiB, GiB, TiB): the store's limits are
powers of two (a 20 GiB largest file, a 1 TiB quota), which decimal units
would show as 21.5 GB and 1.1 TB.
"""

from __future__ import annotations

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
