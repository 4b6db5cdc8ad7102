"""Template filters for how a person reads sizes: ``{% load display %}``,
then ``{{ size|bytes_label }}`` ("1.5 MiB") or ``{{ size|bytes_label:"exact" }}``
("1.5 MiB (1,572,864 bytes)"). The rule itself is hubs.display's, shared with
the admin and the store's messages."""

from __future__ import annotations

from django import template

from hubs import display

register = template.Library()


@register.filter
def bytes_label(size: int | None, precision: str = "") -> str:
    """ "1.5 MiB": binary units, named as such. Empty for no size."""
    if size is None or size == "":
        return ""
    return display.bytes_label(int(size), exact=precision == "exact")
