"""Throwaway PostgreSQL clusters on loopback: a primary and its streaming
standby, made with the machine's own binaries in a temporary folder.

Used by the disaster-recovery drill (``manage.py dr_drill``) and by tests of
failover. Nothing here touches a server the machine already runs: each cluster
has its own data folder, a free port on 127.0.0.1 and its socket in its own
folder.

``initdb`` refuses to run as root, so as root (CI) every server command runs as
the ``postgres`` system user (``runuser``) and the temporary folder is handed to
that user; as anyone else the commands run as the caller.

The primary names the standby in ``synchronous_standby_names`` with
``synchronous_commit = on``, so a commit returns only once the standby has
flushed its WAL: a write the application saw committed survives the loss of
the primary. The standby has ``synchronous_standby_names`` empty, so once
promoted it commits on its own instead of waiting for a standby it will never
have. The standby streams through a physical replication slot, so the primary
keeps the WAL the standby still needs.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

PG_BIN = Path(os.environ.get("HUBPORT_PG_BIN", "/usr/lib/postgresql/15/bin"))
SERVER_USER = "postgres"
SUPERUSER = "postgres"
STANDBY_NAME = "hubport_standby"
SLOT_NAME = "hubport_standby_slot"
# initdb, a base backup and a start each take 1-5 s on a quiet two-core
# machine; 60 s means the machine is stuck, not slow.
COMMAND_SECONDS = 60
START_SECONDS = 60


class ClusterError(RuntimeError):
    """A cluster command failed; the message ends with the server's log tail."""


def binaries_available(bin_dir: Path = PG_BIN) -> bool:
    return all((bin_dir / name).is_file() for name in ("initdb", "pg_ctl", "pg_basebackup", "postgres"))


