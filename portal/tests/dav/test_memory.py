"""A 1 GiB PUT to /dav/ on the real server streams: the serving worker's peak
memory (VmHWM) grows by less than 150 MiB, and a GET streams the same bytes
back. The body is made as it is sent and hashed as it is read, so the test
process holds no more of it than the server may."""

from __future__ import annotations

import base64
import hashlib
import http.client
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from portal.testing.servers import live_server, worker_pids
from portal.tests.dav.conftest import NAME_MARK, DavAccount

pytestmark = [
    pytest.mark.worker,
    pytest.mark.timeout(180),
    pytest.mark.django_db(databases="__all__", transaction=True),
]
SIZE = 1024**3
BLOCK = 1024 * 1024
CEILING = 150 * 1024 * 1024


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/{pid}/status")


def _body(digest: hashlib._Hash) -> Iterator[bytes]:
    seed = os.urandom(BLOCK)
    for index in range(SIZE // BLOCK):
        block = index.to_bytes(8, "big") + seed[8:]
        digest.update(block)
        yield block


def _headers(account: DavAccount) -> dict[str, str]:
    credentials = base64.b64encode(f"{account.email}:{account.dav_token}".encode()).decode()
    return {"Authorization": f"Basic {credentials}"}


def test_one_gib_put_and_get_stream_through_one_worker(dav_account: DavAccount, tmp_path: Path) -> None:
    path = quote(f"/dav/{dav_account.tenant.slug}/{NAME_MARK}-big.bin")
    with live_server(tmp_path / "data", tmp_path / "gunicorn.log", workers=1) as server:
        (worker,) = worker_pids(server.process)
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        # A small PUT first: the worker has imported and connected what the big one needs.
        connection.request("PUT", path, body=b"warm", headers=_headers(dav_account))
        assert connection.getresponse().read() is not None
        before = _status_kib(worker, "VmHWM")

        sent = hashlib.sha256()
        headers = {**_headers(dav_account), "Content-Length": str(SIZE)}
        connection.request("PUT", path, body=_body(sent), headers=headers)
        answer = connection.getresponse()
        answer.read()
        assert answer.status == 204
        growth = (_status_kib(worker, "VmHWM") - before) * 1024
        assert growth < CEILING, f"the worker's peak memory grew by {growth / 1024**2:.0f} MiB"

        connection.request("GET", path, headers=_headers(dav_account))
        download = connection.getresponse()
        assert download.status == 200 and int(download.getheader("Content-Length")) == SIZE
        received, length = hashlib.sha256(), 0
        while chunk := download.read(BLOCK):
            received.update(chunk)
            length += len(chunk)
        connection.close()
        assert (length, received.hexdigest()) == (SIZE, sent.hexdigest())
        assert (_status_kib(worker, "VmHWM") - before) * 1024 < CEILING
    assert NAME_MARK not in (tmp_path / "gunicorn.log").read_text(errors="replace")
