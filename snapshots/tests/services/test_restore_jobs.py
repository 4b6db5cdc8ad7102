"""Restore jobs: cancel, rerun, the email, stalled and superseded runs."""

from __future__ import annotations

import hashlib
import io
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from conftest import all_databases
from hubs.models import Tenant
from snapshots import selectors, services
from snapshots.models import RestoreJob
from snapshots.services import RestoreRequest, restore_runs
from snapshots.tasks import resume_stalled_restores_task

pytestmark = all_databases


def write(made, path, content: bytes):
    return services.file_write(
        tenant=made.tenant, path=path, stream=io.BytesIO(content), content_length=len(content), acting_user=made.user
    )


def run_now(made, **kwargs) -> RestoreJob:
    job = services.restore_start(tenant=made.tenant, acting_user=made.user, request=RestoreRequest(**kwargs))
    return services.restore_run(tenant=made.tenant, job_id=job.pk)


def ours(found: list, tenant: Tenant) -> list:
    """What a hub-wide stall check found of this test's tenant: the hub's
    database is shared, and a job another test left behind is not this one's."""
    jobs = set(RestoreJob.objects.for_tenant(tenant).values_list("pk", flat=True))
    return [item for item in found if (item[0] == tenant.pk if isinstance(item, tuple) else item in jobs)]


def resumed_of(tenant: Tenant) -> list:
    return ours(resume_stalled_restores_task(hub_code="uk"), tenant)


def test_cancel_and_rerun_are_idempotent(make_tenant):
    made = make_tenant()
    write(made, "/a.txt", b"a")
    snapshot = services.snapshot_create(tenant=made.tenant, acting_user=made.user)
    services.node_delete(tenant=made.tenant, path="/a.txt", acting_user=made.user)
    queued = services.restore_start(
        tenant=made.tenant, acting_user=made.user, request=RestoreRequest(snapshot_id=snapshot.pk)
    )
    cancelled = services.restore_cancel(tenant=made.tenant, job_id=queued.pk, acting_user=made.user)
    assert cancelled.state == RestoreJob.State.CANCELLED
    assert services.restore_run(tenant=made.tenant, job_id=queued.pk).state == RestoreJob.State.CANCELLED
    assert "/a.txt" not in selectors.tree_as_of(tenant=made.tenant)

    done = run_now(made, snapshot_id=snapshot.pk)
    seq = selectors.clock_now(tenant=made.tenant)
    again = services.restore_run(tenant=made.tenant, job_id=done.pk)
    assert again.state == RestoreJob.State.SUCCEEDED
    assert selectors.clock_now(tenant=made.tenant) == seq, "running a finished job again changes nothing"


def test_requester_is_emailed_when_a_restore_ends_without_file_names(make_tenant, django_capture_on_commit_callbacks):
    made = make_tenant()
    write(made, "/secret-project.txt", b"s")
    snapshot = services.snapshot_create(tenant=made.tenant, acting_user=made.user)
    services.node_delete(tenant=made.tenant, path="/secret-project.txt", acting_user=made.user)
    with django_capture_on_commit_callbacks(execute=False, using="hub_uk") as callbacks:
        job = run_now(made, snapshot_id=snapshot.pk)
    from snapshots.notifications import restore_finished_email_task

    restore_finished_email_task.apply(
        kwargs={"user_id": made.user.pk, "restore_job_id": job.pk, "state": job.state, "counts": {"restored": 1}}
    )
    assert callbacks, "the email is queued after the job's transaction commits"
    message = mail.outbox[-1]
    assert message.to == [made.user.email]
    assert "has finished" in message.subject
    assert "secret-project" not in message.body
    assert f"/restores/{job.pk}/" in message.body