def free_port() -> int:
    """A TCP port nobody listens on now (the kernel's pick)."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run_as() -> list[str]:
    """The prefix that runs a server command as an allowed user."""
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", SERVER_USER, "--"]


def _hand_over(path: Path) -> None:
    """Give a folder to the server user when running as root."""
    if os.geteuid() == 0:
        try:
            record = pwd.getpwnam(SERVER_USER)
        except KeyError as exc:
            raise ClusterError(
                f"initdb refuses to run as root, and there is no {SERVER_USER!r} system user to run the clusters as; "
                "run as an ordinary user or create that user"
            ) from exc
        os.chown(path, record.pw_uid, record.pw_gid)


@dataclass
class Cluster:
    name: str
    data_dir: Path
    port: int
    log_file: Path
    bin_dir: Path = PG_BIN
    settings: dict[str, str] = field(default_factory=dict)

    def url(self, database: str = "postgres") -> str:
        return f"postgres://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def command(self, program: str, *arguments: str, timeout: float = COMMAND_SECONDS) -> str:
        argv = [*_run_as(), str(self.bin_dir / program), *arguments]
        try:
            done = subprocess.run(  # noqa: S603 - fixed binaries, arguments built here
                argv, capture_output=True, text=True, timeout=timeout, check=False, cwd=self.data_dir.parent
            )
        except subprocess.TimeoutExpired as exc:
            raise ClusterError(f"{self.name}: {program} did not finish in {timeout:g} s{self.log_tail()}") from exc
        if done.returncode != 0:
            raise ClusterError(
                f"{self.name}: {program} exited {done.returncode}: {done.stderr.strip()[-800:]}{self.log_tail()}"
            )
        return done.stdout

    def log_tail(self, lines: int = 15) -> str:
        try:
            tail = self.log_file.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return ""
        return "\n--- server log ---\n" + "\n".join(tail) if tail else ""

    def start(self) -> None:
        self.command("pg_ctl", "start", "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", "60")
        self.wait_ready()

    def stop(self, mode: str = "fast") -> None:
        """``mode`` ``immediate`` is the crash: no checkpoint, clients cut off."""
        self.command("pg_ctl", "stop", "-D", str(self.data_dir), "-m", mode, "-w", "-t", "60")

    def is_running(self) -> bool:
        argv = [*_run_as(), str(self.bin_dir / "pg_ctl"), "status", "-D", str(self.data_dir)]
        done = subprocess.run(argv, capture_output=True, timeout=COMMAND_SECONDS, check=False)  # noqa: S603
        return done.returncode == 0

    def wait_ready(self, seconds: float = START_SECONDS) -> None:
        deadline = time.monotonic() + seconds
        while True:
            try:
                self.query("SELECT 1")
                return
            except psycopg.OperationalError as exc:
                if time.monotonic() >= deadline:
                    raise ClusterError(
                        f"{self.name} did not accept connections in {seconds:g} s{self.log_tail()}"
                    ) from exc
                time.sleep(0.1)

    def query(self, sql: str, params: Sequence[Any] = (), database: str = "postgres") -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url(database), autocommit=True, connect_timeout=5) as connection:
            cursor = connection.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def create_database(self, database: str) -> None:
        # A database name is an identifier: the callers pass fixed names.
        self.query(f'CREATE DATABASE "{database}"')

    def is_in_recovery(self) -> bool:
        return bool(self.query("SELECT pg_is_in_recovery()")[0][0])


def _conf_lines(settings: dict[str, str]) -> str:
    return "".join(f"{key} = '{value}'\n" for key, value in settings.items())


@dataclass
class ReplicatedPair:
    """A primary and its synchronous streaming standby."""

    root: Path
    primary: Cluster
    standby: Cluster

    def wait_streaming(self, seconds: float = START_SECONDS, sync_state: str = "sync") -> None:
        """Until the primary sees the standby streaming (by default as its synchronous standby)."""
        deadline = time.monotonic() + seconds
        while True:
            rows = self.primary.query(
                "SELECT state, sync_state FROM pg_stat_replication WHERE application_name = %s", [STANDBY_NAME]
            )
            if rows and rows[0] == ("streaming", sync_state):
                return
            if time.monotonic() >= deadline:
                raise ClusterError(
                    f"the standby was not streaming synchronously after {seconds:g} s "
                    f"(pg_stat_replication: {rows}){self.standby.log_tail()}"
                )
            time.sleep(0.1)

    def standby_lag(self) -> tuple[int, float]:
        """(bytes received but not yet replayed, seconds since the last replayed
        commit or 0.0 when every received byte is replayed), read on the standby:
        what a promotion now would lose or delay."""
        [(lag_bytes, lag_s)] = self.standby.query(
            "SELECT COALESCE(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0)::bigint,"
            " CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
            " ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END::float8"
        )
        return int(lag_bytes), float(lag_s)

    def stop_all(self) -> None:
        for cluster in (self.standby, self.primary):
            with suppress(ClusterError, subprocess.SubprocessError, OSError):
                if cluster.is_running():
                    cluster.stop("immediate")


def make_pair(
    root: Path, *, databases: Sequence[str] = (), extra_settings: dict[str, str] | None = None
) -> ReplicatedPair:
    """Make, start and connect a primary and a synchronous standby under ``root``
    (an empty folder the caller removes), with ``databases`` made on the primary
    before the base backup. Raises ClusterError with the server log's tail."""
    if not binaries_available():
        raise ClusterError(f"PostgreSQL binaries not found in {PG_BIN} (set HUBPORT_PG_BIN)")
    _hand_over(root)
    primary = Cluster("primary", root / "primary", free_port(), root / "primary.log")
    standby = Cluster("standby", root / "standby", free_port(), root / "standby.log")
    for cluster in (primary, standby):
        cluster.log_file.touch()
        _hand_over(cluster.log_file)
    common = {
        "listen_addresses": "127.0.0.1",
        "unix_socket_directories": str(root),
        "max_wal_senders": "4",
        "max_replication_slots": "4",
        "wal_level": "replica",
        "hot_standby": "on",
        # Small and quick: these clusters hold a few megabytes.
        "shared_buffers": "16MB",
        "max_connections": "60",
        **(extra_settings or {}),
    }
    pair = ReplicatedPair(root=root, primary=primary, standby=standby)
    try:
        primary.command(
            "initdb", "-D", str(primary.data_dir), "-U", SUPERUSER, "--auth=trust", "--no-instructions", "-E", "UTF8"
        )
        primary_settings = {
            **common,
            "port": str(primary.port),
            "synchronous_commit": "on",
        }
        with open(primary.data_dir / "postgresql.auto.conf", "a") as conf:
            conf.write(_conf_lines(primary_settings))
        primary.start()
        for database in databases:
            primary.create_database(database)
        # -C -S: the slot is made by the backup itself, so no WAL is lost between
        # the backup and the standby's first connection.
        standby.data_dir.mkdir()
        _hand_over(standby.data_dir)
        os.chmod(standby.data_dir, 0o700)
        primary.command(
            "pg_basebackup",
            "-h",
            "127.0.0.1",
            "-p",
            str(primary.port),
            "-U",
            SUPERUSER,
            "-D",
            str(standby.data_dir),
            "-R",
            "-X",
            "stream",
            # A fast checkpoint: a spread one takes minutes on a busy machine.
            "-c",
            "fast",
            "-C",
            "-S",
            SLOT_NAME,
        )
        standby_settings = {
            **common,
            "port": str(standby.port),
            "cluster_name": STANDBY_NAME,
            "synchronous_standby_names": "",
        }
        with open(standby.data_dir / "postgresql.auto.conf", "a") as conf:
            conf.write(_conf_lines(standby_settings))
        standby.start()
        # Synchronous only now: with the standby named and not yet connected,
        # every commit on the primary (CREATE DATABASE above) would wait for it.
        pair.wait_streaming(sync_state="async")
        primary.query(f"ALTER SYSTEM SET synchronous_standby_names = '{STANDBY_NAME}'")
        primary.query("SELECT pg_reload_conf()")
        pair.wait_streaming()
    except BaseException:
        pair.stop_all()
        raise
    return pair


