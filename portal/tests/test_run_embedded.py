"""``bin/run-embedded`` (what ``make run`` starts) serves the portal, and SIGINT to
its process group, as Ctrl-C sends it, leaves no web server, worker or beat behind.

The script runs against a migrated data folder of its own under tmp_path, on a
free port, always on the embedded default: the PostgreSQL and Redis URLs of the
CI's second run are removed from its environment.
"""

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent.parent
VENV_BIN = REPO / ".venv" / "bin"

# Start-up takes about 5 s on a 2-core machine (Django set-up once for the queue
# names, then the worker, beat and gunicorn in parallel); 45 s leaves room for
# a machine busy with other test runs.
START_DEADLINE_S = 45
STOP_DEADLINE_S = 25

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(
        not (VENV_BIN / "celery").exists(), reason="bin/run-embedded runs from .venv (make test makes it)"
    ),
]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _embedded_env(data_dir: Path, port: int) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "HUB_", "DATABASE_", "CELERY_", "CACHE_", "EMAIL_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings.embedded",
        HUBPORT_DATA_DIR=str(data_dir),
        HUBPORT_PORT=str(port),
        PYTHONUNBUFFERED="1",
    )
    return env


def _group_members(pgid: int) -> dict[int, str]:
    """Live processes of a process group, with their command lines (Linux /proc)."""
    members = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue  # exited while we looked
        # Fields after the parenthesised command name: state, ppid, pgrp, ...
        state, _ppid, pgrp = stat.rsplit(")", 1)[1].split()[:3]
        if int(pgrp) == pgid and state != "Z":
            members[int(entry.name)] = cmdline
    return members


def _roles(members: dict[int, str]) -> set[str]:
    roles = set()
    for cmdline in members.values():
        if " worker " in f"{cmdline} ":
            roles.add("worker")
        if " beat " in f"{cmdline} ":
            roles.add("beat")
        if "gunicorn" in cmdline:
            roles.add("web")
    return roles


def _answers_200(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (a localhost URL built here)
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@pytest.fixture
def embedded(tmp_path) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    data_dir, port, log_path = tmp_path / "data", _free_port(), tmp_path / "run-embedded.log"
    env = _embedded_env(data_dir, port)
    subprocess.run(
        [str(VENV_BIN / "python"), "manage.py", "migrate_all", "--verbosity", "0"],
        cwd=REPO,
        env=env,
        check=True,
        timeout=120,
    )
    with log_path.open("wb") as log:
        # A new session makes the script the leader of its own process group,
        # as a terminal does for `make run`.
        process = subprocess.Popen(
            ["bash", "bin/run-embedded"],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process, port, log_path
    finally:
        if _group_members(process.pid):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def test_sigint_to_the_group_stops_web_server_worker_and_beat(embedded):
    process, port, log_path = embedded
    url = f"http://127.0.0.1:{port}/admin/login/"

    deadline = time.monotonic() + START_DEADLINE_S
    while True:
        members = _group_members(process.pid)
        log = log_path.read_text(errors="replace")
        worker_ready = " ready." in log
        if _roles(members) == {"web", "worker", "beat"} and worker_ready and _answers_200(url):
            break
        assert process.poll() is None, f"bin/run-embedded exited with {process.returncode}:\n{log}"
        assert time.monotonic() < deadline, f"not up after {START_DEADLINE_S} s: {members}\n{log}"
        time.sleep(0.25)

    os.killpg(process.pid, signal.SIGINT)

    process.wait(timeout=STOP_DEADLINE_S)
    deadline = time.monotonic() + 5
    while _group_members(process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = _group_members(process.pid)
    log = log_path.read_text(errors="replace")
    assert survivors == {}, f"still running after SIGINT: {survivors}\n{log}"
    assert not _answers_200(url)
    assert process.returncode == 130, log
