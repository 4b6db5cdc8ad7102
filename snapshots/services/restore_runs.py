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
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

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
from snapshots.services.restore_request import restore_request_of

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


def _run_for(tenant: Tenant, job: RestoreJob) -> RestoreRun:
    planner = RestorePlanner(tenant=tenant, request=restore_request_of(job), folder_map=_folder_map_of(tenant, job))
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
            selectors.versions(tenant=tenant)
            .filter(node_id__in=node_ids[start : start + IDS_PER_QUERY], valid_to__isnull=True)
            .values_list("parent_id", "name", "kind")
        )
        placed.update(((parent_id, name), kind) for parent_id, name, kind in rows)
    return placed


def _execute(run: RestoreRun, plan: list[PlanItem], *, start: int, actor: Actor) -> str:
    """Run the plan from ``start`` in batches: the planner decides each group,
    the engine writes it, and each batch commits with the job's progress.
    After the last batch, the deleted folders the job brought back leave
    Recently deleted (restore_engine.trash_settle). Returns "done",
    "cancelled" or "superseded" (a newer run of the same job, say from a
    redelivered message, owns it now)."""
    job = run.job
    batch_items = settings.RESTORE_BATCH_ITEMS
    offset = start
    while offset < len(plan):
        job.refresh_from_db(fields=["cancel_requested"])
        if job.cancel_requested:
            finish_job(job, RestoreJob.State.CANCELLED, run.tally)
            return "cancelled"
        with change_step(tenant=run.tenant, actor=actor, restore_job_id=job.pk) as step:
            # The job row stays locked until this batch commits: one writer at a time.
            locked = RestoreJob.objects.for_tenant(run.tenant).select_for_update().get(pk=job.pk)
            if locked.attempts != run.attempt or locked.is_finished:
                return "superseded"
            if locked.done_items != offset:  # an older run committed more batches first
                offset = locked.done_items
                resumed = _run_for(run.tenant, locked)
                run.planner, run.tally = resumed.planner, resumed.tally
                if offset >= len(plan):
                    break
            batch = plan[offset : offset + batch_items]
            # Between batches the customer may have changed things: read the quota and the top folders again.
            run.planner.refresh()
            for group in depth_groups(batch, size=batch_items):
                decisions = run.planner.decide(group)
                decisions_apply(step, run.planner, decisions, job_id=job.pk)
                run.tally.add(decisions)
            _save_progress(job, run.tally, done=offset + len(batch))
        offset += len(batch)
    with change_step(tenant=run.tenant, actor=actor, restore_job_id=job.pk) as step:
        locked = RestoreJob.objects.for_tenant(run.tenant).select_for_update().get(pk=job.pk)
        if locked.attempts != run.attempt or locked.is_finished:
            return "superseded"
        trash_settle(step, job_id=job.pk)
    return "done"


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
    job.save(update_fields=["done_items", *tally.counts, "failures", "heartbeat_at"])


def finish_job(job: RestoreJob, state: str, tally: RestoreTally, error: str = "") -> None:
    job.state = state
    job.finished_at = timezone.now()
    job.error = error
    for name, value in tally.counts.items():
        setattr(job, name, value)
    job.failures = tally.failures
    job.save(update_fields=["state", "finished_at", "error", *tally.counts, "failures"])
    restore_finished_notify(job=job)


MAX_ATTEMPTS = 5
GAVE_UP = "The restore was interrupted five times and has stopped; what it restored is kept. Start it again."
INTERNAL_ERROR = "An internal error stopped the restore; what it restored is kept. Support has been alerted."


def restore_run(*, tenant: Tenant, job_id: int) -> RestoreJob | None:
    """Run (or resume) a restore job. Idempotent: a finished job is left alone,
    an interrupted one goes on from its last committed batch."""
    alias = hub_database_alias(tenant.hub_id)
    jobs = RestoreJob.objects.for_tenant(tenant)
    with transaction.atomic(using=alias):
        job = jobs.select_for_update().filter(pk=job_id).first()
        if job is None or job.is_finished:
            return job
        if job.cancel_requested:
            finish_job(job, RestoreJob.State.CANCELLED, RestoreTally())
            return job
        if job.attempts >= MAX_ATTEMPTS:
            finish_job(job, RestoreJob.State.FAILED, _tally_of(job), error=GAVE_UP)
            return job
        job.state = RestoreJob.State.RUNNING
        job.started_at = job.started_at or timezone.now()
        job.heartbeat_at = timezone.now()
        job.attempts += 1
        job.save(update_fields=["state", "started_at", "heartbeat_at", "attempts"])
    run = _run_for(tenant, job)
    actor = Actor(user_id=job.requested_by_user_id, label=job.requested_by_label, by_support=job.by_support)
    try:
        plan = restore_plan(tenant=tenant, request=run.planner.request)
        job.total_items = len(plan)
        job.heartbeat_at = timezone.now()  # planning a large restore takes a while
        job.save(update_fields=["total_items", "heartbeat_at"])
        ended = _execute(run, plan, start=job.done_items, actor=actor)
    except StoreError as exc:
        finish_job(job, RestoreJob.State.FAILED, run.tally, error=exc.detail)
        return job
    except Exception as exc:  # noqa: BLE001 - any other failure ends the job, named by its class only
        # The exception's text can quote a row (a file name): log ids and the class, never the message.
        logger.error("Restore job %s of tenant %s failed: %s", job.pk, tenant.pk, type(exc).__name__)
        finish_job(job, RestoreJob.State.FAILED, run.tally, error=INTERNAL_ERROR)
        return job
    job.refresh_from_db()
    if ended == "done" and not job.is_finished:
        finish_job(job, RestoreJob.State.SUCCEEDED, run.tally)
    return job


# A running job commits a batch at least every few seconds; one silent for
# five minutes lost its worker, and is queued again.
STALLED_AFTER = timedelta(minutes=5)


def restores_stalled(*, hub_code: str) -> list[tuple[int, int]]:
    """(tenant id, job id) of the jobs of a hub whose worker died (queued ones
    too, in case their message was lost); none while the hub is in an
    unavailable window (its jobs wait it out on their own). The task that runs
    every five minutes queues each again."""
    if hub_unavailable_until(hub_code=hub_code) is not None:
        return []  # its jobs wait out the window on their own
    cutoff = timezone.now() - STALLED_AFTER
    stalled = list(
        RestoreJob.objects.for_hub(hub_code)
        .filter(state__in=[RestoreJob.State.RUNNING, RestoreJob.State.QUEUED])
        .filter(Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff))
        .values_list("tenant_id", "pk")
    )
    known = set(Tenant.objects.filter(pk__in={tenant_id for tenant_id, _ in stalled}).values_list("pk", flat=True))
    return [(tenant_id, job_id) for tenant_id, job_id in stalled if tenant_id in known]
