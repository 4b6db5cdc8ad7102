"""Restore runs: a job run and resumed in batches, on the hub's worker, and the
jobs whose worker died. Nothing here queues a restore (that is
``restore_jobs``), so the task module imports this one without importing
itself back.

A restore runs as a job in batches. Each batch is one change step: its rows,
the job's progress and the folder map commit together, so a worker killed in
the middle of a batch loses the whole batch and the job, started again, goes
on from the last committed one and ends with the tree one clean run gives.
The planner decides what happens to each item and the engine writes exactly
that; a preview (restore_planner.restore_preview) asks the same planner and
writes nothing.

A run holds the job by a lease: the job is ``running`` and its
``heartbeat_at`` is fresh. A thread of the run renews it every
``RESTORE_HEARTBEAT_SECONDS`` (10 s) while the run lives, planning included,
and dies with its process. A second message for the job (a redelivery, a
duplicate) finds the lease held and does nothing; a lease older than
``RESTORE_STALLED_SECONDS`` (30 s) belongs to a dead worker, and the stall
check (every 20 s on the hub's queue) takes it back with a conditional update
and queues the job again, so a worker killed mid-restore is resumed well
within a minute, on any broker. Every batch checks, under the job row's lock,
that its run still holds the job, and resumes from ``done_items``: no batch is
applied twice and no two runs write one job.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, OperationalError, connections, transaction
from django.db.models import Q
from django.utils import timezone

from hubs.errors import DATABASE_UNREACHABLE
from hubs.models import Tenant
from hubs.routing import hub_database_alias
from hubs.selectors import hub_unavailable_until
from snapshots import selectors
from snapshots.errors import StoreError
from snapshots.models import Change, RestoreFolderMap, RestoreJob
from snapshots.notifications import restore_finished_notify
from snapshots.services.kernel import IDS_PER_QUERY, Actor, change_step
from snapshots.services.restore_conflicts import OUTCOMES
from snapshots.services.restore_engine import decisions_apply, trash_settle
from snapshots.services.restore_plan import PlanItem, depth_groups, restore_plan
from snapshots.services.restore_planner import FolderRef, RestorePlanner, RestoreTally
from snapshots.services.restore_request import ValidatedRestore, restore_request_of

if TYPE_CHECKING:
    pass

logger = logging.getLogger(__name__)


@dataclass
class RestoreRun:
    """What a run of a job carries from batch to batch; a resumed run rebuilds
    it from the job row and its folder map."""

    tenant: Tenant
    job: RestoreJob
    planner: RestorePlanner
    tally: RestoreTally
    attempt: int


def _run_for(tenant: Tenant, job: RestoreJob, request: ValidatedRestore | None = None) -> RestoreRun:
    """The run of ``job``; ``request``: the job's request as validated in this
    process (it carries the resolved paths), else rebuilt from the job row."""
    # A job with no committed batch has placed nothing and mapped no folder (both commit with a batch).
    started = job.done_items > 0
    planner = RestorePlanner(
        tenant=tenant,
        request=request or restore_request_of(job),
        folder_map=_folder_map_of(tenant, job) if started else None,
        refresh=False,  # each batch refreshes first
    )
    if started:
        planner.placed.update(_placed_by(tenant, job))
    return RestoreRun(tenant=tenant, job=job, planner=planner, tally=_tally_of(job), attempt=job.attempts)


def _placed_by(tenant: Tenant, job: RestoreJob) -> dict[tuple[FolderRef, str], str]:
    """The names a job's committed batches placed (its activity rows name the
    nodes), so a resumed run treats them as the first run did: taken by
    another restored item, never written over."""
    node_ids = sorted(
        Change.objects.for_tenant(tenant)
        .filter(restore_job_id=job.pk, action=Change.Action.RESTORE)
        .values_list("node_id", flat=True)
    )
    placed: dict[tuple[FolderRef, str], str] = {}
    for start in range(0, len(node_ids), IDS_PER_QUERY):
        rows = (
            selectors.versions_of_nodes(tenant=tenant, node_ids=node_ids[start : start + IDS_PER_QUERY])
            .filter(valid_to__isnull=True)
            .values_list("parent_id", "name", "kind")
        )
        placed.update(((parent_id, name), kind) for parent_id, name, kind in rows)
    return placed


def _execute(
    run: RestoreRun, plan: list[PlanItem], *, start: int, actor: Actor, fresh: bool = False, finish: bool = False
) -> str:
    """Run the plan from ``start`` in batches: the planner decides each group,
    the engine writes it, and each batch commits with the job's progress.
    After the last batch, the deleted folders the job brought back leave
    Recently deleted (restore_engine.trash_settle). Returns "done",
    "finished" (with ``finish``: done, and the job finished in its last
    batch's commit, having no folder to settle), "cancelled" or "superseded" (a newer run of the same job, say
    from a redelivered message, owns it now). ``fresh``: the job row was just
    read under its lock, so the first batch need not ask for a cancel again."""
    job = run.job
    batch_items = settings.RESTORE_BATCH_ITEMS
    offset = start
    while offset < len(plan):
        if not fresh:
            job.refresh_from_db(fields=["cancel_requested"])
        fresh = False
        if job.cancel_requested:
            finish_job(job, RestoreJob.State.CANCELLED, run.tally)
            return "cancelled"
        with change_step(tenant=run.tenant, actor=actor, restore_job_id=job.pk) as step:
            # The job row stays locked until this batch commits: one writer at a time.
            locked = RestoreJob.objects.for_tenant(run.tenant).select_for_update().get(pk=job.pk)
            if not _holds(locked, run):
                return "superseded"
            if locked.done_items != offset:  # an older run committed more batches first
                offset = locked.done_items
                resumed = _run_for(run.tenant, locked)
                run.planner, run.tally = resumed.planner, resumed.tally
                if offset >= len(plan):
                    break
            batch = plan[offset : offset + batch_items]
            # Between batches the customer may have changed things: read the quota and the top folders again.
            run.planner.refresh(root_id=step.clock.root_id)
            for group in depth_groups(batch, size=batch_items):
                decisions = run.planner.decide(group)
                decisions_apply(step, run.planner, decisions, job_id=job.pk)
                run.tally.add(decisions)
            if finish and offset + len(batch) >= len(plan) and not run.planner.folder_map:
                # The last batch, and no folder to settle: the job ends in this batch's commit.
                job.done_items = offset + len(batch)
                job.heartbeat_at = timezone.now()
                finish_job(job, RestoreJob.State.SUCCEEDED, run.tally, also=("done_items", "heartbeat_at"))
                return "finished"
            _save_progress(job, run.tally, done=offset + len(batch))
        offset += len(batch)
    if not run.planner.folder_map:
        return "done"  # no folder placed (a restore of files): nothing to settle, and no step to take
    with change_step(tenant=run.tenant, actor=actor, restore_job_id=job.pk) as step:
        locked = RestoreJob.objects.for_tenant(run.tenant).select_for_update().get(pk=job.pk)
        if not _holds(locked, run):
            return "superseded"
        trash_settle(step, job_id=job.pk)
    return "done"


def _holds(locked: RestoreJob, run: RestoreRun) -> bool:
    """Whether ``run`` still holds the job (read under the job row's lock): no
    newer run claimed it, and the stall check did not take it back."""
    return locked.attempts == run.attempt and locked.state == RestoreJob.State.RUNNING


def _folder_map_of(tenant: Tenant, job: RestoreJob) -> dict[int, int | None]:
    return dict(
        RestoreFolderMap.objects.for_tenant(tenant).filter(job=job).values_list("source_node_id", "target_node_id")
    )


def _tally_of(job: RestoreJob) -> RestoreTally:
    tally = RestoreTally()
    tally.counts = {outcome: getattr(job, outcome) for outcome in OUTCOMES}
    tally.failures = list(job.failures)
    return tally


def _save_progress(job: RestoreJob, tally: RestoreTally, *, done: int) -> None:
    job.done_items = done
    for name, value in tally.counts.items():
        setattr(job, name, value)
    job.failures = tally.failures
    job.heartbeat_at = timezone.now()
    job.save(update_fields=["done_items", "total_items", *tally.counts, "failures", "heartbeat_at"])


def finish_job(
    job: RestoreJob, state: str, tally: RestoreTally, error: str = "", *, also: tuple[str, ...] = ()
) -> None:
    """End the job (``also``: more fields of the job to save in the same update)."""
    job.state = state
    job.finished_at = timezone.now()
    job.error = error
    for name, value in tally.counts.items():
        setattr(job, name, value)
    job.failures = tally.failures
    job.save(update_fields=["state", "finished_at", "error", "total_items", *tally.counts, "failures", *also])
    restore_finished_notify(job=job)


MAX_ATTEMPTS = 5
GAVE_UP = "The restore was interrupted five times and has stopped; what it restored is kept. Start it again."
INTERNAL_ERROR = "An internal error stopped the restore; what it restored is kept. Support has been alerted."


class RestoreInterrupted(OperationalError):
    """The hub database broke off a run in the middle (a failover, a broken
    connection). The job is not failed: its task tries again and takes the job
    back from ``attempt``, the run that ended here, whose lease is still fresh.
    Still a database error to any other caller (an API answers 503)."""

    def __init__(self, *, job_id: int, attempt: int) -> None:
        super().__init__(f"restore job {job_id}: run {attempt} broken off by the database")
        self.attempt = attempt


def restore_run(
    *,
    tenant: Tenant,
    job_id: int,
    request: ValidatedRestore | None = None,
    claimed: RestoreJob | None = None,
    resume_attempt: int | None = None,
) -> RestoreJob | None:
    """Run (or resume) a restore job. Idempotent: a finished job is left alone,
    an interrupted one goes on from its last committed batch. ``request``: the
    job's request as restore_start validated it (an inline run), so its paths
    are not resolved again; ``claimed``: the job, made already running (its
    lease taken) in the transaction that made it (an inline run);
    ``resume_attempt``: the run of this job that RestoreInterrupted ended, whose
    lease this run may take over at once."""
    alias = hub_database_alias(tenant.hub_id)
    jobs = RestoreJob.objects.for_tenant(tenant)
    if claimed is not None:
        job = claimed
    else:
        found, mine = _claim(tenant, job_id, resume_attempt=resume_attempt)
        if found is None or not mine:
            return found
        job = found
    run = _run_for(tenant, job, request)
    actor = Actor(user_id=job.requested_by_user_id, label=job.requested_by_label, by_support=job.by_support)
    try:
        with _lease_kept(tenant, job_id=job.pk, attempt=run.attempt):
            plan = restore_plan(tenant=tenant, request=run.planner.request)
            job.total_items = len(plan)
            if len(plan) > settings.RESTORE_BATCH_ITEMS:
                job.save(update_fields=["total_items"])  # shown while the batches run; one batch saves it itself
            # A one-batch plan starts at once: the claim above read the cancel flag under the job's lock.
            fresh = len(plan) <= settings.RESTORE_BATCH_ITEMS
            ended = _execute(run, plan, start=job.done_items, actor=actor, fresh=fresh, finish=True)
    except StoreError as exc:
        finish_job(job, RestoreJob.State.FAILED, run.tally, error=exc.detail)
        return job
    except DATABASE_UNREACHABLE as exc:
        # The database went away (a failover, say): the job is not failed. The
        # task tries again and takes the job back from this run (should the
        # task be lost, the lease runs out and the stall check resumes it); it
        # goes on from its last committed batch.
        logger.warning("Restore job %s of tenant %s: database unreachable; it resumes", job.pk, tenant.pk)
        raise RestoreInterrupted(job_id=job.pk, attempt=run.attempt) from exc
    except Exception as exc:  # noqa: BLE001 - any other failure ends the job, named by its class only
        # The exception's text can quote a row (a file name): log ids and the class, never the message.
        logger.error("Restore job %s of tenant %s failed: %s", job.pk, tenant.pk, type(exc).__name__)
        finish_job(job, RestoreJob.State.FAILED, run.tally, error=INTERNAL_ERROR)
        return job
    if ended == "finished":
        return job  # ended with its last batch, as this object says
    if ended == "done":
        with transaction.atomic(using=alias):
            # Under the lock: a run that took the job over meanwhile finishes it itself, so it ends (and emails) once.
            if _holds(jobs.select_for_update().get(pk=job.pk), run):
                finish_job(job, RestoreJob.State.SUCCEEDED, run.tally)
    job.refresh_from_db()
    return job


def _claim(tenant: Tenant, job_id: int, *, resume_attempt: int | None = None) -> tuple[RestoreJob | None, bool]:
    """Take the job's lease for this run: the job, and whether this run holds
    it now (else it is finished, held by a live run, or was just ended). A
    lease still held by ``resume_attempt`` is taken over: that run has ended."""
    alias = hub_database_alias(tenant.hub_id)
    jobs = RestoreJob.objects.for_tenant(tenant)
    with transaction.atomic(using=alias):
        job = jobs.select_for_update().filter(pk=job_id).first()
        if job is None or job.is_finished:
            return job, False
        taken_over = job.state == RestoreJob.State.RUNNING and job.attempts == resume_attempt
        if job.state == RestoreJob.State.RUNNING and not taken_over and not _lease_expired(job.heartbeat_at):
            # Another run holds the job and is alive (a redelivered or duplicate
            # message): leave it; if that run dies, the stall check resumes the job.
            logger.info("Restore job %s of tenant %s is running elsewhere; not started twice", job.pk, tenant.pk)
            return job, False
        if job.cancel_requested:
            finish_job(job, RestoreJob.State.CANCELLED, RestoreTally())
            return job, False
        if job.attempts >= MAX_ATTEMPTS:
            finish_job(job, RestoreJob.State.FAILED, _tally_of(job), error=GAVE_UP)
            return job, False
        job.state = RestoreJob.State.RUNNING
        job.started_at = job.started_at or timezone.now()
        job.heartbeat_at = timezone.now()
        job.attempts += 1
        job.save(update_fields=["state", "started_at", "heartbeat_at", "attempts"])
    return job, True


def _lease_expired(heartbeat_at: datetime | None) -> bool:
    return heartbeat_at is None or heartbeat_at < timezone.now() - stalled_after()


def stalled_after() -> timedelta:
    """A lease not renewed for this long belongs to a dead worker: three missed
    heartbeats (10 s apart by default), so a busy database never loses one."""
    return timedelta(seconds=settings.RESTORE_STALLED_SECONDS)


@contextmanager
def _lease_kept(tenant: Tenant, *, job_id: int, attempt: int) -> Iterator[None]:
    """Renew the job's lease from a thread while the block runs. The renewal
    is conditional on this run still holding the job, so it never takes a job
    back; a failed renewal (a database busy for a moment) is tried again on the
    next beat. The thread closes its own database connection when it ends."""
    stop = threading.Event()
    jobs = RestoreJob.objects.for_tenant(tenant).filter(pk=job_id, attempts=attempt, state=RestoreJob.State.RUNNING)

    def renew() -> None:
        try:
            while not stop.wait(settings.RESTORE_HEARTBEAT_SECONDS):
                try:
                    jobs.update(heartbeat_at=timezone.now())
                except DatabaseError as exc:
                    logger.warning("Restore job %s: heartbeat not written (%s)", job_id, type(exc).__name__)
        finally:
            connections.close_all()

    beat = threading.Thread(target=renew, name=f"restore-{job_id}-lease", daemon=True)
    beat.start()
    try:
        yield
    finally:
        stop.set()
        beat.join()


def restores_stalled(*, hub_code: str, older_than: timedelta | None = None) -> list[tuple[int, int]]:
    """(tenant id, job id) of the jobs of a hub whose lease expired (by
    ``older_than``, the stall period by default; queued ones too, in case their
    message was lost); none while the hub is in an unavailable window (its jobs
    wait it out on their own). Read only: the ``restores.stalled`` probe reports
    them; ``restores_stalled_claim`` takes them back."""
    rows = _stalled_rows(hub_code, older_than or stalled_after())
    return [(tenant_id, job_id) for tenant_id, job_id, _state, _heartbeat in rows]


def _stalled_rows(hub_code: str, older_than: timedelta) -> list[tuple[int, int, str, datetime | None]]:
    if hub_unavailable_until(hub_code=hub_code) is not None:
        return []  # its jobs wait out the window on their own
    cutoff = timezone.now() - older_than
    stalled = list(
        RestoreJob.objects.for_hub(hub_code)
        .filter(state__in=[RestoreJob.State.RUNNING, RestoreJob.State.QUEUED])
        .filter(Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff))
        .values_list("tenant_id", "pk", "state", "heartbeat_at")
    )
    known = set(Tenant.objects.filter(pk__in={row[0] for row in stalled}).values_list("pk", flat=True))
    return [row for row in stalled if row[0] in known]


def restores_stalled_claim(*, hub_code: str) -> list[tuple[int, int]]:
    """Take back the jobs whose lease expired and return (tenant id, job id)
    of each, for its task to queue again.

    A running job is taken back with a conditional update on the heartbeat the
    check read (``running`` to ``queued``): two checks never both take it, and
    a run that renewed its lease in between keeps it (were the dead run only
    slow, it stops at its next batch). The heartbeat is left as it was, so the
    probe still sees how long the job has gone without a live run. A queued job
    (a message lost, or one waiting behind a long queue) gets one more message
    per stall period at most: an atomic ``cache.add`` is the claim.
    """
    claimed = []
    period = stalled_after()
    for tenant_id, job_id, state, heartbeat_at in _stalled_rows(hub_code, period):
        if state == RestoreJob.State.RUNNING:
            rows = RestoreJob.objects.for_hub(hub_code).filter(pk=job_id, state=state, heartbeat_at=heartbeat_at)
            if rows.update(state=RestoreJob.State.QUEUED) != 1:
                continue
            cache.set(_requeued_key(job_id), 1, timeout=period.total_seconds())
            logger.warning("Restore job %s of tenant %s lost its worker; queued again", job_id, tenant_id)
        elif not cache.add(_requeued_key(job_id), 1, timeout=period.total_seconds()):
            continue
        claimed.append((tenant_id, job_id))
    return claimed


def _requeued_key(job_id: int) -> str:
    return f"restore-requeued:{job_id}"
