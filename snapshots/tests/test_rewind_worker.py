"""A rewind (exact restore) through a worker *process* killed in the middle of
the job: started again on a new worker, it ends with the snapshot's tree and
each removal made once, as one clean run does."""

from __future__ import annotations

import io
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from snapshots import selectors, services
from snapshots.models import Change, NodeVersion, RestoreJob
from snapshots.services import RestoreRequest
from snapshots.tasks import restore_run_task
from snapshots.tests.test_restore_worker import send_through_filesystem_broker, wait_until, worker_env

pytestmark = [pytest.mark.worker, pytest.mark.django_db(databases="__all__", transaction=True)]
REPO = Path(__file__).resolve().parents[2]


def start_worker(data_dir: Path) -> subprocess.Popen:
    """A solo worker process on the hub's queue, fed by the filesystem broker in ``data_dir``."""
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
        env={**worker_env(data_dir), "CELERY_BROKER_URL": "filesystem://", "HUBPORT_RESTORE_BATCH_ITEMS": "20"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def put(made, path: str, content: bytes) -> None:
    services.file_write(
        tenant=made.tenant, path=path, stream=io.BytesIO(content), content_length=len(content), acting_user=made.user
    )


def build_rewind_history(made) -> int:
    """600 files in 60 folders, a snapshot, then a bad sync: a new file in every
    folder and ten files renamed. The folders' removals are decided over the
    first four batches of 20, so a worker killed after two leaves some for the
    resumed run."""
    for i in range(600):
        put(made, f"/Big/p{i % 60:02}/f{i}.txt", f"file {i}".encode())
    snapshot = services.snapshot_create(tenant=made.tenant, acting_user=made.user)
    for folder in range(60):
        put(made, f"/Big/p{folder:02}/new.txt", b"made since")
    for i in range(0, 100, 10):
        path = f"/Big/p{i % 60:02}/f{i}.txt"
        services.node_rename(tenant=made.tenant, path=path, new_name=f"f{i}.txt.locked", acting_user=made.user)
    return snapshot.pk


def test_worker_killed_mid_rewind_then_restarted_ends_with_the_snapshots_tree(
    make_tenant, tmp_path, settings, monkeypatch
):
    settings.RESTORE_BATCH_ITEMS = 20
    monkeypatch.setattr(restore_run_task, "delay", lambda **kwargs: None)  # our own worker processes run it
    clean, killed = make_tenant(hub="uk"), make_tenant(hub="uk")
    clean_job = services.restore_start(
        tenant=clean.tenant,
        acting_user=clean.user,
        request=RestoreRequest(snapshot_id=build_rewind_history(clean), mode="exact"),
    )
    services.restore_run(tenant=clean.tenant, job_id=clean_job.pk)
    snapshot_id = build_rewind_history(killed)
    then = selectors.tree_as_of(
        tenant=killed.tenant, seq=services.restore_source(tenant=killed.tenant, snapshot_id=snapshot_id).seq
    )
    job = services.restore_start(
        tenant=killed.tenant, acting_user=killed.user, request=RestoreRequest(snapshot_id=snapshot_id, mode="exact")
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

    # The killed worker's claim on the job is as old as a dead worker's gets: the next run takes the job over.
    jobs.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=10))
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
    assert finished.state == RestoreJob.State.SUCCEEDED and finished.attempts == 2
    assert selectors.tree_as_of(tenant=killed.tenant) == then == selectors.tree_as_of(tenant=clean.tenant)
    assert finished.removed == clean_job.removed == 70
    removals = Change.objects.for_tenant(killed.tenant).filter(restore_job_id=job.pk, action=Change.Action.DELETE)
    assert removals.count() == 70, "each removal once"
    assert selectors.live_usage(tenant=killed.tenant) == selectors.live_usage(tenant=clean.tenant)
    live = NodeVersion.objects.for_tenant(killed.tenant).filter(valid_to__isnull=True).count()
    assert live == NodeVersion.objects.for_tenant(clean.tenant).filter(valid_to__isnull=True).count()
