"""What a restore does to the tree: items back as they were, conflict policies,
quota, missing bytes, counters (the worker flows are in test_restore_worker.py)."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import time_machine
from django.utils import timezone

from conftest import all_databases
from snapshots import selectors, services
from snapshots.models import Change, RestoreJob, Snapshot
from snapshots.services import RestoreRequest

pytestmark = all_databases


def write(made, path, content: bytes):
    return services.file_write(
        tenant=made.tenant, path=path, stream=io.BytesIO(content), content_length=len(content), acting_user=made.user
    )


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def run_now(made, **kwargs) -> RestoreJob:
    job = services.restore_start(tenant=made.tenant, acting_user=made.user, request=RestoreRequest(**kwargs))
    return services.restore_run(tenant=made.tenant, job_id=job.pk)


def test_restore_a_deleted_folder_from_a_snapshot_brings_back_the_same_bytes(make_tenant):
    made = make_tenant()
    write(made, "/Projects/plan.txt", b"plan")
    write(made, "/Projects/deep/spec.txt", b"spec")
    snapshot = services.snapshot_create(tenant=made.tenant, acting_user=made.user)
    services.node_delete(tenant=made.tenant, path="/Projects", acting_user=made.user)

    job = run_now(made, snapshot_id=snapshot.pk, paths=["/Projects"])

    assert job.state == RestoreJob.State.SUCCEEDED
    assert (job.total_items, job.done_items, job.restored, job.failed) == (4, 4, 4, 0)
    tree = selectors.tree_as_of(tenant=made.tenant)
    assert tree["/Projects/plan.txt"] == sha(b"plan")
    assert tree["/Projects/deep/spec.txt"] == sha(b"spec")
    assert selectors.live_usage(tenant=made.tenant).live_files == 2
    assert job.pre_restore_snapshot is not None and job.pre_restore_snapshot.kind == Snapshot.Kind.PRE_RESTORE


def test_restore_to_a_point_in_time_and_conflict_policies(make_tenant):
    made = make_tenant()
    start = timezone.now()
    with time_machine.travel(start - timedelta(days=1), tick=False):
        write(made, "/doc.txt", b"yesterday")
        write(made, "/keep.txt", b"keep")
    with time_machine.travel(start - timedelta(hours=1), tick=False):
        write(made, "/doc.txt", b"today")
    moment = start - timedelta(hours=20)

    renamed = run_now(made, at=moment, paths=["/doc.txt"], conflict="rename")
    assert renamed.renamed == 1
    tree = selectors.tree_as_of(tenant=made.tenant)
    local = timezone.localtime(moment, made.tenant.hub.zone)
    assert tree[f"/doc (restored {local:%Y-%m-%d %H:%M}).txt"] == sha(b"yesterday")
    assert tree["/doc.txt"] == sha(b"today")

    skipped = run_now(made, at=moment, paths=["/doc.txt"], conflict="skip")
    assert (skipped.skipped, skipped.restored) == (1, 0)

    overwritten = run_now(made, at=moment, paths=["/doc.txt", "/keep.txt"], conflict="overwrite")
    assert (overwritten.overwritten, overwritten.unchanged) == (1, 1)
    assert selectors.tree_as_of(tenant=made.tenant)["/doc.txt"] == sha(b"yesterday")
    # The overwritten version is not lost: the pre-restore snapshot still reads it.
    before = selectors.tree_as_of(tenant=made.tenant, seq=overwritten.pre_restore_snapshot.seq)
    assert before["/doc.txt"] == sha(b"today")


def test_restore_everything_into_a_new_folder(make_tenant):
    made = make_tenant()
    write(made, "/a.txt", b"a")
    write(made, "/F/b.txt", b"b")
    snapshot = services.snapshot_create(tenant=made.tenant, acting_user=made.user)
    services.node_delete(tenant=made.tenant, path="/a.txt", acting_user=made.user)
    job = run_now(made, snapshot_id=snapshot.pk, target="/Recovered")
    assert job.state == RestoreJob.State.SUCCEEDED
    tree = selectors.tree_as_of(tenant=made.tenant)
    assert tree["/Recovered/a.txt"] == sha(b"a")
    assert tree["/Recovered/F/b.txt"] == sha(b"b")
    assert tree["/F/b.txt"] == sha(b"b")


def _unlink(blob, *roles: str) -> None:
    from pathlib import Path

    from hubs.storage import facility_storage

    for role in roles:
        Path(facility_storage("uk", role).path(blob.storage_key)).unlink()


def test_a_file_whose_bytes_the_scrub_found_gone_fails_alone(make_tenant):
    from snapshots.scrub import scrub_pass

    made = make_tenant()
    lost = write(made, "/lost.txt", b"lost")
    write(made, "/fine.txt", b"fine")
    snapshot = services.snapshot_create(tenant=made.tenant, acting_user=made.user)
    services.node_delete(tenant=made.tenant, path="/lost.txt", acting_user=made.user)
    services.node_delete(tenant=made.tenant, path="/fine.txt", acting_user=made.user)
    _unlink(lost.blob, "primary", "alternate")
    assert scrub_pass(hub_code="uk", tenant_id=made.tenant.pk).lost == 1  # the database now knows

    job = run_now(made, snapshot_id=snapshot.pk)
    assert job.state == RestoreJob.State.SUCCEEDED
    assert (job.restored, job.failed) == (1, 1)
    assert job.failures == [{"path": "/lost.txt", "reason": "its content is missing from both facilities"}]
    assert "/fine.txt" in selectors.tree_as_of(tenant=made.tenant)


def test_the_storages_are_asked_only_where_the_database_says_a_copy_may_be_missing(make_tenant):
    """A blob waiting for replication is looked for in the storages: gone from
    both, it fails; with one copy left, it comes back. A blob the database knows
    nothing wrong about is not looked for (its bytes were in both facilities
    before its row committed; the scrub finds what vanished unnoticed)."""
    from snapshots.models import Blob

    made = make_tenant()
    gone = write(made, "/gone.txt", b"gone")
    half = write(made, "/half.txt", b"half")
    unnoticed = write(made, "/unnoticed.txt", b"unnoticed")
    snapshot = services.snapshot_create(tenant=made.tenant, acting_user=made.user)
    for path in ("/gone.txt", "/half.txt", "/unnoticed.txt"):
        services.node_delete(tenant=made.tenant, path=path, acting_user=made.user)
    Blob.objects.for_tenant(made.tenant).filter(pk__in=[gone.blob_id, half.blob_id]).update(needs_replication=True)
    _unlink(gone.blob, "primary", "alternate")
    _unlink(half.blob, "alternate")
    _unlink(unnoticed.blob, "primary", "alternate")

    job = run_now(made, snapshot_id=snapshot.pk)
    assert (job.restored, job.failed) == (2, 1)
    assert job.failures == [{"path": "/gone.txt", "reason": "its content is missing from both facilities"}]
    tree = selectors.tree_as_of(tenant=made.tenant)
    assert "/half.txt" in tree and "/unnoticed.txt" in tree and "/gone.txt" not in tree


def test_overwrite_restore_keeps_the_counters_exact(make_tenant):
    made = make_tenant()
    write(made, "/f.bin", b"x" * 100)
    snapshot = services.snapshot_create(tenant=made.tenant)
    write(made, "/f.bin", b"y" * 10)
    job = run_now(made, snapshot_id=snapshot.pk, conflict="overwrite")
    assert job.overwritten == 1
    assert selectors.live_usage(tenant=made.tenant).live_bytes == 100
    services.node_delete(tenant=made.tenant, path="/f.bin", acting_user=made.user)
    usage = selectors.live_usage(tenant=made.tenant)
    assert (usage.live_files, usage.live_bytes) == (0, 0)


def test_two_restored_items_with_one_name_in_one_folder(make_tenant):
    made = make_tenant()
    write(made, "/b/r.txt", b"from b")
    write(made, "/c/r.txt", b"from c")
    snapshot = services.snapshot_create(tenant=made.tenant)
    renamed = run_now(made, snapshot_id=snapshot.pk, paths=["/b/r.txt", "/c/r.txt"], target="/Recovered")
    assert renamed.state == RestoreJob.State.SUCCEEDED and (renamed.restored, renamed.renamed) == (1, 1)
    recovered = {p: v for p, v in selectors.tree_as_of(tenant=made.tenant).items() if p.startswith("/Recovered/")}
    assert len(recovered) == 2 and set(recovered.values()) == {sha(b"from b"), sha(b"from c")}
    skipped = run_now(made, snapshot_id=snapshot.pk, paths=["/b/r.txt", "/c/r.txt"], target="/Other", conflict="skip")
    assert skipped.state == RestoreJob.State.SUCCEEDED and (skipped.restored, skipped.skipped) == (1, 1)


def test_a_restore_job_stops_at_the_quota(make_tenant):
    from hubs.models import Tenant

    made = make_tenant()
    write(made, "/a.bin", b"a" * 6)
    write(made, "/b.bin", b"b" * 6)
    snapshot = services.snapshot_create(tenant=made.tenant)
    services.node_delete(tenant=made.tenant, path="/a.bin", acting_user=made.user)
    services.node_delete(tenant=made.tenant, path="/b.bin", acting_user=made.user)
    Tenant.objects.filter(pk=made.tenant.pk).update(quota_bytes=10)
    made.tenant.refresh_from_db()
    job = run_now(made, snapshot_id=snapshot.pk)
    assert (job.restored, job.failed) == (1, 1)
    assert job.failures[0]["reason"] == "not enough storage quota"
    assert selectors.live_usage(tenant=made.tenant).live_bytes == 6


def test_activity_records_what_a_restore_changed_item_by_item(make_tenant):
    made = make_tenant()
    write(made, "/Projects/a.txt", b"a")
    write(made, "/Projects/b.txt", b"b")
    write(made, "/Projects/sub/c.txt", b"c")
    snapshot = services.snapshot_create(tenant=made.tenant)
    write(made, "/Projects/a.txt", b"changed since")
    services.node_delete(tenant=made.tenant, path="/Projects/sub", acting_user=made.user)
    before = selectors.clock_now(tenant=made.tenant)

    job = run_now(made, snapshot_id=snapshot.pk, conflict="overwrite")

    assert (job.overwritten, job.restored, job.unchanged) == (1, 2, 1)
    changes = Change.objects.for_tenant(made.tenant).filter(seq__gt=before).order_by("id")
    # /Projects and b.txt were as they were: nothing to say about them.
    assert [(change.action, change.path) for change in changes] == [
        (Change.Action.RESTORE, "/Projects/a.txt"),
        (Change.Action.RESTORE, "/Projects/sub"),
        (Change.Action.RESTORE, "/Projects/sub/c.txt"),
    ]


def test_a_restores_changes_carry_its_job_over_all_its_batches(make_tenant, settings):
    settings.RESTORE_BATCH_ITEMS = 2
    made = make_tenant()
    write(made, "/Projects/plan.txt", b"plan")
    write(made, "/Projects/spec.txt", b"spec")
    write(made, "/notes", b"notes")
    snapshot = services.snapshot_create(tenant=made.tenant)
    services.node_delete(tenant=made.tenant, path="/Projects", acting_user=made.user)
    services.node_delete(tenant=made.tenant, path="/notes", acting_user=made.user)
    services.folder_create(tenant=made.tenant, path="/notes", acting_user=made.user)  # a folder has the name now

    job = run_now(made, snapshot_id=snapshot.pk, conflict="overwrite", target="/Back")

    changes = list(Change.objects.for_tenant(made.tenant).filter(restore_job_id=job.pk).order_by("id"))
    assert [(change.action, change.path) for change in changes] == [
        (Change.Action.MKDIR, "/Back"),
        (Change.Action.RESTORE, "/Back/Projects"),
        (Change.Action.RESTORE, "/Back/notes"),
        (Change.Action.RESTORE, "/Back/Projects/plan.txt"),
        (Change.Action.RESTORE, "/Back/Projects/spec.txt"),
    ]
    assert len({change.seq for change in changes}) == 2, "two batches, one group"
    assert all(change.node_id for change in changes)
    other = Change.objects.for_tenant(made.tenant).exclude(restore_job_id=job.pk)
    assert not other.filter(action=Change.Action.RESTORE).exists()

    # Overwriting an item of the other kind sends it to Recently deleted, and says so.
    replaced = run_now(made, snapshot_id=snapshot.pk, paths=["/notes"], conflict="overwrite")
    assert [
        (c.action, c.path)
        for c in Change.objects.for_tenant(made.tenant).filter(restore_job_id=replaced.pk).order_by("id")
    ] == [
        (Change.Action.DELETE, "/notes"),
        (Change.Action.RESTORE, "/notes"),
    ]
