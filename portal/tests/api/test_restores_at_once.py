"""Restores that start at once: a few files named one by one run in the request
that asks for them (the same run, job row and lease as the worker's), so the
answer already says the job ended; a folder, everything, or more files than
HUBPORT_RESTORE_INLINE_MAX_FILES still go to the hub's worker. Committed data
(transaction=True): the run starts when the job's row commits, as in a server."""

from __future__ import annotations

import time

import pytest

from portal.tests.api.conftest import make_caller
from snapshots import selectors, services
from snapshots.models import Change, RestoreJob, Snapshot
from snapshots.services import node_delete

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


@pytest.fixture
def api(make_tenant):
    return make_caller(make_tenant)


def deleted_files(api, *paths: str) -> int:
    for path in paths:
        api.write(path, f"content of {path}".encode())
    api.write("/Folder/inside.txt", b"inside")
    snapshot = services.snapshot_create(tenant=api.tenant, acting_user=api.user)
    for path in (*paths, "/Folder"):
        node_delete(tenant=api.tenant, path=path, acting_user=api.user)
    return snapshot.pk


def wait_finished(api, job_id: int, *, timeout: float = 60.0) -> dict:
    """Poll the job's API with a deadline (the worker runs in its own threads)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = api.get(f"/api/v1/restores/{job_id}").json()
        if job["finished_at"] is not None:
            return job
        time.sleep(0.01)
    raise TimeoutError(f"restore job {job_id} did not finish in {timeout} s")


def test_a_one_file_restore_has_finished_when_its_request_returns(api):
    """No worker runs here: a job sent to the queue would still be queued."""
    snapshot_id = deleted_files(api, "/a.txt")
    snapshots_before = Snapshot.objects.for_tenant(api.tenant).count()

    response = api.post("/api/v1/restores/", {"snapshot": snapshot_id, "paths": ["/a.txt"]})

    assert response.status_code == 202, response.content
    job = response.json()
    assert job["state"] == "succeeded" and job["finished_at"] is not None
    assert job["summary"]["restored"] == 1
    assert job["progress"]["done"] == job["progress"]["total"] == 1
    assert api.get(f"/api/v1/restores/{job['id']}").json()["state"] == "succeeded"
    # Still a job like any other: its pre-restore snapshot, its activity rows, the file back.
    pre_restore = Snapshot.objects.for_tenant(api.tenant).get(pk=job["pre_restore_snapshot"])
    assert pre_restore.kind == Snapshot.Kind.PRE_RESTORE
    assert Snapshot.objects.for_tenant(api.tenant).count() == snapshots_before + 1
    assert "/a.txt" not in selectors.tree_as_of(tenant=api.tenant, seq=pre_restore.seq)
    restored = Change.objects.for_tenant(api.tenant).filter(restore_job_id=job["id"], action=Change.Action.RESTORE)
    assert list(restored.values_list("path", flat=True)) == ["/a.txt"]
    assert "/a.txt" in api.tree()
    stored = RestoreJob.objects.for_tenant(api.tenant).get(pk=job["id"])
    assert (stored.attempts, stored.heartbeat_at is not None) == (1, True)  # claimed and run as the worker runs it


def test_a_folder_restore_still_goes_to_the_worker(api, celery_worker):
    snapshot_id = deleted_files(api, "/a.txt")

    response = api.post("/api/v1/restores/", {"snapshot": snapshot_id, "paths": ["/Folder"]})

    assert response.status_code == 202, response.content
    assert response.json()["state"] == "queued"
    job = wait_finished(api, response.json()["id"])
    assert (job["state"], job["summary"]["restored"]) == ("succeeded", 2)
    assert "/Folder/inside.txt" in api.tree()


def test_more_files_than_the_inline_limit_go_to_the_worker(api, celery_worker, settings):
    settings.RESTORE_INLINE_MAX_FILES = 2
    snapshot_id = deleted_files(api, "/a.txt", "/b.txt", "/c.txt")

    two = api.post("/api/v1/restores/", {"snapshot": snapshot_id, "paths": ["/a.txt", "/b.txt"]}).json()
    assert two["state"] == "succeeded"
    three = api.post("/api/v1/restores/", {"snapshot": snapshot_id, "paths": ["/a.txt", "/b.txt", "/c.txt"]}).json()
    assert three["state"] == "queued"
    job = wait_finished(api, three["id"])
    assert job["state"] == "succeeded"
    assert (job["summary"]["restored"], job["summary"]["unchanged"]) == (1, 2)
    assert {"/a.txt", "/b.txt", "/c.txt"} <= set(api.tree())


def test_an_inline_run_the_database_broke_off_after_a_batch_is_taken_back_by_the_worker(
    api, celery_worker, settings, monkeypatch
):
    """The run in the request commits its first batch, then the database breaks
    it off: the answer says queued, and the worker takes the job back from that
    run at once (its lease is still fresh) and finishes it from the next batch."""
    from django.db import OperationalError

    from snapshots.services import restore_runs

    settings.RESTORE_BATCH_ITEMS = 1
    snapshot_id = deleted_files(api, "/a.txt", "/b.txt")
    batches = 0
    groups = restore_runs.depth_groups

    def second_batch_broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal batches
        batches += 1
        if batches == 2:
            raise OperationalError("server closed the connection unexpectedly")
        return groups(*args, **kwargs)

    monkeypatch.setattr(restore_runs, "depth_groups", second_batch_broken)

    answer = api.post("/api/v1/restores/", {"snapshot": snapshot_id, "paths": ["/a.txt", "/b.txt"]})

    assert answer.status_code == 202, answer.content
    assert answer.json()["state"] == "running" and answer.json()["summary"]["restored"] == 1
    # Well before the lease (30 s) could run out: the worker did not wait for the stall check.
    job = wait_finished(api, answer.json()["id"], timeout=20)
    assert (job["state"], job["summary"]["restored"]) == ("succeeded", 2)
    assert RestoreJob.objects.for_tenant(api.tenant).get(pk=job["id"]).attempts == 2
    assert {"/a.txt", "/b.txt"} <= set(api.tree())
