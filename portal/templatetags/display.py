"""Template filters for how a person reads sizes and times: ``{% load display %}``,
then ``{{ size|bytes_label }}`` ("1.5 MiB") or ``{{ size|bytes_label:"exact" }}``
("1.5 MiB (1,572,864 bytes)"), and ``{{ moment|time_label }}`` ("24 Nov 2026,
19:42 JST") or ``{{ moment|time_label:"H:i" }}`` ("19:42 JST"), in the zone the
request activated (portal.middleware.time_zone). The rules themselves are
hubs.display's, shared with the admin and the store's messages."""

from __future__ import annotations

from datetime import datetime

from django import template

from hubs import display

register = template.Library()


@register.filter
def bytes_label(size: int | None, precision: str = "") -> str:
    """ "1.5 MiB": binary units, named as such. Empty for no size."""
    if size is None or size == "":
        return ""
    return display.bytes_label(int(size), exact=precision == "exact")


@register.filter
def time_label(moment: datetime | None, pattern: str = display.MOMENT_FORMAT) -> str:
    """ "24 Nov 2026, 19:42 JST": the moment in the active zone, with its label. Empty for none."""
    if not isinstance(moment, datetime):
        return ""
    return display.time_label(moment, pattern)
