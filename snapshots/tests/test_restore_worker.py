"""Restores through real Celery workers: a threaded worker in this process, and
a worker *process* that is killed in the middle of a job. The job, started
again on a new worker, must end with exactly the tree one clean run gives."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from kombu import Connection

from snapshots import selectors, services
from snapshots.models import NodeVersion, RestoreJob
from snapshots.services import RestoreRequest
from snapshots.tasks import restore_run_task

pytestmark = [pytest.mark.worker, pytest.mark.django_db(databases="__all__", transaction=True)]
REPO = Path(__file__).resolve().parents[2]


def build_history(made, files: int = 600) -> int:
    for i in range(files):
        content = f"file {i}".encode()
        services.file_write(
            tenant=made.tenant,
            path=f"/Big/part{i % 12}/f{i}.txt",
            stream=io.BytesIO(content),
            content_length=len(content),
            acting_user=made.user,
        )
    snapshot = services.snapshot_create(tenant=made.tenant, acting_user=made.user)
    services.node_delete(tenant=made.tenant, path="/Big", acting_user=made.user)
    services.folder_create(tenant=made.tenant, path="/Big/part3", acting_user=made.user)  # a folder to merge into
    return snapshot.pk


def wait_until(predicate, *, timeout: float = 60.0, what: str = "condition"):
    """Poll a condition with a deadline (the worker is another process)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise TimeoutError(f"Timed out waiting for {what}")


def database_url(alias: str) -> str:
    db = connections[alias].settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def worker_env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings.test",
            "HUBPORT_DATA_DIR": str(data_dir),
            "CELERY_BROKER_URL": "filesystem://",
            "HUBPORT_RESTORE_BATCH_ITEMS": "20",
            "DATABASE_URL": database_url("default"),
        }
    )
    for code in settings.HUB_CODES:
        env[f"HUB_{code.upper()}_DATABASE_URL"] = database_url(f"hub_{code}")
    for alias, url in settings.HUB_STORAGE_URLS.items():
        env[f"{alias.upper()}_STORAGE_URL"] = url
    return env


def start_worker(data_dir: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "-Q",
            "hub.uk",
            "--pool",
            "solo",
            "--loglevel",
            "WARNING",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=REPO,
        env=worker_env(data_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def send_through_filesystem_broker(data_dir: Path, *, tenant_id: int, job_id: int) -> None:
    folder = data_dir / "broker" / "out"
    folder.mkdir(parents=True, exist_ok=True)
    (data_dir / "broker" / "processed").mkdir(parents=True, exist_ok=True)
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder), "store_processed": False}
    with Connection("filesystem://", transport_options=options) as connection:
        restore_run_task.apply_async(kwargs={"tenant_id": tenant_id, "job_id": job_id}, connection=connection)


def test_restore_runs_through_the_threaded_worker_on_the_hub_queue(make_tenant, celery_worker, monkeypatch):
    made = make_tenant(hub="uk")
    snapshot_id = build_history(made, files=30)
    with monkeypatch.context() as patched:
        # One message for this job, the one sent below, so the test waits for the run that does the work.
        patched.setattr(restore_run_task, "delay", lambda **kwargs: None)
        job = services.restore_start(
            tenant=made.tenant, acting_user=made.user, request=RestoreRequest(snapshot_id=snapshot_id)
        )
    result = restore_run_task.apply_async(kwargs={"tenant_id": made.tenant.pk, "job_id": job.pk})
    outcome = celery_worker.wait_for(result.id)
    assert outcome["queue"] == "hub.uk" and outcome["state"] == "SUCCESS", outcome
    job.refresh_from_db()
    assert job.state == RestoreJob.State.SUCCEEDED and job.done_items == job.total_items == 43


def test_worker_killed_mid_restore_then_restarted_ends_with_the_clean_runs_tree(
    make_tenant, tmp_path, settings, monkeypatch
):
    settings.RESTORE_BATCH_ITEMS = 20
    # This test sends the job to its own worker processes through its own broker;
    # keep restore_start's message away from the in-process test worker.
    monkeypatch.setattr(restore_run_task, "delay", lambda **kwargs: None)
    clean, killed = make_tenant(hub="uk"), make_tenant(hub="uk")
    clean_job = services.restore_start(
        tenant=clean.tenant,
        acting_user=clean.user,
        request=RestoreRequest(snapshot_id=build_history(clean), conflict="rename"),
    )
    services.restore_run(tenant=clean.tenant, job_id=clean_job.pk)
    job = services.restore_start(
        tenant=killed.tenant,
        acting_user=killed.user,
        request=RestoreRequest(snapshot_id=build_history(killed), conflict="rename"),
    )
    jobs = RestoreJob.objects.for_tenant(killed.tenant)

    first = start_worker(tmp_path)
    try:
        send_through_filesystem_broker(tmp_path, tenant_id=killed.tenant.pk, job_id=job.pk)
        try:
            wait_until(lambda: jobs.get(pk=job.pk).done_items >= 40, what="the first batches to commit")
        except TimeoutError:
            first.kill()
            raise AssertionError(first.communicate()[1].decode()[-3000:]) from None
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    interrupted = jobs.get(pk=job.pk)
    assert interrupted.state == RestoreJob.State.RUNNING
    assert 40 <= interrupted.done_items < interrupted.total_items, "killed in the middle"

    second = start_worker(tmp_path)
    try:
        send_through_filesystem_broker(tmp_path, tenant_id=killed.tenant.pk, job_id=job.pk)
        finished = wait_until(
            lambda: (j := jobs.get(pk=job.pk)).is_finished and j, timeout=120, what="the resumed job to finish"
        )
    finally:
        second.terminate()
        second.wait(timeout=30)

    clean_job.refresh_from_db()
    assert finished.state == RestoreJob.State.SUCCEEDED
    assert finished.attempts == 2
    assert finished.done_items == finished.total_items == clean_job.total_items
    assert (finished.restored, finished.renamed, finished.failed) == (clean_job.restored, clean_job.renamed, 0)
    assert selectors.tree_as_of(tenant=killed.tenant) == selectors.tree_as_of(tenant=clean.tenant)
    assert selectors.live_usage(tenant=killed.tenant) == selectors.live_usage(tenant=clean.tenant)
    live = NodeVersion.objects.for_tenant(killed.tenant).filter(valid_to__isnull=True).count()
    assert live == NodeVersion.objects.for_tenant(clean.tenant).filter(valid_to__isnull=True).count()
