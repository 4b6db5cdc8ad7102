"""The width of a bar as a class, never a ``style`` attribute: ``{% load fill %}``,
then ``<span class="{{ percent|fill_class }}">`` ("fill-37"). The site's
Content-Security-Policy refuses inline styles (``style-src 'self'``), so the
101 widths live in ``static/css/fill.css``, one class per whole percent. A
share above zero shows at least 1 %, so a little used never looks like none."""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()


def fill_percent(value: object) -> int:
    """A percentage (int, float, Decimal or its text) as a whole number from 0 to 100."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return 0
    if not number.is_finite() or number <= 0:
        return 0
    if number >= 100:
        return 100
    return max(1, min(100, math.floor(number + Decimal("0.5"))))


@register.filter
def fill_class(value: object) -> str:
    """ "fill-37" for 37.4, "fill-1" for 0.2, "fill-0" for none or nonsense."""
    return f"fill-{fill_percent(value)}"
