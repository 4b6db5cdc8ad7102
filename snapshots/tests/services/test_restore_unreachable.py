"""A restore whose hub database cannot be reached (a failover under way, the
connection broken) is not failed: a run that had not begun is tried again by
its task, and a run broken in the middle is tried again by its task, which
takes its own job back and goes on from the last committed batch (the stall
check stays the net for a task that is lost). The drill met both cases: a
restore queued just before a failover ran into the old primary and was not
tried again (the probe's transaction took 47 s instead of 3), and a run broken
in the middle kept a fresh lease that its retry refused to take over, so the
job waited for a stall check that no beat ran."""

from __future__ import annotations

import io
from datetime import timedelta

import time_machine
from django.db import OperationalError
from django.utils import timezone

from conftest import all_databases
from snapshots import selectors, services
from snapshots.models import RestoreJob
from snapshots.services import RestoreRequest, restore_runs
from snapshots.services.restore_runs import RestoreInterrupted
from snapshots.tasks import restore_run_task

pytestmark = all_databases


def deleted_after_snapshot(made, path: str = "/a.txt") -> int:
    services.file_write(tenant=made.tenant, path=path, stream=io.BytesIO(b"a"), content_length=1, acting_user=made.user)
    snapshot = services.snapshot_create(tenant=made.tenant, acting_user=made.user)
    services.node_delete(tenant=made.tenant, path=path, acting_user=made.user)
    return snapshot.pk


def queued_job(made, snapshot_id: int) -> RestoreJob:
    return services.restore_start(
        tenant=made.tenant,
        acting_user=made.user,
        request=RestoreRequest(snapshot_id=snapshot_id, paths=("/a.txt",)),
        at_once=False,
    )


def test_the_task_tries_again_when_the_database_could_not_be_reached(make_tenant, monkeypatch) -> None:
    made = make_tenant()
    job = queued_job(made, deleted_after_snapshot(made))
    claims: list[int] = []
    claim = restore_runs._claim

    def unreachable_once(tenant, job_id, **kwargs):  # type: ignore[no-untyped-def]
        claims.append(job_id)
        if len(claims) == 1:
            raise OperationalError("connection refused")  # the old primary, before the side cache moved on
        return claim(tenant, job_id, **kwargs)

    monkeypatch.setattr(restore_runs, "_claim", unreachable_once)

    outcome = restore_run_task.apply(kwargs={"tenant_id": made.tenant.pk, "job_id": job.pk})

    assert outcome.successful(), outcome.traceback
    assert claims == [job.pk, job.pk]
    assert RestoreJob.objects.for_tenant(made.tenant).get(pk=job.pk).state == RestoreJob.State.SUCCEEDED
    assert selectors.node_at_path(tenant=made.tenant, path="/a.txt").size == 1


def broken_run(made, job: RestoreJob, monkeypatch) -> RestoreInterrupted:
    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OperationalError("server closed the connection unexpectedly")

    with monkeypatch.context() as patched:
        patched.setattr(restore_runs, "_execute", broken)
        try:
            services.restore_run(tenant=made.tenant, job_id=job.pk)
        except RestoreInterrupted as interrupted:
            return interrupted
    raise AssertionError("the run should have said the database broke it off")


def test_a_run_broken_in_the_middle_keeps_its_job_and_names_its_attempt(make_tenant, monkeypatch) -> None:
    made = make_tenant()
    job = queued_job(made, deleted_after_snapshot(made))

    interrupted = broken_run(made, job, monkeypatch)

    held = RestoreJob.objects.for_tenant(made.tenant).get(pk=job.pk)
    assert held.state == RestoreJob.State.RUNNING and held.error == ""  # not failed
    assert interrupted.attempt == held.attempts == 1
    assert isinstance(interrupted.__cause__, OperationalError)
    # A duplicate message leaves a fresh lease alone ...
    assert services.restore_run(tenant=made.tenant, job_id=job.pk).state == RestoreJob.State.RUNNING
    # ... and so does a retry naming a run that is not the one holding it.
    again = services.restore_run(tenant=made.tenant, job_id=job.pk, resume_attempt=0)
    assert again is not None and again.state == RestoreJob.State.RUNNING and again.attempts == 1
    # The retry of the broken run takes it over at once, from its last batch.
    resumed = services.restore_run(tenant=made.tenant, job_id=job.pk, resume_attempt=interrupted.attempt)
    assert resumed is not None and resumed.state == RestoreJob.State.SUCCEEDED and resumed.attempts == 2
    assert selectors.node_at_path(tenant=made.tenant, path="/a.txt").size == 1


def test_the_task_takes_back_a_run_the_database_broke_off(make_tenant, monkeypatch) -> None:
    made = make_tenant()
    job = queued_job(made, deleted_after_snapshot(made))
    runs: list[int | None] = []
    execute = restore_runs._execute

    def broken_once(run, *args, **kwargs):  # type: ignore[no-untyped-def]
        runs.append(run.attempt)
        if len(runs) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return execute(run, *args, **kwargs)

    monkeypatch.setattr(restore_runs, "_execute", broken_once)

    outcome = restore_run_task.apply(kwargs={"tenant_id": made.tenant.pk, "job_id": job.pk})

    assert outcome.successful(), outcome.traceback
    assert runs == [1, 2]  # the retry ran the job itself, not the stall check
    finished = RestoreJob.objects.for_tenant(made.tenant).get(pk=job.pk)
    assert finished.state == RestoreJob.State.SUCCEEDED and finished.attempts == 2
    assert selectors.node_at_path(tenant=made.tenant, path="/a.txt").size == 1


def test_the_stall_check_still_resumes_a_broken_run_whose_task_was_lost(make_tenant, monkeypatch) -> None:
    made = make_tenant()
    job = queued_job(made, deleted_after_snapshot(made))
    broken_run(made, job, monkeypatch)

    with time_machine.travel(timezone.now() + timedelta(minutes=5), tick=False):
        claimed = restore_runs.restores_stalled_claim(hub_code=made.tenant.hub_id)
        assert (made.tenant.pk, job.pk) in claimed
        resumed = services.restore_run(tenant=made.tenant, job_id=job.pk)
    assert resumed is not None and resumed.state == RestoreJob.State.SUCCEEDED
    assert selectors.node_at_path(tenant=made.tenant, path="/a.txt").size == 1