@contextmanager
def replicated_pair(
    *, databases: Sequence[str] = (), extra_settings: dict[str, str] | None = None
) -> Iterator[ReplicatedPair]:
    """A primary and synchronous standby for the length of the block; both are
    stopped (immediately) and their folder removed afterwards, whatever happened."""
    root = Path(tempfile.mkdtemp(prefix="hubport-pg-"))
    pair: ReplicatedPair | None = None
    try:
        pair = make_pair(root, databases=databases, extra_settings=extra_settings)
        yield pair
    finally:
        if pair is not None:
            pair.stop_all()
        shutil.rmtree(root, ignore_errors=True)


def rebuild_as_standby(cluster: Cluster, *, upstream: Cluster) -> None:
    """Make ``cluster`` (a former primary, stopped or not) a streaming standby of
    ``upstream`` again, as a DBA does after a failover: its data folder
    replaced by a base backup of the upstream (``pg_basebackup -R``), on its
    own port, then started and waited for until it streams."""
    if cluster.is_running():
        cluster.stop("fast")
    shutil.rmtree(cluster.data_dir)
    cluster.data_dir.mkdir()
    _hand_over(cluster.data_dir)
    os.chmod(cluster.data_dir, 0o700)
    slot = f"{SLOT_NAME}_{cluster.name}"
    with suppress(psycopg.Error):
        upstream.query("SELECT pg_drop_replication_slot(%s)", [slot])
    upstream.command(
        "pg_basebackup",
        "-h",
        "127.0.0.1",
        "-p",
        str(upstream.port),
        "-U",
        SUPERUSER,
        "-D",
        str(cluster.data_dir),
        "-R",
        "-X",
        "stream",
        "-c",
        "fast",
        "-C",
        "-S",
        slot,
    )
    # The backup carries the upstream's own settings: this one keeps its port and name.
    with open(cluster.data_dir / "postgresql.auto.conf", "a") as conf:
        conf.write(_conf_lines({"port": str(cluster.port), "cluster_name": f"{STANDBY_NAME}_{cluster.name}"}))
    cluster.start()
    deadline = time.monotonic() + START_SECONDS
    while (
        not cluster.query("SELECT status FROM pg_stat_wal_receiver")
        or cluster.query("SELECT status FROM pg_stat_wal_receiver")[0][0] != "streaming"
    ):
        if time.monotonic() >= deadline:
            raise ClusterError(f"{cluster.name} did not stream from {upstream.name}{cluster.log_tail()}")
        time.sleep(0.1)
