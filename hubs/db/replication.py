"""One side of a hub's database as replication sees it, read and changed with
short-lived psycopg connections of their own (never the alias's, which follows
the serving side): in recovery or not, how far it has replayed, promotion, and
the fence that stops a side that is being left from taking writes.

Every call connects with a 5 s timeout: a side that does not answer is down,
and a failover must not wait on it longer than that.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

# How far behind (WAL bytes) a standby may be before a fail-back fences the side
# that serves: 16 MiB, one WAL segment, replays in well under the wait below.
CATCH_UP_BEFORE_FENCE_BYTES = 16 * 1024 * 1024
POLL_SECONDS = 0.1


@dataclass(frozen=True)
class SideState:
    """What one side of a hub database says of itself."""

    in_recovery: bool
    # The WAL position written (a primary) or replayed (a standby).
    position: str
    # A standby's WAL received but not yet replayed, and the age of its last
    # replayed commit while some is (0.0 when it has replayed all it received).
    lag_bytes: int
    lag_seconds: float
    streaming: bool
    # The hub's database made read-only by an earlier failover's fence.
    fenced: bool = False


def _connect(conninfo: dict[str, Any]) -> psycopg.Connection[Any]:
    connection = psycopg.connect(**conninfo, autocommit=True)
    # A fenced database makes new sessions read-only; these must still change it.
    connection.execute("SET default_transaction_read_only = off")
    return connection


def side_state(conninfo: dict[str, Any]) -> SideState:
    """Raises psycopg.Error when the side does not answer."""
    with _connect(conninfo) as connection:
        row = connection.execute(
            "SELECT pg_is_in_recovery(),"
            " CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END::text,"
            " COALESCE(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0)::bigint,"
            " CASE WHEN NOT pg_is_in_recovery() OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
            " ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END::float8,"
            " EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming'),"
            " EXISTS (SELECT 1 FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase"
            "  WHERE d.datname = current_database() AND s.setrole = 0"
            "  AND 'default_transaction_read_only=on' = ANY (s.setconfig))"
        ).fetchone()
    assert row is not None
    return SideState(
        in_recovery=bool(row[0]),
        position=str(row[1] or "0/0"),
        lag_bytes=max(0, int(row[2])),
        lag_seconds=max(0.0, float(row[3])),
        streaming=bool(row[4]),
        fenced=bool(row[5]),
    )


def side_answers(conninfo: dict[str, Any]) -> SideState | None:
    try:
        return side_state(conninfo)
    except psycopg.Error:
        return None


def bytes_behind(*, upstream: SideState, standby: SideState) -> int:
    """WAL the standby has not replayed of what the upstream has written."""
    return max(0, _lsn(upstream.position) - _lsn(standby.position))


def _lsn(text: str) -> int:
    high, low = text.split("/")
    return (int(high, 16) << 32) + int(low, 16)


def side_fence(conninfo: dict[str, Any]) -> SideState:
    """Stop a live primary taking writes to the hub's database: new sessions
    read-only (``ALTER DATABASE ... SET default_transaction_read_only``, which
    outlives a restart) and the database's other sessions ended, so none keeps
    writing in an old transaction. Returns its state after the fence (the WAL
    position the standby must reach). The setting replicates with the WAL, so
    the side promoted next clears it (``side_unfence``) before anyone uses it.
    Needs the database's owner or a superuser, and pg_signal_backend."""
    database = sql.Identifier(conninfo["dbname"])
    with _connect(conninfo) as connection:
        connection.execute(sql.SQL("ALTER DATABASE {} SET default_transaction_read_only = on").format(database))
        connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE backend_type = 'client backend' AND datname = current_database() AND pid <> pg_backend_pid()"
        )
    return side_state(conninfo)


def side_unfence(conninfo: dict[str, Any]) -> None:
    """Take writes again (undoes ``side_fence``; harmless where there was none)."""
    database = sql.Identifier(conninfo["dbname"])
    with _connect(conninfo) as connection:
        connection.execute(sql.SQL("ALTER DATABASE {} RESET default_transaction_read_only").format(database))


def side_wait_replayed(conninfo: dict[str, Any], *, position: str, seconds: float) -> SideState:
    """Poll the standby until it has replayed ``position`` or ``seconds`` pass;
    returns its last state."""
    deadline = time.monotonic() + seconds
    wanted = _lsn(position)
    while True:
        state = side_state(conninfo)
        if _lsn(state.position) >= wanted or time.monotonic() >= deadline:
            return state
        time.sleep(POLL_SECONDS)


def side_promote(conninfo: dict[str, Any], *, seconds: int) -> bool:
    """``pg_promote(true, seconds)``: True once the standby takes writes."""
    with _connect(conninfo) as connection:
        row = connection.execute("SELECT pg_promote(true, %s)", [seconds]).fetchone()
    return bool(row and row[0])
