"""A hub's database failed over to its standby and back, on real PostgreSQL
streaming replication: two clusters made with initdb and pg_basebackup -R on
loopback (hubs.testing.pg_clusters), the control database and the other hubs
on SQLite in a data folder of the test's own, and every step in its own
process, as in production: ``manage.py hub_failover`` promotes, and a process
that was already running (no restart, no request cycle) follows the serving
side within HUBPORT_FAILOVER_SIDE_CACHE_SECONDS.

Runs in both suites (it needs only the machine's PostgreSQL binaries); skipped
where they are missing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hubs.testing.pg_clusters import Cluster, ReplicatedPair, binaries_available, rebuild_as_standby, replicated_pair

pytestmark = [
    pytest.mark.skipif(not binaries_available(), reason="PostgreSQL binaries not found"),
    pytest.mark.timeout(240),
]

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "hubport_uk"
SIDE_CACHE_SECONDS = 1.0
# A process follows within the cache's second; the rest is a loaded two-core
# machine's scheduling and a reconnect.
FOLLOW_BOUND_SECONDS = SIDE_CACHE_SECONDS + 9

# Inserts one row a tenth of a second through the hub's alias, saying which
# server took it: a long-running process of the hub (a worker's thread, say)
# that nobody restarts and that never passes a request boundary.
FOLLOWER = """
import json, sys, time
import django
django.setup()
from django.db import connections
n = 0
while True:
    n += 1
    try:
        with connections["hub_uk"].cursor() as cursor:
            cursor.execute("INSERT INTO follow_marks (n, port) VALUES (%s, inet_server_port()) RETURNING port", [n])
            port = cursor.fetchone()[0]
        print(json.dumps({"n": n, "port": port}), flush=True)
    except Exception as exc:
        print(json.dumps({"n": n, "error": type(exc).__name__}), flush=True)
    time.sleep(0.1)
