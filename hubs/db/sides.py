"""Which side of a hub's database serves it now, as every process sees it.

A hub alias with a standby (``HUB_<CODE>_STANDBY_DATABASE_URL``) keeps both
connection settings: the primary's in the alias's own keys, the standby's
under ``STANDBY``. The side that serves is the hub's ``serving_facility``
(primary or alternate) in the control database, read at most once every
``HUBPORT_FAILOVER_SIDE_CACHE_SECONDS`` (5) per process with the hub's
``failover_generation``, which every failover bumps. So every process uses
the new side within that many seconds of a failover's commit (at its next
query outside a transaction), and at once in the process that ran it.

This module is imported by the settings, so it imports no model at its top.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings

PRIMARY = "primary"
ALTERNATE = "alternate"
FAILOVER_ENGINE = "hubs.db.failover"
# What a side changes of the alias's settings: the server and who signs in.
# The database name stays the primary's: a physical standby holds the same databases.
SIDE_KEYS = ("HOST", "PORT", "USER", "PASSWORD")


class ServingSideUnknown(RuntimeError):
    """The control database does not say which side serves a hub, and this
    process never knew: connecting to either side could split the hub's writes."""


def hub_database_with_standby(*, hub_code: str, primary: dict[str, Any], standby: dict[str, Any]) -> dict[str, Any]:
    """The settings of a hub alias with a standby (used by the settings module)."""
    if primary.get("ENGINE") != "django.db.backends.postgresql" or standby.get("ENGINE") != primary.get("ENGINE"):
        raise ValueError(
            f"HUB_{hub_code.upper()}_STANDBY_DATABASE_URL needs a PostgreSQL primary and standby "
            "(postgres://...): a standby is a streaming-replication copy of the primary."
        )
    if standby.get("NAME") and standby["NAME"] != primary.get("NAME"):
        raise ValueError(
            f"HUB_{hub_code.upper()}_STANDBY_DATABASE_URL names database {standby['NAME']!r} and the primary "
            f"{primary.get('NAME')!r}: a physical standby holds the primary's databases under their own names."
        )
    return {
        **primary,
        "ENGINE": FAILOVER_ENGINE,
        "HUB_CODE": hub_code,
        "STANDBY": {key: standby.get(key, "") for key in SIDE_KEYS},
    }


def has_standby(alias: str) -> bool:
    return bool(settings.DATABASES.get(alias, {}).get("STANDBY"))


def side_settings(settings_dict: dict[str, Any], side: str) -> dict[str, Any]:
    """The alias's settings as they are for ``side`` (primary: as configured)."""
    if side == PRIMARY or not settings_dict.get("STANDBY"):
        return settings_dict
    return {**settings_dict, **{key: settings_dict["STANDBY"][key] for key in SIDE_KEYS}}


def side_conninfo(alias: str, side: str, *, connect_timeout: int = 5) -> dict[str, Any]:
    """psycopg keyword arguments for one side of a hub alias, the test database
    name included when the test runner has swapped it in."""
    from django.db import connections

    chosen = side_settings(connections[alias].settings_dict, side)
    conninfo: dict[str, Any] = {"dbname": chosen["NAME"], "connect_timeout": connect_timeout}
    for key, name in (("HOST", "host"), ("PORT", "port"), ("USER", "user"), ("PASSWORD", "password")):
        if chosen.get(key):
            conninfo[name] = chosen[key]
    return conninfo


@dataclass(frozen=True)
class ServingSide:
    side: str
    generation: int
    read_at: float  # time.monotonic()


_known: dict[str, ServingSide] = {}
_known_lock = threading.Lock()


def serving_side(hub_code: str, *, fresh: bool = False) -> ServingSide:
    """The side that serves ``hub_code``, read from the control database at most
    once every HUBPORT_FAILOVER_SIDE_CACHE_SECONDS (``fresh``: now).

    When the control database cannot be read, the side this process last knew
    stands; a process that never knew refuses (ServingSideUnknown) rather than
    guess, except on a control database without the hubs table yet (a fresh
    install migrating), where no failover can have happened."""
    now = time.monotonic()
    known = _known.get(hub_code)
    if known is not None and not fresh and now - known.read_at < settings.HUBPORT_FAILOVER_SIDE_CACHE_SECONDS:
        return known
    from django.db import DatabaseError

    try:
        read = _read(hub_code)
    except DatabaseError as exc:
        if known is not None:
            return known
        if not _hubs_table_exists():
            return ServingSide(PRIMARY, 0, now)
        raise ServingSideUnknown(
            f"The control database did not say which side serves hub {hub_code}: {type(exc).__name__}"
        ) from exc
    current = ServingSide(read[0], read[1], now)
    with _known_lock:
        _known[hub_code] = current
    return current


def serving_side_forget(hub_code: str | None = None) -> None:
    """Read the side again at next use (this process ran a failover, or a test moved it)."""
    with _known_lock:
        if hub_code is None:
            _known.clear()
        else:
            _known.pop(hub_code, None)


def _read(hub_code: str) -> tuple[str, int]:
    from hubs.models import Hub

    row = Hub.objects.using("default").filter(pk=hub_code).values_list("serving_facility", "failover_generation")
    found = list(row)
    if not found:
        return PRIMARY, 0
    return str(found[0][0]), int(found[0][1])


def _hubs_table_exists() -> bool:
    from django.db import DatabaseError, connections

    from hubs.models import Hub

    try:
        with connections["default"].cursor() as cursor:
            return Hub._meta.db_table in connections["default"].introspection.table_names(cursor)
    except DatabaseError:
        return True  # the control database does not answer at all: nothing is known
