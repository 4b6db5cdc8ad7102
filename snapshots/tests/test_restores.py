"""Snapshots and restores through the services (the worker flows are in
test_restore_worker.py)."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from conftest import all_databases
from snapshots import restores, selectors, services
from snapshots.errors import NotFound
from snapshots.models import NodeVersion, RestoreJob, Snapshot

pytestmark = all_databases


def write(made, path, content: bytes):
    return services.file_write(
        tenant=made.tenant, path=path, stream=io.BytesIO(content), content_length=len(content), acting_user=made.user
    )


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def run_now(made, **kwargs) -> RestoreJob:
    job = restores.restore_start(tenant=made.tenant, acting_user=made.user, **kwargs)
    return restores.restore_run(tenant=made.tenant, job_id=job.pk)


def test_snapshot_is_one_row_with_the_live_counts_and_copies_no_bytes(make_tenant):
    made = make_tenant()
    write(made, "/a/1.txt", b"one")
    write(made, "/a/2.txt", b"two!")
    versions_before = NodeVersion.objects.for_tenant(made.tenant).count()
    snapshot = restores.snapshot_create(tenant=made.tenant, acting_user=made.user, label="before cleanup")
    assert (snapshot.file_count, snapshot.byte_count) == (2, 7)
    assert snapshot.seq == selectors.clock_now(tenant=made.tenant)
    assert snapshot.kind == Snapshot.Kind.MANUAL
    assert NodeVersion.objects.for_tenant(made.tenant).count() == versions_before
    assert restores.snapshot_expires_at(snapshot) == snapshot.taken_at + timedelta(days=28)


def test_restore_a_deleted_folder_from_a_snapshot_brings_back_the_same_bytes(make_tenant):
    made = make_tenant()
    write(made, "/Projects/plan.txt", b"plan")
    write(made, "/Projects/deep/spec.txt", b"spec")
    snapshot = restores.snapshot_create(tenant=made.tenant, acting_user=made.user)
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
    snapshot = restores.snapshot_create(tenant=made.tenant, acting_user=made.user)
    services.node_delete(tenant=made.tenant, path="/a.txt", acting_user=made.user)
    job = run_now(made, snapshot_id=snapshot.pk, target="/Recovered")
    assert job.state == RestoreJob.State.SUCCEEDED
    tree = selectors.tree_as_of(tenant=made.tenant)
    assert tree["/Recovered/a.txt"] == sha(b"a")
    assert tree["/Recovered/F/b.txt"] == sha(b"b")
    assert tree["/F/b.txt"] == sha(b"b")


def test_dry_run_previews_exactly_and_changes_nothing(make_tenant):
    made = make_tenant()
    write(made, "/x.txt", b"old")
    write(made, "/y.txt", b"y")
    snapshot = restores.snapshot_create(tenant=made.tenant, acting_user=made.user)
    write(made, "/x.txt", b"new")
    services.node_delete(tenant=made.tenant, path="/y.txt", acting_user=made.user)
    seq_before = selectors.clock_now(tenant=made.tenant)
    tree_before = selectors.tree_as_of(tenant=made.tenant)

    preview = restores.restore_preview(tenant=made.tenant, acting_user=made.user, snapshot_id=snapshot.pk)

    assert preview.counts["renamed"] == 1 and preview.counts["restored"] == 1
    assert {item["action"] for item in preview.items} == {"renamed", "restored"}
    assert selectors.clock_now(tenant=made.tenant) == seq_before
    assert selectors.tree_as_of(tenant=made.tenant) == tree_before
    assert RestoreJob.objects.for_tenant(made.tenant).count() == 0


def test_bad_restore_requests_are_refused_and_start_nothing(make_tenant):
    made, other = make_tenant(), make_tenant()
    write(made, "/a.txt", b"a")
    foreign = restores.snapshot_create(tenant=other.tenant, acting_user=other.user)
    mine = restores.snapshot_create(tenant=made.tenant, acting_user=made.user)
    refusals = [
        ({"snapshot_id": foreign.pk}, NotFound),
        ({"snapshot_id": 999_999}, NotFound),
        ({"at": timezone.now() - timedelta(days=29)}, restores.OutsideRetention),
        ({"at": timezone.now() + timedelta(days=1)}, restores.OutsideRetention),
        ({"snapshot_id": mine.pk, "paths": ["/never-existed"]}, NotFound),
        ({"snapshot_id": mine.pk, "paths": ["/a.txt"], "target": "/a.txt/inside"}, restores.RestoreRefused),
        ({"snapshot_id": mine.pk, "target": "/a.txt"}, restores.RestoreRefused),
        ({"snapshot_id": mine.pk, "conflict": "explode"}, restores.RestoreRefused),
        ({"snapshot_id": mine.pk, "at": timezone.now()}, restores.RestoreRefused),
    ]
    for kwargs, error in refusals:
        with pytest.raises(error):
            restores.restore_start(tenant=made.tenant, acting_user=made.user, **kwargs)
    assert RestoreJob.objects.for_tenant(made.tenant).count() == 0


def test_a_file_whose_bytes_are_gone_fails_alone(make_tenant):
    from pathlib import Path

    from hubs.storage import facility_storage

    made = make_tenant()
    lost = write(made, "/lost.txt", b"lost")
    write(made, "/fine.txt", b"fine")
    snapshot = restores.snapshot_create(tenant=made.tenant, acting_user=made.user)
    services.node_delete(tenant=made.tenant, path="/lost.txt", acting_user=made.user)
    services.node_delete(tenant=made.tenant, path="/fine.txt", acting_user=made.user)
    for role in ("primary", "alternate"):
        Path(facility_storage("uk", role).path(lost.blob.storage_key)).unlink()

    job = run_now(made, snapshot_id=snapshot.pk)
    assert job.state == RestoreJob.State.SUCCEEDED
    assert (job.restored, job.failed) == (1, 1)
    assert job.failures == [{"path": "/lost.txt", "reason": "its content is missing from both facilities"}]
    assert "/fine.txt" in selectors.tree_as_of(tenant=made.tenant)


def test_cancel_and_rerun_are_idempotent(make_tenant):
    made = make_tenant()
    write(made, "/a.txt", b"a")
    snapshot = restores.snapshot_create(tenant=made.tenant, acting_user=made.user)
    services.node_delete(tenant=made.tenant, path="/a.txt", acting_user=made.user)
    queued = restores.restore_start(tenant=made.tenant, acting_user=made.user, snapshot_id=snapshot.pk)
    cancelled = restores.restore_cancel(tenant=made.tenant, job_id=queued.pk, acting_user=made.user)
    assert cancelled.state == RestoreJob.State.CANCELLED
    assert restores.restore_run(tenant=made.tenant, job_id=queued.pk).state == RestoreJob.State.CANCELLED
    assert "/a.txt" not in selectors.tree_as_of(tenant=made.tenant)

    done = run_now(made, snapshot_id=snapshot.pk)
    seq = selectors.clock_now(tenant=made.tenant)
    again = restores.restore_run(tenant=made.tenant, job_id=done.pk)
    assert again.state == RestoreJob.State.SUCCEEDED
    assert selectors.clock_now(tenant=made.tenant) == seq, "running a finished job again changes nothing"


def test_requester_is_emailed_when_a_restore_ends_without_file_names(make_tenant, django_capture_on_commit_callbacks):
    made = make_tenant()
    write(made, "/secret-project.txt", b"s")
    snapshot = restores.snapshot_create(tenant=made.tenant, acting_user=made.user)
    services.node_delete(tenant=made.tenant, path="/secret-project.txt", acting_user=made.user)
    with django_capture_on_commit_callbacks(execute=False, using="hub_uk") as callbacks:
        job = run_now(made, snapshot_id=snapshot.pk)
    from snapshots.tasks import restore_finished_email_task

    restore_finished_email_task.apply(
        kwargs={"user_id": made.user.pk, "restore_job_id": job.pk, "state": job.state, "counts": {"restored": 1}}
    )
    assert callbacks, "the email is queued after the job's transaction commits"
    message = mail.outbox[-1]
    assert message.to == [made.user.email]
    assert "has finished" in message.subject
    assert "secret-project" not in message.body
    assert f"/restores/{job.pk}/" in message.body


def test_scheduled_snapshots_follow_each_tenants_schedule(make_tenant):
    from hubs.models import Tenant

    hourly = make_tenant(hub="hk").tenant
    daily = make_tenant(hub="hk").tenant
    Tenant.objects.filter(pk=daily.pk).update(snapshot_schedule="daily")
    elsewhere = make_tenant(hub="uk").tenant
    start = timezone.now()

    assert restores.snapshots_take_scheduled(hub_code="hk", now=start) == 2
    assert restores.snapshots_take_scheduled(hub_code="hk", now=start) == 0, "not twice"
    assert restores.snapshots_take_scheduled(hub_code="hk", now=start + timedelta(minutes=58)) == 1
    assert restores.snapshots_take_scheduled(hub_code="hk", now=start + timedelta(hours=24)) == 2
    scheduled = Snapshot.objects.for_tenant(hourly).filter(kind=Snapshot.Kind.SCHEDULED).count()
    assert scheduled == 3
    assert Snapshot.objects.for_tenant(daily).filter(kind=Snapshot.Kind.SCHEDULED).count() == 2
    assert Snapshot.objects.for_tenant(elsewhere).count() == 0


def test_stalled_jobs_are_queued_again(make_tenant, django_capture_on_commit_callbacks):
    made = make_tenant()
    write(made, "/a.txt", b"a")
    snapshot = restores.snapshot_create(tenant=made.tenant)
    job = restores.restore_start(tenant=made.tenant, acting_user=made.user, snapshot_id=snapshot.pk)
    RestoreJob.objects.for_tenant(made.tenant).filter(pk=job.pk).update(
        state=RestoreJob.State.RUNNING, heartbeat_at=timezone.now() - timedelta(minutes=6)
    )
    assert restores.restores_resume_stalled(hub_code="uk") == [job.pk]
    assert restores.restores_resume_stalled(hub_code="de") == []


def test_an_earlier_version_becomes_current_again_without_copying_bytes(make_tenant):
    from snapshots.models import Blob

    made = make_tenant()
    first = write(made, "/doc.txt", b"first")
    write(made, "/doc.txt", b"second")
    versions = selectors.file_versions(tenant=made.tenant, node_id=first.node_id)
    assert [v.size for v in versions] == [6, 5]

    restored = services.version_restore(tenant=made.tenant, version_id=first.pk, acting_user=made.user)
    assert restored.node_id == first.node_id and restored.blob_id == first.blob_id
    assert selectors.tree_as_of(tenant=made.tenant)["/doc.txt"] == sha(b"first")
    assert Blob.objects.for_tenant(made.tenant).count() == 2
    assert len(selectors.file_versions(tenant=made.tenant, node_id=first.node_id)) == 3

    services.node_delete(tenant=made.tenant, path="/doc.txt", acting_user=made.user)
    write(made, "/doc.txt", b"a new file of the same name")
    back = services.version_restore(tenant=made.tenant, version_id=first.pk, acting_user=made.user)
    assert back.name == "doc (restored).txt"
    assert selectors.trash_items(tenant=made.tenant).items == []
    assert selectors.live_usage(tenant=made.tenant).live_files == 2

    other = make_tenant()
    with pytest.raises(NotFound):
        services.version_restore(tenant=other.tenant, version_id=first.pk, acting_user=other.user)


def test_overwrite_restore_keeps_the_counters_exact(make_tenant):
    made = make_tenant()
    write(made, "/f.bin", b"x" * 100)
    snapshot = restores.snapshot_create(tenant=made.tenant)
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
    snapshot = restores.snapshot_create(tenant=made.tenant)
    renamed = run_now(made, snapshot_id=snapshot.pk, paths=["/b/r.txt", "/c/r.txt"], target="/Recovered")
    assert renamed.state == RestoreJob.State.SUCCEEDED and (renamed.restored, renamed.renamed) == (1, 1)
    recovered = {p: v for p, v in selectors.tree_as_of(tenant=made.tenant).items() if p.startswith("/Recovered/")}
    assert len(recovered) == 2 and set(recovered.values()) == {sha(b"from b"), sha(b"from c")}
    skipped = run_now(made, snapshot_id=snapshot.pk, paths=["/b/r.txt", "/c/r.txt"], target="/Other", conflict="skip")
    assert skipped.state == RestoreJob.State.SUCCEEDED and (skipped.restored, skipped.skipped) == (1, 1)


def test_a_moment_before_the_account_existed_is_refused(make_tenant):
    made = make_tenant()
    with pytest.raises(restores.OutsideRetention, match="did not exist yet"):
        restores.restore_preview(tenant=made.tenant, acting_user=made.user, at=timezone.now() - timedelta(days=2))


def test_a_restore_job_stops_at_the_quota(make_tenant):
    from hubs.models import Tenant

    made = make_tenant()
    write(made, "/a.bin", b"a" * 6)
    write(made, "/b.bin", b"b" * 6)
    snapshot = restores.snapshot_create(tenant=made.tenant)
    services.node_delete(tenant=made.tenant, path="/a.bin", acting_user=made.user)
    services.node_delete(tenant=made.tenant, path="/b.bin", acting_user=made.user)
    Tenant.objects.filter(pk=made.tenant.pk).update(quota_bytes=10)
    made.tenant.refresh_from_db()
    job = run_now(made, snapshot_id=snapshot.pk)
    assert (job.restored, job.failed) == (1, 1)
    assert job.failures[0]["reason"] == "not enough storage quota"
    assert selectors.live_usage(tenant=made.tenant).live_bytes == 6


def test_a_job_that_keeps_failing_gives_up_and_an_unexpected_error_fails_it(make_tenant, monkeypatch):
    made = make_tenant()
    write(made, "/a.txt", b"a")
    snapshot = restores.snapshot_create(tenant=made.tenant)
    job = restores.restore_start(tenant=made.tenant, acting_user=made.user, snapshot_id=snapshot.pk)

    def boom(*args, **kwargs):
        raise RuntimeError("secret-name.txt in a message")

    monkeypatch.setattr(restores, "restore_plan", boom)
    failed = restores.restore_run(tenant=made.tenant, job_id=job.pk)
    assert failed.state == RestoreJob.State.FAILED and failed.error == restores.INTERNAL_ERROR
    assert "secret-name" not in failed.error

    stuck = restores.restore_start(tenant=made.tenant, acting_user=made.user, snapshot_id=snapshot.pk)
    RestoreJob.objects.for_tenant(made.tenant).filter(pk=stuck.pk).update(
        state=RestoreJob.State.RUNNING, attempts=restores.MAX_ATTEMPTS
    )
    assert restores.restore_run(tenant=made.tenant, job_id=stuck.pk).error == restores.GAVE_UP


def test_a_superseded_run_stops_without_writing(make_tenant):
    made = make_tenant()
    write(made, "/a.txt", b"a")
    snapshot = restores.snapshot_create(tenant=made.tenant)
    services.node_delete(tenant=made.tenant, path="/a.txt", acting_user=made.user)
    job = restores.restore_start(tenant=made.tenant, acting_user=made.user, snapshot_id=snapshot.pk)
    request = restores.restore_request_of(job)
    plan = restores.restore_plan(tenant=made.tenant, request=request)
    stale = restores._run_for(made.tenant, request, job.pk, 0)
    stale.attempt = 99  # a newer run of the job has started since
    RestoreJob.objects.for_tenant(made.tenant).filter(pk=job.pk).update(state=RestoreJob.State.RUNNING, attempts=100)
    seq = selectors.clock_now(tenant=made.tenant)
    restores._execute(stale, plan, start=0, actor=services.actor_for(made.user), job=job)
    assert selectors.clock_now(tenant=made.tenant) == seq
    assert "/a.txt" not in selectors.tree_as_of(tenant=made.tenant)


def test_two_runs_of_one_job_give_the_tree_of_one_run(make_tenant, settings):
    """A redelivered message starts a second run while the first is mid-job: the
    newer run takes over from the last committed batch, the older one stops."""
    settings.RESTORE_BATCH_ITEMS = 2
    made = make_tenant()
    for i in range(7):
        write(made, f"/d/f{i}.txt", f"{i}".encode())
    snapshot = restores.snapshot_create(tenant=made.tenant)
    services.node_delete(tenant=made.tenant, path="/d", acting_user=made.user)
    job = restores.restore_start(tenant=made.tenant, acting_user=made.user, snapshot_id=snapshot.pk)
    request = restores.restore_request_of(job)
    plan = restores.restore_plan(tenant=made.tenant, request=request)
    older = restores._run_for(made.tenant, request, job.pk, 0)
    older.attempt = 1
    RestoreJob.objects.for_tenant(made.tenant).filter(pk=job.pk).update(state="running", attempts=1)
    # The older run commits its first batch only, as if it were slow.
    assert restores._execute(older, plan[:2], start=0, actor=services.actor_for(made.user), job=job) == "done"

    newer = restores.restore_run(tenant=made.tenant, job_id=job.pk)  # attempt 2 resumes at item 2
    assert restores._execute(older, plan, start=2, actor=services.actor_for(made.user), job=job) == "superseded"

    assert newer.state == RestoreJob.State.SUCCEEDED and newer.done_items == len(plan) == 8
    assert newer.restored == 8
    tree = selectors.tree_as_of(tenant=made.tenant)
    assert sorted(p for p in tree if p.startswith("/d/")) == [f"/d/f{i}.txt" for i in range(7)]
