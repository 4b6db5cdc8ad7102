"""Benchmark of monitoring: one full probe round of every hub and of the control
plane, and the bytes uptime keeps a hub a day. Prints one JSON object.

Run it on a scratch install: the rounds are recorded as scheduled ones are
(results, minutes, flips, incidents). The storage figure is measured inside a
transaction that is rolled back: ``--days`` simulated days of every hub (a
full day of minute bits, ``--flips`` probe flips a day) are written to the
control database, and the growth of the two tables with their indexes is
divided by the hub-days written (PostgreSQL: pg_total_relation_size; SQLite:
the dbstat table).
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from hubs.models import Hub, HubUptimeDay, ProbeFlip
from hubs.monitoring.hub_probes import worker_round_trip_check
from hubs.services.probes import probe_round_run
from hubs.services.uptime import BITMAP_BYTES
from portal.benchmarks import emit
from portal.celery import all_queue_names

# A hub whose probe flaps once an hour: 24 failures and 24 recoveries a day.
# A healthy hub has none; this is the pessimistic case.
FLIPS_A_DAY = 48
TABLES = (HubUptimeDay._meta.db_table, ProbeFlip._meta.db_table)
# Simulated days lie here, far before any real row, and are rolled back.
SIMULATED_FROM = date(2000, 1, 1)
MB = 1_000_000


def table_bytes(table: str) -> int:
    """Bytes of a table with its indexes in the control database."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_total_relation_size(%s::regclass)", [table])
        else:
            cursor.execute(
                "SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name IN "
                "(SELECT name FROM sqlite_master WHERE tbl_name = %s)",
                [table],
            )
        return int(cursor.fetchone()[0])


def tables_bytes() -> dict[str, int]:
    return {table: table_bytes(table) for table in TABLES}


class _RolledBack(Exception):
    pass


def storage_per_hub_day(*, days: int, flips: int) -> dict[str, Any]:
    rng = random.Random(9)
    hubs = list(Hub.objects.values_list("code", flat=True))
    measured: dict[str, Any] = {}
    try:
        with transaction.atomic():
            before = tables_bytes()
            for offset in range(days):
                day = SIMULATED_FROM + timedelta(days=offset)
                start = datetime(day.year, day.month, day.day, tzinfo=UTC)
                HubUptimeDay.objects.bulk_create(
                    HubUptimeDay(
                        hub_id=code,
                        day=day,
                        observed=b"\xff" * BITMAP_BYTES,
                        down=rng.randbytes(4) + bytes(BITMAP_BYTES - 4),
                    )
                    for code in hubs
                )
                ProbeFlip.objects.bulk_create(
                    ProbeFlip(
                        hub_id=code,
                        name="storage.primary.round_trip",
                        ok=bool(flip % 2),
                        at=start + timedelta(seconds=rng.randrange(86400)),
                    )
                    for code in hubs
                    for flip in range(flips)
                )
            after = tables_bytes()
            grown = {table: (after[table] - before[table]) / (len(hubs) * days) for table in TABLES}
            measured["bytes_per_hub_day"] = round(sum(grown.values()))
            measured["minutes_bytes_per_hub_day"] = round(grown[HubUptimeDay._meta.db_table])
            measured["flips_bytes_per_hub_day"] = round(grown[ProbeFlip._meta.db_table])
            raise _RolledBack
    except _RolledBack:
        pass
    measured["per_year_7_hubs_mb"] = round(measured["bytes_per_hub_day"] * 7 * 365 / MB, 2)
    measured["simulated_days"] = days
    measured["flips_per_hub_day"] = flips
    return measured


WORKER_READY_S = 90


@contextlib.contextmanager
def worker_running() -> Iterator[None]:
    """A real Celery worker on every queue for the run, as a deployment has:
    the worker round trips and the file transactions need one. Ready once it
    answers a ping through a hub's queue; stopped (warm, then killed) after."""
    worker = subprocess.Popen(  # noqa: S603 - our own interpreter, our own arguments
        [sys.executable, "-m", "celery", "-A", "portal", "worker", "-Q", ",".join(all_queue_names())]
        + ["--concurrency", "2", "--loglevel", "WARNING", "--without-gossip", "--without-mingle"],
        env=os.environ.copy(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + WORKER_READY_S
        ping = worker_round_trip_check(settings.HUB_CODES[0])
        while not ping().ok:
            if worker.poll() is not None or time.monotonic() > deadline:
                raise CommandError(f"The Celery worker did not answer within {WORKER_READY_S} s.")
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()


class Command(BaseCommand):
    help = "Time one full probe round of every hub and measure uptime's storage a hub a day; prints JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print one JSON object (the default prints lines).")
        parser.add_argument("--days", type=int, default=60, help="Simulated days of every hub for the storage.")
        parser.add_argument("--flips", type=int, default=FLIPS_A_DAY, help="Simulated flips a hub a day.")
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="Start no Celery worker: one must be consuming every queue already, or the worker round trips "
            "and file transactions fail.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        figures: dict[str, Any] = {"database": connection.vendor}
        codes: list[str | None] = [*Hub.objects.values_list("code", flat=True), None]
        rounds: dict[str, float] = {}
        probes = failed = 0
        failed_names: list[str] = []
        # One after another: beat runs them side by side on separate workers, so
        # round_s (their sum) is an upper bound of a full round's wall time.
        with contextlib.nullcontext() if options["no_worker"] else worker_running():
            started = time.perf_counter()
            for code in codes:
                round_started = time.perf_counter()
                rows = probe_round_run(hub_code=code)
                rounds[code or "control"] = round(time.perf_counter() - round_started, 3)
                probes += len(rows)
                failed += sum(1 for row in rows if not row.ok)
                failed_names.extend(f"{code or 'control'}/{row.name}" for row in rows if not row.ok)
            figures["round_s"] = round(time.perf_counter() - started, 3)
        figures["slowest_round_s"] = max(rounds.values())
        figures["rounds_s"] = rounds
        figures["probes"] = probes
        figures["failed"] = failed
        figures["failed_probes"] = failed_names
        figures.update(storage_per_hub_day(days=options["days"], flips=options["flips"]))
        emit(figures, options["json"], self.stdout)
