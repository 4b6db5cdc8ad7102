"""Scenario 1: the web server SIGKILLed in the middle of a large upload.

Half of a 64 MiB body is on its way (a raw socket, as a client on a slow line
would send it) and has landed in temporary files in both facilities when the
master and its workers are killed at once. After the next start nothing of the
upload is visible, no temporary file remains (each gunicorn worker sweeps the
unclaimed ones before it serves), and the same path takes a new upload.
"""

from __future__ import annotations

import os
import socket

import pytest

from portal.tests.faults.stack import Stack, wait_until
from portal.tests.faults.verify import Ledger, ledger_verify, sha256, store_verify

pytestmark = [pytest.mark.faults, pytest.mark.timeout(240)]

ANNOUNCED = 64 * 1024 * 1024
SENT = 24 * 1024 * 1024


def _temporaries(stack: Stack, hub: str) -> dict[str, int]:
    folders = [stack.facility(hub, role) / "tmp" for role in ("primary", "alternate")]
    folders.append(stack.data_dir / "tmp" / "uploads")
    found = {}
    for folder in folders:
        for path in folder.glob("*") if folder.is_dir() else ():
            try:
                found[str(path)] = path.stat().st_size
            except FileNotFoundError:
                continue
    return found


def test_killed_mid_upload_leaves_nothing_and_the_next_start_takes_uploads(web: Stack):
    stack = web
    tenant = stack.tenant("killed-upload", hub="hk")
    ledger = Ledger()
    assert _temporaries(stack, "hk") == {}

    head = (
        f"PUT /api/v1/files/content?path=/big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {tenant.token}\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Length: {ANNOUNCED}\r\n\r\n"
    ).encode()
    client = socket.create_connection(("127.0.0.1", stack.port), timeout=30)
    try:
        client.sendall(head)
        client.sendall(os.urandom(SENT))
        # Mid-upload for real: both facilities hold a landing file with megabytes in it.
        wait_until(
            lambda: sum(1 for size in _temporaries(stack, "hk").values() if size >= 8 * 1024 * 1024) >= 2,
            seconds=30,
            what="the upload landing in both facilities",
        )
        stack.web_kill()
    finally:
        client.close()
    left_behind = _temporaries(stack, "hk")
    assert len(left_behind) >= 2, left_behind  # the kill left them: what follows must remove them

    stack.web_start()

    assert _temporaries(stack, "hk") == {}
    assert tenant.download("/big.bin")[0] == 404
    assert tenant.listing("/") == []
    store = stack.python(
        "from hubs.models import Tenant\nfrom snapshots.models import Blob\n"
        "result = Blob.objects.for_tenant(Tenant.objects.get(pk=args['tenant'])).count()",
        tenant=tenant.id,
    )
    assert store == 0
    for role in ("primary", "alternate"):
        blobs = stack.facility("hk", role) / f"t{tenant.id}"
        assert not blobs.exists() or [p for p in blobs.rglob("*") if p.is_file()] == []

    content = os.urandom(3 * 1024 * 1024 + 17)
    status, body = tenant.upload("/big.bin", content)
    assert status == 201, body
    ledger.wrote("/big.bin", sha256(content))
    assert ledger_verify(tenant, ledger) == 1
    store_verify(stack, tenant)
    assert _temporaries(stack, "hk") == {}
    assert stack.server_errors() == []
