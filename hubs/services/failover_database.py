"""The database half of a hub's failover: promote the side that takes over,
after fencing the side being left when it still answers, and say what the
promotion may have lost. Used by ``hubs.services.hubs.hub_fail_over`` alone.

A hub without a standby (``HUB_<CODE>_STANDBY_DATABASE_URL`` unset; always so
on SQLite) fails over its storage only: its one database serves both sides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from django.conf import settings

from hubs.db.replication import (
    CATCH_UP_BEFORE_FENCE_BYTES,
    SideState,
    bytes_behind,
    side_answers,
    side_fence,
    side_promote,
    side_unfence,
    side_wait_replayed,
)
from hubs.db.sides import ALTERNATE, PRIMARY, has_standby, side_conninfo
from hubs.errors import HubFailoverError
from hubs.routing import hub_database_alias

REBUILD_ADVICE = (
    "Rebuild it as a standby of the side that serves now (pg_rewind, or pg_basebackup -R into an empty "
    "folder; docs/failover.md), wait until it has caught up, then try again."
)


@dataclass(frozen=True)
class DatabaseSwitch:
    promoted: bool
    lag_bytes: int | None = None
    lag_seconds: float | None = None
    detail: str = ""


def database_switch(*, hub_code: str, to_role: str) -> DatabaseSwitch:
    """Make the ``to_role`` side of the hub's database the one that takes
    writes, or refuse (HubFailoverError) with nothing changed."""
    alias = hub_database_alias(hub_code)
    if not has_standby(alias):
        return DatabaseSwitch(promoted=False, detail="no standby database: the storage alone failed over")
    leaving_role = ALTERNATE if to_role == PRIMARY else PRIMARY
    target, leaving = side_conninfo(alias, to_role), side_conninfo(alias, leaving_role)
    target_state = side_answers(target)
    if target_state is None:
        raise HubFailoverError(
            f"The {to_role} database of hub {hub_code} does not answer; the hub stays where it is. "
            "Start it (or fix its address) and try again."
        )
    leaving_state = side_answers(leaving)
    leaving_writable = leaving_state is not None and not leaving_state.in_recovery
    if not target_state.in_recovery:
        if to_role == PRIMARY:
            raise HubFailoverError(
                f"Hub {hub_code}'s primary database takes writes of its own: it is not a standby of the "
                f"alternate, so it has not received what was written since the failover. {REBUILD_ADVICE}"
            )
        if target_state.fenced:
            raise HubFailoverError(
                f"Hub {hub_code}'s alternate database was left read-only by an earlier fail-back and has not "
                f"received what the primary took since. {REBUILD_ADVICE}"
            )
        # Promoted already (by a DBA, or by a failover that stopped after promoting).
        if leaving_writable:
            _fence(hub_code, leaving, leaving_role)
        return DatabaseSwitch(promoted=False, detail="the alternate database was promoted already")
    if to_role == PRIMARY:
        _refuse_unless_in_sync(hub_code, target_state, leaving_state if leaving_writable else None)
    seconds = settings.HUBPORT_FAILOVER_PROMOTE_SECONDS
    behind = 0
    detail = f"the {leaving_role} database did not answer; promoted the {to_role} standby"
    fenced = False
    if leaving_writable:
        fenced_state = _fence(hub_code, leaving, leaving_role)
        fenced = True
        target_state = side_wait_replayed(target, position=fenced_state.position, seconds=seconds)
        behind = bytes_behind(upstream=fenced_state, standby=target_state)
        if behind and to_role == PRIMARY:
            _unfence_quietly(leaving)
            raise HubFailoverError(
                f"Hub {hub_code}'s primary database was still {behind:,} bytes of WAL behind {seconds} s after "
                "the alternate stopped taking writes; the alternate takes writes again and the hub stays on it. "
                "Check the standby's replication, then try again."
            )
        detail = f"fenced the {leaving_role} database (read-only) and promoted the {to_role} standby"
    lag_bytes, lag_seconds = max(target_state.lag_bytes, behind), target_state.lag_seconds
    try:
        promoted = side_promote(target, seconds=seconds)
        if promoted:
            side_unfence(target)  # the fence replicated to it with the WAL
    except psycopg.Error as exc:
        promoted = False
        detail = type(exc).__name__
    if not promoted:
        if fenced:
            _unfence_quietly(leaving)
        raise HubFailoverError(
            f"The {to_role} database of hub {hub_code} was not promoted within {seconds} s ({detail}); "
            "the hub stays where it is. Read that server's log."
        )
    return DatabaseSwitch(promoted=True, lag_bytes=lag_bytes, lag_seconds=lag_seconds, detail=detail)


def _refuse_unless_in_sync(hub_code: str, target: SideState, upstream: SideState | None) -> None:
    if upstream is None:
        if target.lag_bytes:
            raise HubFailoverError(
                f"Hub {hub_code}'s primary database has {target.lag_bytes:,} bytes of WAL still to replay; "
                "wait until it has replayed them, then fail back."
            )
        return
    behind = bytes_behind(upstream=upstream, standby=target)
    if not target.streaming or behind > CATCH_UP_BEFORE_FENCE_BYTES:
        state = "streaming" if target.streaming else "not streaming"
        raise HubFailoverError(
            f"Hub {hub_code}'s primary database is not in sync with the alternate ({state}, {behind:,} bytes "
            f"of WAL behind). {REBUILD_ADVICE}"
        )


def _fence(hub_code: str, conninfo: dict[str, Any], role: str) -> SideState:
    try:
        return side_fence(conninfo)
    except psycopg.Error as exc:
        raise HubFailoverError(
            f"The {role} database of hub {hub_code} still answers and could not be made read-only "
            f"({type(exc).__name__}), so both sides would take writes; nothing changed. Stop it "
            "(pg_ctl stop -m fast) or grant the role the rights docs/failover.md lists, then try again."
        ) from exc


def _unfence_quietly(conninfo: dict[str, Any]) -> None:
    try:
        side_unfence(conninfo)
    except psycopg.Error:
        pass  # it stays read-only: the refusal already says the hub did not move
