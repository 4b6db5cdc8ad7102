"""Scenario 2: the alternate facility cannot be written while uploads go on.

Its folder is moved away and a plain file put in its place, as when a mount
is gone: nothing can be created under it, for root too (CI runs as root, where
a read-only mode bit does not stop a write). Uploads are accepted from the
serving facility and their blobs wait for replication; once the folder is
back, the replication task, queued to the hub's queue and run by the real
worker process, brings the backlog to zero, and both copies of every blob
verify.
"""

from __future__ import annotations

import os

import pytest

from portal.tests.faults.stack import Stack, wait_until
from portal.tests.faults.verify import Ledger, ledger_verify, sha256, store_verify

pytestmark = [pytest.mark.faults, pytest.mark.timeout(240)]

BACKLOG = """
from hubs.models import Tenant
from snapshots.models import Blob
from snapshots.replication import replication_backlog
tenant = Tenant.objects.get(pk=args["tenant"])
waiting = Blob.objects.for_tenant(tenant).filter(needs_replication=True)
result = {
    "waiting": sorted(waiting.values_list("sha256", flat=True)),
    "hub": replication_backlog(hub_code=tenant.hub_id).blobs,
    "unverified": Blob.objects.for_tenant(tenant).filter(verified_at__isnull=True).count(),
}
"""


def test_uploads_go_on_while_the_alternate_is_unwritable_and_replication_catches_up(web: Stack):
    stack = web
    tenant = stack.tenant("alternate-down", hub="de")
    ledger = Ledger()
    before = os.urandom(100_000)
    assert tenant.upload("/before.bin", before)[0] == 201
    ledger.wrote("/before.bin", sha256(before))

    alternate = stack.facility("de", "alternate")
    aside = alternate.with_name("alternate-unplugged")
    alternate.rename(aside)
    alternate.write_bytes(b"not a folder: the facility's mount is gone")
    during: dict[str, bytes] = {}
    try:
        for n in range(12):
            during[f"/during/{n}.bin"] = os.urandom(50_000 * (n + 1))
        during["/before.bin"] = os.urandom(70_000)  # an overwrite too
        for path, content in during.items():
            status, body = tenant.upload(path, content)
            assert status in (200, 201), body
            ledger.wrote(path, sha256(content))
        waiting = stack.python(BACKLOG, tenant=tenant.id)
        assert waiting["waiting"] == sorted(sha256(content) for content in during.values())
        assert waiting["hub"] == len(during)
        ledger_verify(tenant, ledger)  # readable meanwhile, from the serving facility
    finally:
        alternate.unlink()
        aside.rename(alternate)

    stack.python("from snapshots.tasks import replication_repair_task\nreplication_repair_task.delay(hub_code='de')")
    wait_until(
        lambda: stack.python(BACKLOG, tenant=tenant.id)["hub"] == 0,
        seconds=60,
        every=1.0,
        what="the worker's replication repair emptying the backlog",
    )
    after = stack.python(BACKLOG, tenant=tenant.id)
    assert after == {"waiting": [], "hub": 0, "unverified": 1}  # only /before.bin's first blob was never repaired
    first = during["/during/0.bin"]
    key = stack.python(
        "from hubs.models import Tenant\nfrom snapshots.models import Blob\n"
        "tenant = Tenant.objects.get(pk=args['tenant'])\n"
        "result = Blob.objects.for_tenant(tenant).get(sha256=args['sha']).storage_key",
        tenant=tenant.id,
        sha=sha256(first),
    )
    assert (alternate / key).read_bytes() == first  # the copy itself, not only the flag
    assert ledger_verify(tenant, ledger) == len(ledger.expected)
    store_verify(stack, tenant)
    assert stack.server_errors() == []
