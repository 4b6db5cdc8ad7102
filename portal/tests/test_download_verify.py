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
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest

from hubs.storage import facility_storage
from portal.testing.servers import GUNICORN, live_server, process_start, process_stop
from portal.tokens import api_token_create
from snapshots.models import ScrubFinding
from snapshots.services import file_write

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


@pytest.fixture
def server(transactional_db, tmp_path) -> Iterator[LiveServer]:
    """gunicorn and a worker of hub.uk, on this test's databases and facility folders."""
    log_path = tmp_path / "processes.log"
    worker_command = [sys.executable, "-m", "celery", "-A", "portal", "worker", "-Q", "hub.uk", "--pool", "solo",
        "--loglevel", "WARNING", "--without-heartbeat", "--without-mingle", "--without-gossip"]  # fmt: skip
    with live_server(tmp_path / "data", log_path) as web:
        worker = process_start(worker_command, env=web.env, log=log_path)
        try:
            yield LiveServer("127.0.0.1", web.port)
        finally:
            process_stop(worker, seconds=30)
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
