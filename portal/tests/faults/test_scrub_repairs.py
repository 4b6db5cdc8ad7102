"""Scenario 3: one blob's copy corrupted in place (same size, other bytes) in
the primary facility and another blob's copy deleted from the alternate one;
``manage.py scrub --json``, run as an operator would, repairs both from the
good copies, and a second pass finds nothing."""

from __future__ import annotations

import json
import os

import pytest

from portal.tests.faults.stack import Stack
from portal.tests.faults.verify import Ledger, ledger_verify, sha256, store_verify

pytestmark = [pytest.mark.faults, pytest.mark.timeout(180)]

BLOBS = """
from hubs.models import Tenant
from snapshots.models import Blob
tenant = Tenant.objects.get(pk=args["tenant"])
result = {blob.sha256: [blob.pk, blob.storage_key] for blob in Blob.objects.for_tenant(tenant)}
"""


def _scrub(stack: Stack, tenant_id: int) -> dict:
    completed = stack.manage("scrub", "--hub", "us", "--tenant", str(tenant_id), "--json", check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return json.loads(completed.stdout)


def test_scrub_repairs_a_corrupted_and_a_deleted_copy(web: Stack):
    stack = web
    tenant = stack.tenant("scrub", hub="us")
    ledger = Ledger()
    contents = {f"/reports/{n}.bin": os.urandom(256 * 1024 + n) for n in range(3)}
    for path, content in contents.items():
        status, body = tenant.upload(path, content)
        assert status == 201, body
        ledger.wrote(path, sha256(content))
    keys = stack.python(BLOBS, tenant=tenant.id)
    corrupted_id, corrupted_key = keys[sha256(contents["/reports/0.bin"])]
    deleted_id, deleted_key = keys[sha256(contents["/reports/1.bin"])]

    corrupted = stack.facility("us", "primary") / corrupted_key
    original = corrupted.read_bytes()
    corrupted.write_bytes(bytes(b ^ 0x5A for b in original[:4096]) + original[4096:])
    deleted = stack.facility("us", "alternate") / deleted_key
    deleted.unlink()

    before = stack.manage("store_check", "--hub", "us", "--tenant", str(tenant.id), "--json", check=False)
    assert before.returncode == 1
    assert {problem["kind"] for problem in json.loads(before.stdout)["problems"]} == {"blob_corrupt", "blob_missing"}

    report = _scrub(stack, tenant.id)

    assert (report["checked"], report["repaired"], report["lost"]) == (3, 2, 0), report
    found = {(f["blob"], f["facility"], f["kind"], f["repaired"]) for f in report["findings"]}
    assert found == {(corrupted_id, "primary", "corrupt", True), (deleted_id, "alternate", "missing", True)}
    assert corrupted.read_bytes() == original
    assert sha256(deleted.read_bytes()) == sha256(contents["/reports/1.bin"])
    again = _scrub(stack, tenant.id)
    assert (again["checked"], again["repaired"], again["findings"]) == (3, 0, []), again
    assert ledger_verify(tenant, ledger) == 3
    store_verify(stack, tenant)
    assert stack.server_errors() == []
