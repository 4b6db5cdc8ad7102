"""Downloads verify as they stream: a copy whose bytes are not the blob's
breaks the transfer (a real HTTP client sees it end short of its
Content-Length, never a complete-looking wrong file), the copy is marked so
the next request reads the other facility, and the blob is repaired by the
hub's worker; then the download is whole again.

The server is the real one (gunicorn with gunicorn.conf.py) and the worker a
real worker process, both on the test databases and facility folders and one
broker (the test run's Redis, else a filesystem broker of their own); Django's
development server keeps a keep-alive connection open after a broken
response, which production's server does not."""

from __future__ import annotations

import hashlib
import http.client
import io
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.db import connections

from hubs.storage import facility_storage
from portal.tokens import api_token_create
from snapshots.models import ScrubFinding
from snapshots.services import file_write

REPO = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"
pytestmark = [
    pytest.mark.worker,
    pytest.mark.timeout(180),
    pytest.mark.django_db(databases="__all__", transaction=True),
    pytest.mark.skipif(not GUNICORN.exists(), reason="runs gunicorn from the environment running the tests"),
]
NAME = "Quarterly-forecast-9c1e.bin"
SIZE = 700 * 1024  # three chunks of 256 KiB: the breakage comes after bytes were sent


@dataclass
class LiveServer:
    host: str
    port: int


def _database_url(alias: str) -> str:
    db = connections[alias].settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _processes_env(data_dir: Path, port: int) -> dict[str, str]:
    broker = settings.CELERY_BROKER_URL
    env = {name: value for name, value in os.environ.items() if not name.startswith(("HUB_", "HUBPORT_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings.test",
        HUBPORT_DATA_DIR=str(data_dir),
        HUBPORT_BIND=f"127.0.0.1:{port}",
        HUBPORT_WEB_WORKERS="1",
        # The in-memory broker of a SQLite run lives in one process; these are two.
        CELERY_BROKER_URL="filesystem://" if broker.startswith("memory://") else broker,
        DATABASE_URL=_database_url("default"),
        PYTHONUNBUFFERED="1",
    )
    for code in settings.HUB_CODES:
        env[f"HUB_{code.upper()}_DATABASE_URL"] = _database_url(f"hub_{code}")
    for alias, url in settings.HUB_STORAGE_URLS.items():
        env[f"{alias.upper()}_STORAGE_URL"] = url
    return env


@pytest.fixture
def server(transactional_db, tmp_path) -> Iterator[LiveServer]:
    """gunicorn and a worker of hub.uk, on this test's databases and facility folders."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data_dir = tmp_path / "data"
    for folder in ("broker/out", "broker/processed", "broker/control"):
        (data_dir / folder).mkdir(parents=True)
    env = _processes_env(data_dir, port)
    log_path = tmp_path / "processes.log"
    commands = [
        [str(GUNICORN), "-c", "gunicorn.conf.py", "portal.wsgi:application"],
        [sys.executable, "-m", "celery", "-A", "portal", "worker", "-Q", "hub.uk", "--pool", "solo",
         "--loglevel", "WARNING", "--without-heartbeat", "--without-mingle", "--without-gossip"],
    ]  # fmt: skip
    processes = []
    with log_path.open("wb") as log:
        for command in commands:
            processes.append(
                subprocess.Popen(
                    command,
                    cwd=REPO,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )  # fmt: skip
            )
    try:
        deadline = time.monotonic() + 45
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert all(process.poll() is None for process in processes), log_path.read_text(errors="replace")
                assert time.monotonic() < deadline, log_path.read_text(errors="replace")
                time.sleep(0.1)  # polling a process that is starting
        yield LiveServer("127.0.0.1", port)
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            process.wait(timeout=30)
        log_text = log_path.read_text(errors="replace")
        assert NAME not in log_text and "Quarterly" not in log_text, "a file name reached a log line"


def download(
    server: LiveServer, token: str, **headers: str
) -> tuple[http.client.HTTPResponse, http.client.HTTPConnection]:
    connection = http.client.HTTPConnection(server.host, server.port, timeout=30)
    query = urlencode({"path": f"/{NAME}"})
    connection.request("GET", f"/api/v1/files/content?{query}", headers={"Authorization": f"Bearer {token}", **headers})
    return connection.getresponse(), connection


def read_whole(server: LiveServer, token: str, **headers: str) -> tuple[int, bytes]:
    response, connection = download(server, token, **headers)
    try:
        return response.status, response.read()
    finally:
        connection.close()


def wait_until(predicate, *, timeout: float = 30.0, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)  # polling a condition another thread makes true
    raise TimeoutError(f"Timed out waiting for {what}")


def store(made, content: bytes):
    return file_write(
        tenant=made.tenant, path=f"/{NAME}", stream=io.BytesIO(content), content_length=len(content),
        acting_user=made.user,
    ).blob  # fmt: skip


def test_a_corrupt_copy_breaks_the_download_and_the_worker_repairs_it_before_the_next(server, make_tenant, caplog):
    made = make_tenant(hub="uk")
    _, token = api_token_create(user=made.user, tenant=made.tenant, name="verify")
    content = os.urandom(SIZE)
    blob = store(made, content)
    primary = Path(facility_storage("uk", "primary").path(blob.storage_key))  # the serving facility
    rotten = bytearray(content)
    rotten[SIZE - 10] ^= 0xFF  # one bit flipped near the end, same size: only the hash tells
    primary.write_bytes(bytes(rotten))

    with caplog.at_level(logging.INFO):
        response, connection = download(server, token)
        assert response.status == 200 and response.getheader("Content-Length") == str(SIZE)
        with pytest.raises(http.client.IncompleteRead) as broken:
            response.read()
        connection.close()
        assert len(broken.value.partial) < SIZE, "the transfer ended short of its length"
        assert broken.value.partial == content[: len(broken.value.partial)]
        # The server marked the copy and queued its repair on the hub's queue; the worker runs it.
        wait_until(lambda: primary.read_bytes() == content, what="the primary copy to be repaired")
        wait_until(
            lambda: not ScrubFinding.objects.for_tenant(made.tenant).filter(repaired_at__isnull=True).exists(),
            what="the mark to be closed",
        )
    mark = ScrubFinding.objects.for_tenant(made.tenant).get(found_by="download")
    assert (mark.blob_id, mark.facility, mark.kind) == (blob.pk, "primary", "corrupt")
    repair = ScrubFinding.objects.for_tenant(made.tenant).get(found_by="scrub")
    assert (repair.facility, repair.kind) == ("primary", "corrupt") and repair.repaired_at is not None
    status, body = read_whole(server, token)
    assert status == 200 and hashlib.sha256(body).hexdigest() == blob.sha256
    assert NAME not in caplog.text and "Quarterly" not in caplog.text


def test_a_truncated_copy_breaks_the_download_too(server, make_tenant):
    made = make_tenant(hub="uk")
    _, token = api_token_create(user=made.user, tenant=made.tenant, name="verify")
    content = os.urandom(SIZE)
    primary = Path(facility_storage("uk", "primary").path(store(made, content).storage_key))
    primary.write_bytes(content[: SIZE // 2])
    response, connection = download(server, token)
    with pytest.raises(http.client.IncompleteRead):
        response.read()
    connection.close()
    wait_until(lambda: primary.read_bytes() == content, what="the primary copy to be repaired")
    assert read_whole(server, token) == (200, content)
