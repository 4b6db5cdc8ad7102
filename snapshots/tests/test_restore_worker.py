"""Restores through real Celery workers: a threaded worker in this process, and
worker *processes* (with a real beat) killed with SIGKILL in the middle of a
job of a few thousand files. Nobody sends the job again: the stall check
takes it back once its lease expires, a new worker resumes it, and within a
minute of the kill it ends with every file restored exactly once and the
tree one clean run gives, on the embedded broker (SQLite) and on Redis
(PostgreSQL)."""

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
from snapshots.models import Change, NodeVersion, RestoreJob
from snapshots.services import RestoreRequest, kernel
from snapshots.store_check import store_check
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


def broker_url() -> str:
    """Redis where the run has it (the PostgreSQL stage), else the embedded filesystem broker."""
    url = os.environ.get("CELERY_BROKER_URL", "")
    return url if url.startswith("redis://") else "filesystem://"


def celery_process(data_dir: Path, *arguments: str) -> subprocess.Popen:
    """A real Celery process in its own session, so the whole worker (its pool's
    children too) dies at once, as a machine or container does."""
    env = {**worker_env(data_dir), "CELERY_BROKER_URL": broker_url(), "HUBPORT_RESTORE_BATCH_ITEMS": "50"}
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "portal", *arguments, "--loglevel", "WARNING"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def prefork_worker(data_dir: Path) -> subprocess.Popen:
    return celery_process(
        data_dir, "worker", "-Q", "hub.uk", "--concurrency", "2", "--without-mingle", "--without-gossip"
    )


def stop(process: subprocess.Popen) -> str:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
    return process.stderr.read().decode(errors="replace")[-3000:] if process.stderr else ""


def send_job(data_dir: Path, *, tenant_id: int, job_id: int) -> None:
    url = broker_url()
    if url.startswith("filesystem://"):
        send_through_filesystem_broker(data_dir, tenant_id=tenant_id, job_id=job_id)
        return
    with Connection(url) as connection:
        restore_run_task.apply_async(kwargs={"tenant_id": tenant_id, "job_id": job_id}, connection=connection)


def large_history(made, *, folders: int = 30, files_per_folder: int = 100) -> tuple[int, dict[str, str | None]]:
    """A snapshot of a few thousand files, then the whole folder deleted. The
    files are made through the kernel in one step (what a restore batch does),
    sharing the blobs of five uploaded files, so the test builds them in
    seconds; returns the snapshot and its tree."""
    seeds = [services.file_write(
        tenant=made.tenant, path=f"/Big/seed{i}.txt", stream=io.BytesIO(f"seed {i}".encode() * 100),
        content_length=len(f"seed {i}".encode() * 100), acting_user=made.user,
    ) for i in range(5)]  # fmt: skip
    with kernel.change_step(tenant=made.tenant, actor=services.actor_for(made.user)) as step:
        for k in range(folders):
            chain = kernel.folders_ensure(step, ["Big", f"part{k}"])
            blobs = [seeds[i % len(seeds)].blob for i in range(files_per_folder)]
            node_ids = kernel.nodes_create(step, kinds=["file"] * files_per_folder, sizes=[b.size for b in blobs])
            kernel.versions_open(
                step,
                [
                    kernel.NewVersion(node_id=n, parent_id=chain[-1].node_id, name=f"f{i}.txt", kind="file",
                                      blob_id=blob.pk, size=blob.size)
                    for i, (n, blob) in enumerate(zip(node_ids, blobs, strict=True))
                ],
                read_back=False,
            )  # fmt: skip
            kernel.counters_move(
                step,
                deltas={chain[-1].node_id: (files_per_folder, sum(b.size for b in blobs))},
                parent_of=kernel.chain_parents(chain),
            )
            for i, node_id in enumerate(node_ids):
                step.record("create", node_id=node_id, path=f"/Big/part{k}/f{i}.txt")
    snapshot = services.snapshot_create(tenant=made.tenant, acting_user=made.user)
    tree = selectors.tree_as_of(tenant=made.tenant)
    services.node_delete(tenant=made.tenant, path="/Big", acting_user=made.user)
    return snapshot.pk, tree


# A fault scenario: it runs in `make faults`, not in `make test`.
@pytest.mark.faults
def test_a_worker_killed_mid_restore_is_resumed_by_the_stall_check_within_a_minute(
    make_tenant, tmp_path, monkeypatch, celery_worker_session
):
    # The job goes to this test's worker processes through their broker only
    # (on Redis, the in-process test worker shares the broker: it stays off hub.uk).
    monkeypatch.setattr(restore_run_task, "delay", lambda **kwargs: None)
    with celery_worker_session.queue_unserved("hub.uk"):
        killed_and_resumed(make_tenant, tmp_path)


def killed_and_resumed(make_tenant, tmp_path) -> None:
    made = make_tenant(hub="uk")
    snapshot_id, snapshot_tree = large_history(made)
    job = services.restore_start(
        tenant=made.tenant, acting_user=made.user, request=RestoreRequest(snapshot_id=snapshot_id)
    )
    jobs = RestoreJob.objects.for_tenant(made.tenant)
    if broker_url().startswith("redis://"):
        from redis import Redis

        Redis.from_url(broker_url()).delete("hub.uk")  # messages other tests queued for tenants long gone

    beat = celery_process(tmp_path, "beat", "--schedule", str(tmp_path / "beat-schedule"))
    first = prefork_worker(tmp_path)
    second = None
    try:
        send_job(tmp_path, tenant_id=made.tenant.pk, job_id=job.pk)
        try:
            wait_until(lambda: jobs.get(pk=job.pk).done_items >= 300, timeout=90, what="the first batches")
        except TimeoutError:
            raise AssertionError(stop(first)) from None
        os.killpg(first.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        first.wait(timeout=30)
        interrupted = jobs.get(pk=job.pk)
        assert interrupted.state == RestoreJob.State.RUNNING
        assert 300 <= interrupted.done_items < interrupted.total_items, "killed in the middle"

        second = prefork_worker(tmp_path)
        try:
            finished = wait_until(
                lambda: (j := jobs.get(pk=job.pk)).is_finished and j, timeout=90, what="the resumed job"
            )
        except TimeoutError:
            raise AssertionError(stop(second) + stop(beat)) from None
        resumed_within = time.monotonic() - killed_at
    finally:
        for process in (first, second, beat):
            if process is not None:
                stop(process)

    assert resumed_within <= 60, f"finished {resumed_within:.1f} s after the kill"
    assert finished.state == RestoreJob.State.SUCCEEDED and finished.attempts == 2
    assert finished.done_items == finished.total_items and finished.failed == 0
    restored = list(
        Change.objects.for_tenant(made.tenant)
        .filter(restore_job_id=job.pk, action=Change.Action.RESTORE)
        .values_list("node_id", flat=True)
    )
    files = NodeVersion.objects.for_tenant(made.tenant).filter(valid_to__isnull=True, kind="file")
    assert len(restored) == len(set(restored)) == finished.restored, "every item restored exactly once"
    assert set(files.values_list("node_id", flat=True)) <= set(restored), "every live file came back as itself"
    assert files.count() == sum(1 for value in snapshot_tree.values() if value is not None) == 3005
    assert selectors.tree_as_of(tenant=made.tenant) == snapshot_tree
    check = store_check(hub_code="uk", tenant_id=made.tenant.pk)
    assert check.ok, check.problems