"""


@pytest.fixture
def pair() -> Iterator[ReplicatedPair]:
    with replicated_pair(databases=[DATABASE]) as made:
        made.primary.query("CREATE TABLE follow_marks (n integer PRIMARY KEY, port integer)", database=DATABASE)
        yield made


@pytest.fixture
def hub_env(pair: ReplicatedPair, tmp_path: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.endswith("_DATABASE_URL") and key not in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL")
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings.embedded",
            "HUBPORT_DATA_DIR": str(tmp_path / "data"),
            "HUB_UK_DATABASE_URL": pair.primary.url(DATABASE),
            "HUB_UK_STANDBY_DATABASE_URL": pair.standby.url(DATABASE),
            "HUBPORT_FAILOVER_SIDE_CACHE_SECONDS": str(SIDE_CACHE_SECONDS),
            "PYTHONUNBUFFERED": "1",
        }
    )
    # The control database and the hub's: the other hubs' SQLite files are not used here.
    migrate = (
        "from django.core.management import call_command; from hubs.folders import local_folders_create; "
        "local_folders_create(); "
        "[call_command('migrate', database=alias, verbosity=0) for alias in ('default', 'hub_uk')]"
    )
    # Migrations commit a few hundred times: without waiting for the standby's
    # flush each time they take seconds rather than half a minute.
    asynchronous = {"HUB_UK_DATABASE_URL": env["HUB_UK_DATABASE_URL"] + "?options=-c%20synchronous_commit%3Doff"}
    manage("shell", "--no-imports", "-c", migrate, env={**env, **asynchronous})
    return env


def manage(*arguments: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(  # noqa: S603 - this interpreter and manage.py
        [sys.executable, "manage.py", *arguments], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    if check and done.returncode != 0:
        raise AssertionError(f"manage.py {' '.join(arguments)} exited {done.returncode}: {done.stderr[-2000:]}")
    return done


class Follower:
    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-c", FOLLOWER], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
        )
        self.lines: list[dict] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(json.loads(line))

    def wait_for_port(self, port: int, *, after: int = 0, seconds: float) -> float:
        """Seconds until a write after row ``after`` landed on ``port``."""
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            if any(line.get("port") == port and line["n"] > after for line in list(self.lines)):
                return time.monotonic() - started
            time.sleep(0.05)
        raise AssertionError(f"no write reached port {port} within {seconds} s; last lines {self.lines[-5:]}")

    def last_n(self) -> int:
        return self.lines[-1]["n"] if self.lines else 0

    def acknowledged(self, port: int) -> set[int]:
        return {line["n"] for line in list(self.lines) if line.get("port") == port}

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)


def fail_over(env: dict[str, str], to: str) -> tuple[int, dict]:
    done = manage("hub_failover", "--hub", "uk", "--to", to, "--reason", "test", "--json", env=env, check=False)
    return done.returncode, json.loads(done.stdout)


def read_only_default(cluster: Cluster) -> str:
    return str(cluster.query("SHOW default_transaction_read_only", database=DATABASE)[0][0])


def rows_on(cluster: Cluster) -> set[int]:
    return {row[0] for row in cluster.query("SELECT n FROM follow_marks", database=DATABASE)}


def test_a_hub_fails_over_to_its_standby_and_back_without_losing_a_write(pair, hub_env) -> None:
    follower = Follower(hub_env)
    try:
        follower.wait_for_port(pair.primary.port, seconds=30)

        code, printed = fail_over(hub_env, "alternate")

        assert code == 0, printed
        event = printed["event"]
        assert printed["serving"] == "alternate" and event["promoted"] is True
        assert event["database"] == "fenced the primary database (read-only) and promoted the alternate standby"
        assert isinstance(event["recovery_point"]["lag_bytes"], int)
        assert event["recovery_point"]["blobs_not_copied"] == 0
        assert not pair.standby.is_in_recovery()
        assert read_only_default(pair.primary) == "on"  # the old side takes no more writes
        assert read_only_default(pair.standby) == "off"  # the fence that replicated to it is lifted
        switched_at = follower.last_n()
        took = follower.wait_for_port(pair.standby.port, after=switched_at, seconds=FOLLOW_BOUND_SECONDS)
        assert took <= FOLLOW_BOUND_SECONDS
        # Synchronous replication and the fence: every write the primary acknowledged is on the standby.
        on_standby = rows_on(pair.standby)
        assert follower.acknowledged(pair.primary.port) <= on_standby
        assert len(follower.acknowledged(pair.primary.port)) >= 5

        # The primary still runs as a primary of its own: failing back would lose the writes since.
        code, refused = fail_over(hub_env, "primary")
        assert code == 1 and refused["error"]["code"] == "failover_refused"
        assert "not a standby of the alternate" in refused["error"]["detail"]
        assert "pg_rewind" in refused["error"]["detail"]
        assert refused["serving"] == "alternate"

        rebuild_as_standby(pair.primary, upstream=pair.standby)
        assert pair.primary.is_in_recovery()
        before_back = follower.last_n()
        follower.wait_for_port(pair.standby.port, after=before_back, seconds=FOLLOW_BOUND_SECONDS)

        code, printed = fail_over(hub_env, "primary")

        assert code == 0, printed
        assert printed["serving"] == "primary" and printed["event"]["promoted"] is True
        assert printed["event"]["direction"] == "to_primary"
        assert not pair.primary.is_in_recovery()
        assert read_only_default(pair.primary) == "off"
        back_at = follower.last_n()
        follower.wait_for_port(pair.primary.port, after=back_at, seconds=FOLLOW_BOUND_SECONDS)
        assert follower.acknowledged(pair.standby.port) <= rows_on(pair.primary)

        # The alternate, fenced by the fail-back, is stale: it is no failover target until rebuilt.
        code, refused = fail_over(hub_env, "alternate")
        assert code == 1 and "left read-only by an earlier fail-back" in refused["error"]["detail"]
        # Nor is a standby that does not answer; the primary is not fenced for nothing.
        pair.standby.stop("immediate")
        code, refused = fail_over(hub_env, "alternate")
        assert code == 1
        assert "The alternate database of hub uk does not answer" in refused["error"]["detail"]
        assert refused["serving"] == "primary" and read_only_default(pair.primary) == "off"
        follower.wait_for_port(pair.primary.port, after=follower.last_n(), seconds=FOLLOW_BOUND_SECONDS)
    finally:
        follower.stop()


def test_a_crashed_primary_fails_over_to_its_standby_with_every_acknowledged_write(pair, hub_env) -> None:
    follower = Follower(hub_env)
    try:
        follower.wait_for_port(pair.primary.port, seconds=30)
        follower.wait_for_port(pair.primary.port, after=follower.last_n() + 10, seconds=30)
        pair.primary.stop("immediate")  # the crash: no checkpoint, clients cut off
        crashed_at = follower.last_n()
        acknowledged = follower.acknowledged(pair.primary.port)

        code, printed = fail_over(hub_env, "alternate")

        assert code == 0, printed
        event = printed["event"]
        assert event["promoted"] is True
        assert event["database"] == "the primary database did not answer; promoted the alternate standby"
        assert event["recovery_point"]["lag_bytes"] == 0  # synchronous: the standby had replayed it all
        follower.wait_for_port(pair.standby.port, after=crashed_at, seconds=FOLLOW_BOUND_SECONDS)
        assert acknowledged <= rows_on(pair.standby)
        # While the primary was down and the side not yet switched, writes failed; none was acknowledged and lost.
        assert all(line.get("port") != pair.primary.port for line in follower.lines if line["n"] > crashed_at + 1)
    finally:
        follower.stop()


def failover_wrapper(pair: ReplicatedPair) -> tuple[Any, Callable[[], int]]:
    """A connection of the failover engine for hub uk over ``pair``, in a
    handler of its own (the suite's hub_uk stays as it is; "default" only
    completes the settings), and a function that says which server answers it."""
    import environ
    from django.db.utils import ConnectionHandler

    from hubs.db.sides import hub_database_with_standby

    handler = ConnectionHandler(
        {
            "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
            "failover_under_test": hub_database_with_standby(
                hub_code="uk",
                primary=environ.Env.db_url_config(pair.primary.url(DATABASE)),
                standby=environ.Env.db_url_config(pair.standby.url(DATABASE)),
            ),
        }
    )
    wrapper = handler["failover_under_test"]

    def server_port() -> int:
        with wrapper.cursor() as cursor:
            cursor.execute("SELECT inet_server_port()")
            return int(cursor.fetchone()[0])

    return wrapper, server_port


@pytest.mark.django_db(databases=["default", "hub_uk"])
def test_a_connection_opened_for_the_old_side_is_closed_when_the_side_changes(pair, settings) -> None:
    from django.db.models import F

    from hubs.db.sides import serving_side_forget
    from hubs.models import Hub

    settings.HUBPORT_FAILOVER_SIDE_CACHE_SECONDS = 0.0  # each check reads the control database
    wrapper, server_port = failover_wrapper(pair)

    try:
        serving_side_forget("uk")
        assert server_port() == pair.primary.port
        Hub.objects.filter(code="uk").update(
            serving_facility="alternate", failover_generation=F("failover_generation") + 1
        )

        wrapper.close_if_unusable_or_obsolete()  # what request_started and request_finished call
        assert wrapper.connection is None
        assert server_port() == pair.standby.port

        Hub.objects.filter(code="uk").update(
            serving_facility="primary", failover_generation=F("failover_generation") + 1
        )
        assert server_port() == pair.primary.port  # the next cursor outside a transaction moves too
    finally:
        wrapper.close()
        serving_side_forget("uk")


@pytest.mark.django_db(databases=["default", "hub_uk"])
def test_a_connection_refused_by_the_old_side_reads_the_side_again_and_connects_to_the_new_one(pair, settings) -> None:
    from django.db import OperationalError
    from django.db.models import F

    from hubs.db.sides import serving_side_forget
    from hubs.models import Hub

    # A cache that would not expire during the test: only the refusal can make
    # the process read the side again.
    settings.HUBPORT_FAILOVER_SIDE_CACHE_SECONDS = 600.0
    wrapper, server_port = failover_wrapper(pair)

    try:
        serving_side_forget("uk")
        assert server_port() == pair.primary.port
        wrapper.close()
        pair.primary.stop("immediate")
        # Refused, and the hub has not moved: the error stands (nothing to follow).
        with pytest.raises(OperationalError):
            server_port()
        # Another process fails the hub over; this one still has the old side cached.
        Hub.objects.filter(code="uk").update(
            serving_facility="alternate", failover_generation=F("failover_generation") + 1
        )
        wrapper.close()
        assert server_port() == pair.standby.port
    finally:
        wrapper.close()
        serving_side_forget("uk")
