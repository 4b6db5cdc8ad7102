"""The scheduled scrub through a real worker *process* that is killed in the
middle of a slice: the pass keeps the cursor of its last saved batch, nobody
takes the pass while the dead worker's claim lasts, and once it runs out the
next slice resumes after that cursor and finishes the pass, each blob counted
once."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.db import connections
from kombu import Connection

from hubs.routing import hub_database_alias
from snapshots import services
from snapshots.models import Blob, ScrubPass
from snapshots.scrub import scrub_slice
from snapshots.tasks import scrub_slice_task

pytestmark = [pytest.mark.worker, pytest.mark.django_db(databases="__all__", transaction=True)]
REPO = Path(__file__).resolve().parents[2]
HUB = "ae"
BLOB_BYTES = 16 * 1024


def _database_url(alias: str) -> str:
    db = connections[alias].settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def start_worker(data_dir: Path) -> subprocess.Popen:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings.test",
        HUBPORT_DATA_DIR=str(data_dir),
        CELERY_BROKER_URL="filesystem://",
        DATABASE_URL=_database_url("default"),
        # 64 KiB/s: a blob's two copies (32 KiB) every half second, so the slice is slow enough to kill.
        HUBPORT_SCRUB_MIB_S="0.0625",
        HUBPORT_SCRUB_BATCH_BLOBS="2",
    )
    for code in settings.HUB_CODES:
        env[f"HUB_{code.upper()}_DATABASE_URL"] = _database_url(f"hub_{code}")
    for alias, url in settings.HUB_STORAGE_URLS.items():
        env[f"{alias.upper()}_STORAGE_URL"] = url
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "portal", "worker", "-Q", f"hub.{HUB}", "--pool", "solo",
         "--loglevel", "WARNING", "--without-heartbeat", "--without-mingle", "--without-gossip"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


def send_slice(data_dir: Path) -> None:
    folder = data_dir / "broker" / "out"
    folder.mkdir(parents=True, exist_ok=True)
    (data_dir / "broker" / "processed").mkdir(parents=True, exist_ok=True)
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder), "store_processed": False}
    with Connection("filesystem://", transport_options=options) as connection:
        scrub_slice_task.apply_async(kwargs={"hub_code": HUB}, connection=connection)


def wait_until(predicate, *, timeout: float = 60.0, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)  # polling a condition another process makes true
    raise TimeoutError(f"Timed out waiting for {what}")


def test_a_worker_killed_mid_slice_leaves_its_cursor_and_the_next_slice_resumes_after_it(make_tenant, tmp_path):
    made = make_tenant(hub=HUB)
    for n in range(12):
        content = f"{n}".encode().ljust(BLOB_BYTES, b"-")
        services.file_write(
            tenant=made.tenant, path=f"/k/{n}.bin", stream=io.BytesIO(content), content_length=BLOB_BYTES,
            acting_user=made.user,
        )  # fmt: skip
    total = Blob.objects.for_hub(HUB).count()
    passes = ScrubPass.objects.using(hub_database_alias(HUB)).filter(hub_code=HUB)

    worker = start_worker(tmp_path)
    try:
        send_slice(tmp_path)
        try:
            wait_until(lambda: passes.filter(checked__gte=4).exists(), what="two batches to be saved")
        except TimeoutError:
            worker.kill()
            raise AssertionError(worker.communicate()[1].decode()[-3000:]) from None
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    interrupted = passes.get()
    assert interrupted.finished_at is None and 4 <= interrupted.checked < total, "killed in the middle"
    assert interrupted.claimed_until is not None, "the dead worker's claim is still there"
    order = sorted(Blob.objects.for_hub(HUB).values_list("pk", flat=True))
    assert interrupted.after_blob_pk == order[interrupted.checked - 1], "the cursor is the saved batches' end"
    assert scrub_slice(hub_code=HUB).result.skipped == "another worker is on this pass"

    with time_machine.travel(interrupted.claimed_until + timedelta(seconds=1), tick=False):
        resumed = scrub_slice(hub_code=HUB)
    assert resumed.pass_id == interrupted.pk and resumed.finished
    assert resumed.result.checked == total - interrupted.checked, "after the cursor, not from the start"
    finished = passes.get()
    assert finished.checked == total and finished.slices == 1 and finished.finished_at is not None
