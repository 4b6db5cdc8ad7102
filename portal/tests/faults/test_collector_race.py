"""Scenario 4: the collector racing uploads of identical content.

Thirty days ago (the setup runs under time-machine in a process of its own,
the tenant's clock included, so the clock never goes back) a tenant wrote 48
files and overwrote each: the first contents' versions are past the 28 days.
Now the real collector (``expiry_run``, the daily task's function, in small
batches so its transactions interleave with uploads) runs in a loop in its own
process, expiring those versions and collecting their blobs, while six
threads upload those same contents, each to three new paths, through the web
server (half the contents are uploaded once just before it starts: those
rows must survive it; the other half race it). No acknowledged file may end
up on a collected blob: each reads back with its SHA-256, both facilities
hold every live blob, and a last collection pass after the uploads removes
nothing that a file needs.
"""

from __future__ import annotations

import json
import os
import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from portal.tests.faults.stack import Stack, Tenant, wait_until
from portal.tests.faults.verify import Ledger, ledger_verify, sha256, store_verify

pytestmark = [pytest.mark.faults, pytest.mark.timeout(240)]

CONTENTS = 48
COPIES = 3
OWNER = "owner-collector@faults.test"

SET_UP_THIRTY_DAYS_AGO = """
import io
from datetime import timedelta
import time_machine
from django.utils import timezone
from portal.services.tenants import tenant_create
from snapshots.services.files import file_write

def write(tenant, path, content):
    file_write(tenant=tenant, path=path, stream=io.BytesIO(content), content_length=len(content), acting_user=None)

with time_machine.travel(timezone.now() - timedelta(days=30), tick=True):
    made = tenant_create(name="Faults collector", hub_code="ae", owner_email=args["owner"], owner_password="x" * 16)
    for n, content in enumerate(args["contents"]):
        write(made.tenant, f"/old/{n}.bin", bytes.fromhex(content))
        write(made.tenant, f"/old/{n}.bin", b"newer content %d" % n)
from snapshots.models import Blob
result = [made.tenant.pk, list(Blob.objects.for_tenant(made.tenant).values_list("generation", flat=True))]
"""

COLLECTOR_LOOP = """
import json, pathlib
from snapshots.expiry import expiry_run
stop = pathlib.Path(args["stop"])
runs = blobs = 0
print(json.dumps({"runs": runs, "blobs": blobs}), flush=True)
while not stop.exists():
    report = expiry_run(hub_code="ae", batch_rows=2)
    runs += 1
    blobs += report.blobs
    print(json.dumps({"runs": runs, "blobs": blobs}), flush=True)
"""

COLLECT_ONCE = """
from snapshots.expiry import expiry_run
result = expiry_run(hub_code="ae").as_dict()
"""


def test_collection_racing_uploads_of_the_same_content_never_strands_a_file(web: Stack):
    stack = web
    contents = [os.urandom(32 * 1024 + n) for n in range(CONTENTS)]
    tenant_id, old_generations = stack.python(
        SET_UP_THIRTY_DAYS_AGO, owner=OWNER, contents=[c.hex() for c in contents], timeout=180
    )
    token = stack.manage("create_api_token", OWNER).stdout.strip().split()[-1]
    tenant = Tenant(stack=stack, id=tenant_id, hub="ae", token=token)
    ledger = Ledger()

    refused: list[tuple[int, object]] = []
    refused_lock = threading.Lock()

    def upload(job: tuple[int, int]) -> None:
        n, copy = job
        path = f"/race/{n}-{copy}.bin"
        status, body = tenant.upload(path, contents[n])
        if status == 201:
            ledger.wrote(path, sha256(contents[n]))
        else:
            with refused_lock:
                refused.append((status, body))

    # Half the contents are claimed again before the collector starts: those
    # rows must survive it. The other half race with it.
    jobs = [(n, copy) for n in range(CONTENTS) for copy in range(COPIES)]
    first = [(n, 0) for n in range(CONTENTS // 2)]
    rest = [job for job in jobs if job not in first]
    random.Random(11).shuffle(rest)
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(upload, first))
    stop = stack.base / "collector.stop"
    log = stack.base / "collector.log"
    collector = stack.popen_python(COLLECTOR_LOOP, log, stop=str(stop))
    try:
        wait_until(lambda: log.exists() and '"runs"' in log.read_text(), seconds=60, what="the collector starting")
        with ThreadPoolExecutor(max_workers=6) as pool:
            list(pool.map(upload, rest))
    finally:
        stop.touch()
        collector.wait(timeout=120)
    assert collector.returncode == 0, log.read_text()[-3000:]
    assert refused == []
    figures = json.loads(log.read_text().strip().splitlines()[-1])
    assert figures["blobs"] > 0, figures  # it did collect while the uploads ran

    last = stack.python(COLLECT_ONCE)
    assert ledger_verify(tenant, ledger) == CONTENTS * COPIES
    store_verify(stack, tenant)
    generations = stack.python(
        "from hubs.models import Tenant\nfrom snapshots.models import Blob\n"
        "tenant = Tenant.objects.get(pk=args['tenant'])\n"
        "blobs = Blob.objects.for_tenant(tenant).filter(sha256__in=args['shas'])\n"
        "result = list(blobs.values_list('generation', flat=True))",
        tenant=tenant.id,
        shas=[sha256(content) for content in contents],
    )
    assert len(generations) == CONTENTS, last  # one row per content, each referenced by the new files
    # Which side won each race: an upload that claimed the old row first, or the
    # collector, after which an upload wrote the bytes again under a new generation.
    reused = len(set(generations) & set(old_generations))
    assert reused >= CONTENTS // 2  # the rows claimed before it started were not collected
    print(f"collector race: {figures}, {reused} old blobs claimed by uploads, {CONTENTS - reused} written again")
    assert stack.server_errors() == []