def test_stalled_jobs_are_queued_again(make_tenant, django_capture_on_commit_callbacks):
    made = make_tenant()
    write(made, "/a.txt", b"a")
    snapshot = services.snapshot_create(tenant=made.tenant)
    job = services.restore_start(
        tenant=made.tenant, acting_user=made.user, request=RestoreRequest(snapshot_id=snapshot.pk)
    )
    jobs = RestoreJob.objects.for_tenant(made.tenant)
    jobs.filter(pk=job.pk).update(state=RestoreJob.State.RUNNING, heartbeat_at=timezone.now() - timedelta(seconds=25))
    assert resumed_of(made.tenant) == [], "a lease renewed 25 s ago is held"
    jobs.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=31))
    assert ours(services.restores_stalled(hub_code="uk"), made.tenant) == [(made.tenant.pk, job.pk)]
    assert resumed_of(made.tenant) == [job.pk]
    taken_back = jobs.get(pk=job.pk)
    assert taken_back.state == RestoreJob.State.QUEUED, "taken back: the dead run no longer holds it"
    probe_sees = services.restores_stalled(hub_code="uk", older_than=timedelta(minutes=2))
    assert ours(probe_sees, made.tenant) == [], "the probe waits 2 min"
    assert resumed_of(made.tenant) == [], "claimed once: a second check queues nothing more"
    assert resume_stalled_restores_task(hub_code="de") == []
    resumed = services.restore_run(tenant=made.tenant, job_id=job.pk)
    assert (resumed.state, resumed.attempts) == (RestoreJob.State.SUCCEEDED, 1)


def test_a_queued_job_whose_message_was_lost_is_queued_again_once_a_period(make_tenant):
    made = make_tenant()
    write(made, "/a.txt", b"a")
    snapshot = services.snapshot_create(tenant=made.tenant)
    job = services.restore_start(
        tenant=made.tenant, acting_user=made.user, request=RestoreRequest(snapshot_id=snapshot.pk)
    )
    jobs = RestoreJob.objects.for_tenant(made.tenant)
    assert resumed_of(made.tenant) == [], "just queued: its message is on its way"
    jobs.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(seconds=31))
    assert resumed_of(made.tenant) == [job.pk]
    assert resumed_of(made.tenant) == [], "one more message a stall period, not one a check"
    assert jobs.get(pk=job.pk).state == RestoreJob.State.QUEUED


def test_a_stall_check_loses_to_a_lease_renewed_meanwhile(make_tenant, monkeypatch):
    """The claim is conditional on the heartbeat the check read: a run that
    renewed its lease in between keeps its job."""
    made = make_tenant()
    write(made, "/a.txt", b"a")
    snapshot = services.snapshot_create(tenant=made.tenant)
    job = services.restore_start(
        tenant=made.tenant, acting_user=made.user, request=RestoreRequest(snapshot_id=snapshot.pk)
    )
    jobs = RestoreJob.objects.for_tenant(made.tenant)
    jobs.filter(pk=job.pk).update(state=RestoreJob.State.RUNNING, heartbeat_at=timezone.now() - timedelta(minutes=1))
    found = restore_runs._stalled_rows("uk", restore_runs.stalled_after())
    jobs.filter(pk=job.pk).update(heartbeat_at=timezone.now())  # the run's heartbeat thread, just in time
    monkeypatch.setattr(restore_runs, "_stalled_rows", lambda hub_code, older_than: found)  # read before the renewal
    assert ours(services.restores_stalled_claim(hub_code="uk"), made.tenant) == []
    assert jobs.get(pk=job.pk).state == RestoreJob.State.RUNNING


def test_a_second_message_for_a_job_whose_lease_is_held_does_nothing(make_tenant):
    made = make_tenant()
    write(made, "/a.txt", b"a")
    snapshot = services.snapshot_create(tenant=made.tenant)
    services.node_delete(tenant=made.tenant, path="/a.txt", acting_user=made.user)
    job = services.restore_start(
        tenant=made.tenant, acting_user=made.user, request=RestoreRequest(snapshot_id=snapshot.pk)
    )
    jobs = RestoreJob.objects.for_tenant(made.tenant)
    jobs.filter(pk=job.pk).update(state=RestoreJob.State.RUNNING, attempts=1, heartbeat_at=timezone.now())
    seq = selectors.clock_now(tenant=made.tenant)
    again = services.restore_run(tenant=made.tenant, job_id=job.pk)  # a redelivered message
    assert (again.state, again.attempts, again.done_items) == (RestoreJob.State.RUNNING, 1, 0)
    assert selectors.clock_now(tenant=made.tenant) == seq, "nothing written"
    jobs.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=31))  # its worker died
    resumed = services.restore_run(tenant=made.tenant, job_id=job.pk)
    assert (resumed.state, resumed.attempts, resumed.restored) == (RestoreJob.State.SUCCEEDED, 2, 1)


