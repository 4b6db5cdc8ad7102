"""Counters per minute in the shared cache (Redis in production): the web
tier and the sign-in form add to them, the probes read the last minutes.

One key per counter and minute, kept 15 minutes: a probe never reads further
back than its window, and nothing here is a record anyone audits, so a cache
flush costs at most one window of figures.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.core.cache import cache
from django.utils import timezone

KEPT_SECONDS = 15 * 60 + 60
CONTROL = "control"


def minute_of(moment: datetime | None = None) -> int:
    return int((moment or timezone.now()).timestamp() // 60)


def counter_key(prefix: str, scope: str, minute: int, name: str) -> str:
    return f"hubport:{prefix}:{scope}:{minute}:{name}"


def counters_add(*, prefix: str, scope: str, names: Iterable[str], moment: datetime | None = None) -> None:
    """Add one to each named counter of ``scope`` for the current minute."""
    minute = minute_of(moment)
    for name in names:
        counter_add(prefix=prefix, scope=scope, minute=minute, name=name)


def counter_add(*, prefix: str, scope: str, minute: int, name: str, amount: int = 1) -> None:
    """Add ``amount`` to one counter of one minute."""
    key = counter_key(prefix, scope, minute, name)
    try:
        cache.incr(key, amount)
    except ValueError:
        # Not there yet: the first of the minute makes it; losing the race to
        # another process's add means it exists, so add to it.
        if not cache.add(key, amount, timeout=KEPT_SECONDS):
            cache.incr(key, amount)


def counters_sum(
    *, prefix: str, scope: str, names: Iterable[str], minutes: int, moment: datetime | None = None
) -> dict[str, int]:
    """Each named counter of ``scope`` summed over the last ``minutes`` minutes,
    the current one included."""
    last = minute_of(moment)
    wanted = list(names)
    keys = {
        counter_key(prefix, scope, minute, name): name
        for minute in range(last - minutes + 1, last + 1)
        for name in wanted
    }
    found = cache.get_many(list(keys))
    totals = dict.fromkeys(wanted, 0)
    for key, value in found.items():
        totals[keys[key]] += int(value)
    return totals
