"""The disaster-recovery drill, end to end (``manage.py dr_drill``).

Everything the drill uses is its own and thrown away afterwards: a temporary
folder with two PostgreSQL clusters (``hubs.testing.pg_clusters``: the hub's
primary and its synchronous standby), the control database and the other hubs
on SQLite, the hub's two storage folders, the embedded broker and one real
Celery worker on the hub's queue. Each stage that needs Django runs as its own
``manage.py`` process in that environment, as production runs them:

1. ``migrate_all``; a worker on ``hub.uk`` starts and stays up;
2. ``dr_drill --stage load``: writers upload, overwrite and delete; the primary
   cluster is stopped with ``-m immediate`` while they write, the primary
   storage folder removed, the primary facility marked unavailable;
3. ``hub_failover --hub uk --to alternate --reason drill --json``;
4. ``dr_drill --stage verify``: the file transaction probe until it passes (the
   recovery time ends there), then every acknowledged write read back;
5. ``store_check --hub uk --json``.

Every stage runs under one hard deadline (``--timeout``); past it the drill
stops what runs, says which stage it was in and fails.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

from hubs.testing.pg_clusters import ClusterError, ReplicatedPair, make_pair
from portal.drill.workload import HUB_CODE

HUB_DATABASE = f"hub_{HUB_CODE}"
# What the drill keeps back for store_check at the end: it reads a few hundred
# small blobs in about 3 s.
STORE_CHECK_SECONDS = 15
# Variables of the caller's environment that would point the drill's processes
# at servers or folders other than its own.
_FOREIGN_PREFIXES = ("HUB_", "HUBPORT_", "DATABASE_", "CELERY_", "CACHE_URL", "DJANGO_SETTINGS_MODULE")


class DrillFailed(Exception):
    """A stage could not run (as opposed to a check that found a loss).
    ``said``: the end of what the stage printed before it was stopped."""

    def __init__(self, message: str, *, said: str = "") -> None:
        super().__init__(message)
        self.said = said


@dataclass
class DrillOptions:
    threads: int = 4
    calls_before_disaster: int = 400
    timeout_s: float = 175.0
    seed: int = 11
    keep: bool = False


@dataclass
class Drill:
    options: DrillOptions
    progress: Callable[[str], object]
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="hubport-drill-")))
    started: float = field(default_factory=time.monotonic)
    stage: str = "start"
    worker: subprocess.Popen[bytes] | None = None
    pair: ReplicatedPair | None = None

    @property
    def deadline(self) -> float:
        return self.started + self.options.timeout_s

    def remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise DrillFailed(f"the drill passed its hard limit of {self.options.timeout_s:g} s in stage {self.stage}")
        return left

    def say(self, message: str) -> None:
        self.progress(f"[dr_drill {time.monotonic() - self.started:6.1f} s] {message}")

    def env(self) -> dict[str, str]:
        assert self.pair is not None
        kept = {key: value for key, value in os.environ.items() if not key.startswith(_FOREIGN_PREFIXES)}
        return {
            **kept,
            "DJANGO_SETTINGS_MODULE": "portal.settings.embedded",
            "HUBPORT_DATA_DIR": str(self.root / "data"),
            f"HUB_{HUB_CODE.upper()}_DATABASE_URL": self.pair.primary.url(HUB_DATABASE),
            f"HUB_{HUB_CODE.upper()}_STANDBY_DATABASE_URL": self.pair.standby.url(HUB_DATABASE),
            "PYTHONUNBUFFERED": "1",
        }

    def manage(self, *arguments: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``manage.py`` in the drill's environment, bounded by the deadline."""
        argv = [sys.executable, str(settings.BASE_DIR / "manage.py"), *arguments]
        try:
            done = subprocess.run(  # noqa: S603 - our own interpreter and manage.py
                argv, env=self.env(), capture_output=True, text=True, timeout=self.remaining(), check=False
            )
        except subprocess.TimeoutExpired as exc:
            # What the stage had said (each verify round's finding) is the clue.
            said = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else exc.stderr or ""
            raise DrillFailed(
                f"the drill passed its hard limit of {self.options.timeout_s:g} s in stage {self.stage}",
                said=said.strip()[-1500:],
            ) from exc
        if check and done.returncode != 0:
            raise DrillFailed(f"stage {self.stage}: manage.py {arguments[0]} exited {done.returncode}: {_tail(done)}")
        return done

    def step(self, name: str, action: Callable[[], Any]) -> Any:
        self.stage = name
        self.remaining()
        began = time.monotonic()
        result = action()
        self.say(f"{name} done in {time.monotonic() - began:.1f} s")
        return result

    def worker_start(self) -> None:
        log = open(self.root / "worker.log", "wb")  # noqa: SIM115 - the worker writes it until the drill ends
        celery = Path(sys.executable).parent / "celery"
        self.worker = subprocess.Popen(  # noqa: S603 - our own celery
            [str(celery), "-A", "portal", "worker", "-Q", f"hub.{HUB_CODE}", "--concurrency", "1", "-l", "INFO"],
            env=self.env(),
            cwd=settings.BASE_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def close(self, *, failed: bool) -> None:
        began = time.monotonic()
        if self.worker is not None and self.worker.poll() is None:
            # The worker's own warm shutdown stops its pool; its group only if that hangs.
            self.worker.terminate()
            try:
                self.worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(self.worker.pid, signal.SIGKILL)
                self.worker.wait(timeout=10)
        if self.pair is not None:
            self.pair.stop_all()
        self.say(f"worker and clusters stopped in {time.monotonic() - began:.1f} s")
        if self.options.keep or failed:
            self.say(f"kept the drill's folder (its logs) for a look: {self.root}")
            if not self.options.keep:
                # Only the logs: the clusters and the storage can be hundreds of MiB.
                for name in ("pg", "data"):
                    shutil.rmtree(self.root / name, ignore_errors=True)
        else:
            shutil.rmtree(self.root, ignore_errors=True)


def _tail(done: subprocess.CompletedProcess[str], characters: int = 1500) -> str:
    return (done.stderr.strip() or done.stdout.strip())[-characters:]


def _log_tail(path: Path, lines: int = 40) -> list[str]:
    """The worker's last lines past its start-up banner (the drill's files
    only: synthetic names and bytes, no customer's)."""
    if not path.exists():
        return []
    text = path.read_text(errors="replace").splitlines()
    banner_end = max((number for number, line in enumerate(text) if "[queues]" in line), default=-1)
    banner = ("exchange=", "[tasks]", "  . ")
    return [
        line
        for line in text[banner_end + 1 :]
        if line.strip() and not line.startswith(banner) and "exchange=" not in line
    ][-lines:]


def _json_line(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The last line of a command's output that is a JSON object."""
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("{"):
            parsed: dict[str, Any] = json.loads(line)
            return parsed
    raise DrillFailed(f"manage.py printed no JSON: {_tail(done)}")


def run_drill(options: DrillOptions, progress: Callable[[str], object]) -> dict[str, Any]:
    """Run the drill; returns its report (``ok`` false when anything was lost,
    a check failed or a stage could not run)."""
    drill = Drill(options=options, progress=progress)
    drill.root.chmod(0o755)  # the clusters' folder inside belongs to the server's user
    report: dict[str, Any] = {"ok": False}
    failed = True

    def stopped(signum: int, frame: object) -> None:
        raise DrillFailed(f"stopped by signal {signum} in stage {drill.stage}")

    # A CI timeout's SIGTERM still stops the clusters and the worker below.
    previous = signal.signal(signal.SIGTERM, stopped)
    try:
        report = _stages(drill)
        failed = not report["ok"]
    except (DrillFailed, ClusterError) as exc:
        report = {"ok": False, "error": str(exc), "stage": drill.stage}
        if isinstance(exc, DrillFailed) and exc.said:
            report["stage_said"] = exc.said
    finally:
        drill.close(failed=failed)
        report["seconds"] = round(time.monotonic() - drill.started, 1)
        if failed or options.keep:
            report["folder"] = str(drill.root)
        if failed:
            # The folder stays on the machine that ran the drill; CI's log keeps this.
            report["worker_log"] = _log_tail(drill.root / "worker.log")
        signal.signal(signal.SIGTERM, previous)
    return report


def _stages(drill: Drill) -> dict[str, Any]:
    options = drill.options
    (drill.root / "pg").mkdir()
    drill.pair = drill.step("clusters", lambda: make_pair(drill.root / "pg", databases=[HUB_DATABASE]))
    drill.step("migrate", lambda: drill.manage("dr_drill", "--stage", "migrate", "--workdir", str(drill.root)))
    drill.step("worker", drill.worker_start)
    load_file = drill.root / "load.json"
    drill.step(
        "load",
        lambda: drill.manage(
            "dr_drill",
            "--stage",
            "load",
            "--workdir",
            str(drill.root),
            "--threads",
            str(options.threads),
            "--calls",
            str(options.calls_before_disaster),
            "--seed",
            str(options.seed),
            "--timeout",
            str(drill.remaining()),
        ),
    )
    load = json.loads(load_file.read_text())
    if load["errors_before_disaster"]:
        raise DrillFailed(f"writes failed before the disaster: {load['errors_before_disaster'][:5]}")
    failover = drill.step(
        "failover",
        lambda: _json_line(
            drill.manage(
                "hub_failover", "--hub", HUB_CODE, "--to", "alternate", "--reason", "drill", "--json", check=False
            )
        ),
    )
    if not failover.get("ok"):
        raise DrillFailed(f"hub_failover refused: {failover.get('error')}")
    verify_done = drill.step(
        "verify",
        lambda: drill.manage(
            "dr_drill",
            "--stage",
            "verify",
            "--workdir",
            str(drill.root),
            "--timeout",
            str(drill.remaining() - STORE_CHECK_SECONDS),
        ),
    )
    verify = json.loads((drill.root / "verify.json").read_text())
    del verify_done
    store_check = drill.step(
        "store_check", lambda: drill.manage("store_check", "--hub", HUB_CODE, "--json", check=False)
    )
    store_report = _json_line(store_check)
    return _report(drill, load=load, failover=failover, verify=verify, store_check=store_report)


def _report(
    drill: Drill, *, load: dict[str, Any], failover: dict[str, Any], verify: dict[str, Any], store_check: dict[str, Any]
) -> dict[str, Any]:
    event = failover.get("event") or {}
    point = event.get("recovery_point") or {}
    passed_at = verify["probe"]["passed_at"]
    recovery_time = round(passed_at - load["disaster_at"], 1) if passed_at is not None else None
    ledger = load["ledger"]
    lost, wrong_paths = verify["lost"], verify["wrong_paths"]
    ok = (
        not lost
        and not wrong_paths
        and passed_at is not None
        and bool(store_check.get("ok"))
        and load["threads_stuck"] == 0
        and ledger["acknowledged_writes"] > 0
    )
    return {
        "ok": ok,
        "acknowledged_writes": ledger["acknowledged_writes"],
        "acknowledged_deletes": ledger["acknowledged_deletes"],
        "in_doubt": ledger["in_doubt_calls"],
        "verified": verify["verified"],
        "lost": len(lost),
        "lost_writes": lost[:20],
        "paths_verified": verify["paths_verified"],
        "wrong_paths": wrong_paths[:20],
        "recovery_time_s": recovery_time,
        "recovery_point": {
            "lag_bytes": point.get("lag_bytes"),
            "lag_s": point.get("lag_s"),
            "blobs_not_copied": point.get("blobs_not_copied"),
        },
        "file_transaction": {"rounds": verify["probe"]["rounds"], "detail": verify["probe"]["last_detail"]},
        "store_check": {"ok": store_check.get("ok"), "problems": store_check.get("problems", [])[:20]},
        "failover_event": {"id": event.get("id"), "recovery_time_s": verify["event_recovery_time_s"]},
        "calls_before_disaster": load["calls_before_disaster"],
        "calls_per_s": round(load["calls_before_disaster"] / max(load["load_seconds"], 0.1), 1),
    }