@pytest.mark.django_db(databases="__all__", transaction=True)  # the lease thread has its own connection
def test_a_run_renews_its_lease_while_it_plans(make_tenant, settings, monkeypatch):
    """The heartbeat comes from a thread, so a long planning phase (no batch
    committed yet) keeps the lease; the renewal only touches the run's own claim."""
    settings.RESTORE_HEARTBEAT_SECONDS = 0.01
    made = make_tenant()
    write(made, "/a.txt", b"a")
    snapshot = services.snapshot_create(tenant=made.tenant)
    job = services.restore_start(
        tenant=made.tenant, acting_user=made.user, request=RestoreRequest(snapshot_id=snapshot.pk)
    )
    jobs = RestoreJob.objects.for_tenant(made.tenant)
    jobs.filter(pk=job.pk).update(
        state=RestoreJob.State.RUNNING, attempts=1, heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    renewed = []
    planning = restore_runs.restore_plan

    def slow_plan(**kwargs):
        # Poll (with a deadline) for the lease thread's renewal, seen through the row's own history.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not renewed:
            beat = restore_runs.RestoreJob.objects.for_tenant(made.tenant).get(pk=job.pk).heartbeat_at
            if beat > timezone.now() - timedelta(seconds=5):
                renewed.append(beat)
        return planning(**kwargs)

    monkeypatch.setattr(restore_runs, "restore_plan", slow_plan)
    finished = services.restore_run(tenant=made.tenant, job_id=job.pk)
    assert finished.state == RestoreJob.State.SUCCEEDED and renewed


def test_a_job_that_keeps_failing_gives_up_and_an_unexpected_error_fails_it(make_tenant, monkeypatch):
    made = make_tenant()
    write(made, "/a.txt", b"a")
    snapshot = services.snapshot_create(tenant=made.tenant)
    job = services.restore_start(
        tenant=made.tenant, acting_user=made.user, request=RestoreRequest(snapshot_id=snapshot.pk)
    )

    def boom(*args, **kwargs):
        raise RuntimeError("secret-name.txt in a message")

    monkeypatch.setattr(restore_runs, "restore_plan", boom)
    failed = services.restore_run(tenant=made.tenant, job_id=job.pk)
    assert failed.state == RestoreJob.State.FAILED and failed.error == services.INTERNAL_ERROR
    assert "secret-name" not in failed.error

    stuck = services.restore_start(
        tenant=made.tenant, acting_user=made.user, request=RestoreRequest(snapshot_id=snapshot.pk)
    )
    RestoreJob.objects.for_tenant(made.tenant).filter(pk=stuck.pk).update(
        state=RestoreJob.State.RUNNING, attempts=services.MAX_ATTEMPTS
    )
    assert services.restore_run(tenant=made.tenant, job_id=stuck.pk).error == services.GAVE_UP


def test_a_superseded_run_stops_without_writing(make_tenant):
    made = make_tenant()
    write(made, "/a.txt", b"a")
    snapshot = services.snapshot_create(tenant=made.tenant)
    services.node_delete(tenant=made.tenant, path="/a.txt", acting_user=made.user)
    job = services.restore_start(
        tenant=made.tenant, acting_user=made.user, request=RestoreRequest(snapshot_id=snapshot.pk)
    )
    request = services.restore_request_of(job)
    plan = services.restore_plan(tenant=made.tenant, request=request)
    stale = restore_runs._run_for(made.tenant, job)
    stale.attempt = 99  # a newer run of the job has started since
    RestoreJob.objects.for_tenant(made.tenant).filter(pk=job.pk).update(state=RestoreJob.State.RUNNING, attempts=100)
    seq = selectors.clock_now(tenant=made.tenant)
    restore_runs._execute(stale, plan, start=0, actor=services.actor_for(made.user))
    assert selectors.clock_now(tenant=made.tenant) == seq
    assert "/a.txt" not in selectors.tree_as_of(tenant=made.tenant)


def test_two_runs_of_one_job_give_the_tree_of_one_run(make_tenant, settings):
    """A run too slow to renew its lease (its lease expired mid-job) has the job
    taken back by the stall check: the newer run takes over from the last
    committed batch, the older one stops at its next batch."""
    settings.RESTORE_BATCH_ITEMS = 2
    made = make_tenant()
    for i in range(7):
        write(made, f"/d/f{i}.txt", f"{i}".encode())
    snapshot = services.snapshot_create(tenant=made.tenant)
    services.node_delete(tenant=made.tenant, path="/d", acting_user=made.user)
    job = services.restore_start(
        tenant=made.tenant, acting_user=made.user, request=RestoreRequest(snapshot_id=snapshot.pk)
    )
    request = services.restore_request_of(job)
    plan = services.restore_plan(tenant=made.tenant, request=request)
    older = restore_runs._run_for(made.tenant, job)
    older.attempt = 1
    RestoreJob.objects.for_tenant(made.tenant).filter(pk=job.pk).update(state="running", attempts=1)
    # The older run commits its first batch only, as if it were slow.
    assert restore_runs._execute(older, plan[:2], start=0, actor=services.actor_for(made.user)) == "done"
    RestoreJob.objects.for_tenant(made.tenant).filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=31)
    )
    assert ours(services.restores_stalled_claim(hub_code="uk"), made.tenant) == [(made.tenant.pk, job.pk)]

    newer = services.restore_run(tenant=made.tenant, job_id=job.pk)  # attempt 2 resumes at item 2
    assert restore_runs._execute(older, plan, start=2, actor=services.actor_for(made.user)) == "superseded"

    assert newer.state == RestoreJob.State.SUCCEEDED and newer.done_items == len(plan) == 8
    assert newer.restored == 8
    tree = selectors.tree_as_of(tenant=made.tenant)
    assert sorted(p for p in tree if p.startswith("/d/")) == [f"/d/f{i}.txt" for i in range(7)]


