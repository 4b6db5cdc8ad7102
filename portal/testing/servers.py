"""The real web server for tests: gunicorn with gunicorn.conf.py and
portal.wsgi, as ``make run`` and production start it, in a process group of
its own (stopped, or killed as a power cut would, group and all).

Used by the WebDAV tests (``portal/tests/dav``), the download verification
test and the fault suite's stack, each with the environment it needs:
``live_env`` gives a server on the running test's databases.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connections

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
GUNICORN = VENV_BIN / "gunicorn"
GUNICORN_COMMAND = (str(GUNICORN), "-c", "gunicorn.conf.py", "portal.wsgi:application")
START_SECONDS = 45


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url(alias: str) -> str:
    """The URL of one of the running test's databases, for another process."""
    db = connections[alias].settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def live_env(data_dir: Path, port: int, *, workers: int = 1) -> dict[str, str]:
    """The environment of a server (or worker) on the running test's databases,
    facility folders and broker, with its own data folder."""
    for folder in ("broker/out", "broker/processed", "broker/control"):
        (data_dir / folder).mkdir(parents=True, exist_ok=True)
    broker = settings.CELERY_BROKER_URL
    env = {name: value for name, value in os.environ.items() if not name.startswith(("HUB_", "HUBPORT_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings.test",
        HUBPORT_DATA_DIR=str(data_dir),
        HUBPORT_BIND=f"127.0.0.1:{port}",
        HUBPORT_WEB_WORKERS=str(workers),
        # The in-memory broker of a SQLite run lives in one process; these are two.
        CELERY_BROKER_URL="filesystem://" if broker.startswith("memory://") else broker,
        DATABASE_URL=database_url("default"),
        PYTHONUNBUFFERED="1",
    )
    for code in settings.HUB_CODES:
        env[f"HUB_{code.upper()}_DATABASE_URL"] = database_url(f"hub_{code}")
    for alias, url in settings.HUB_STORAGE_URLS.items():
        env[f"{alias.upper()}_STORAGE_URL"] = url
    return env


def process_start(command: Sequence[str], *, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A process in a group of its own, its output appended to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(  # noqa: S603 - the commands are the tests' own
            list(command),
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def port_wait(port: int, *, processes: Sequence[subprocess.Popen[bytes]], log: Path, seconds: float) -> None:
    """Until something accepts connections on ``port``; fails with the log if a process ends first."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            assert all(process.poll() is None for process in processes), log.read_text(errors="replace")
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.1)  # polling a process that is starting, with a deadline


def process_stop(process: subprocess.Popen[bytes], *, seconds: float = 10) -> None:
    """SIGTERM to the process's group, SIGKILL if it has not ended within ``seconds``."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=seconds)


def process_kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL to the master and its workers at once, as a power cut would."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def gunicorn_start(*, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return process_start(GUNICORN_COMMAND, env=env, log=log)


def worker_pids(master: subprocess.Popen[bytes]) -> list[int]:
    """The pids of gunicorn's workers: the master's children."""
    children = Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()
    return [int(pid) for pid in children]


@dataclass
class RunningServer:
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    env: dict[str, str]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def live_server(
    data_dir: Path, log: Path, *, workers: int = 1, extra_env: dict[str, str] | None = None
) -> Iterator[RunningServer]:
    """gunicorn on the running test's databases (``live_env``), answering, then stopped."""
    port = free_port()
    env = {**live_env(data_dir, port, workers=workers), **(extra_env or {})}
    process = gunicorn_start(env=env, log=log)
    try:
        port_wait(port, processes=[process], log=log, seconds=START_SECONDS)
        yield RunningServer(port=port, process=process, log=log, env=env)
    finally:
        process_stop(process, seconds=30)