def test_a_resumed_run_never_writes_over_what_its_first_batches_placed(make_tenant, settings):
    """Two restored files want one name: the first batch places one, the run
    dies, and the resumed run skips the other (overwrite never takes what the
    restore itself placed), as one uninterrupted run does."""
    settings.RESTORE_BATCH_ITEMS = 1
    made = make_tenant()
    write(made, "/a/r.txt", b"from a")
    write(made, "/b/r.txt", b"from b")
    snapshot = services.snapshot_create(tenant=made.tenant)
    request = RestoreRequest(snapshot_id=snapshot.pk, paths=("/a/r.txt", "/b/r.txt"), target="/T", conflict="overwrite")
    preview = services.restore_preview(tenant=made.tenant, request=request)
    job = services.restore_start(tenant=made.tenant, acting_user=made.user, request=request)
    plan = services.restore_plan(tenant=made.tenant, request=services.restore_request_of(job))
    first = restore_runs._run_for(made.tenant, job)
    first.attempt = 1
    RestoreJob.objects.for_tenant(made.tenant).filter(pk=job.pk).update(state="running", attempts=1)
    assert restore_runs._execute(first, plan[:1], start=0, actor=services.actor_for(made.user)) == "done"
    RestoreJob.objects.for_tenant(made.tenant).filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=31)
    )

    resumed = services.restore_run(tenant=made.tenant, job_id=job.pk)  # the worker died; a new one goes on

    assert (resumed.restored, resumed.skipped, resumed.overwritten) == (1, 1, 0)
    assert preview.counts == {outcome: getattr(resumed, outcome) for outcome in preview.counts}
    assert selectors.tree_as_of(tenant=made.tenant)["/T/r.txt"] == hashlib.sha256(b"from a").hexdigest()


def test_a_restore_task_may_run_for_hours_not_the_default_fifteen_minutes():
    """A restore of millions of files runs longer than the project-wide soft
    limit; it must not be ended as an internal error at 15 minutes."""
    from django.conf import settings

    from snapshots.tasks import restore_run_task

    assert restore_run_task.soft_time_limit >= 6 * 3600
    assert restore_run_task.time_limit > restore_run_task.soft_time_limit
    assert settings.CELERY_TASK_SOFT_TIME_LIMIT < restore_run_task.soft_time_limit
