"""Restore jobs as people ask for them: started (validated, after a pre-restore
snapshot, queued on the tenant's hub, or run at once when they are a few
files) and cancelled. The run itself is ``restore_runs``; a preview
(restore_planner.restore_preview) asks the same planner the run does and
writes nothing.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone

from hubs.routing import hub_database_alias
from snapshots.errors import NotFound, RestoreFinished
from snapshots.models import Change, RestoreJob, Snapshot
from snapshots.paths import join_path
from snapshots.services.kernel import actor_for
from snapshots.services.restore_planner import RestoreTally
from snapshots.services.restore_request import RestoreRequest, ValidatedRestore, restore_validate
from snapshots.services.restore_runs import RestoreInterrupted, finish_job, restore_run
from snapshots.services.snapshots import snapshot_create
from snapshots.tasks import restore_run_task

if TYPE_CHECKING:
    from hubs.models import Tenant
    from portal.models import User

logger = logging.getLogger(__name__)


def restore_start(
    *,
    tenant: Tenant,
    request: RestoreRequest,
    acting_user: User | None,
    by_support: bool = False,
    at_once: bool = True,
) -> RestoreJob:
    """Validate a restore, take a pre-restore snapshot (so the restore can be
    undone) and queue the job on the tenant's hub queue; a few files named one
    by one run at once instead, and the job comes back finished (``at_once=False``
    queues them too: the file-transaction probe proves the hub's worker runs restores)."""
    validated = restore_validate(tenant=tenant, request=request)
    inline = at_once and restore_runs_inline(validated)
    actor = actor_for(acting_user, by_support=by_support)
    alias = hub_database_alias(tenant.hub_id)
    now = timezone.now()
    # Outside a caller's transaction the run starts the moment the job commits, so the job is made
    # running (its lease taken) and the run needs no claim of its own. Inside one, the run waits for
    # the caller's commit: the job is made queued and the run claims it then, as a worker would.
    claimed = inline and not transaction.get_connection(alias).in_atomic_block
    with transaction.atomic(using=alias):
        pre_restore = pre_restore_snapshot_take(
            tenant=tenant, validated=validated, acting_user=acting_user, by_support=by_support
        )
        job = RestoreJob.objects.for_tenant(tenant).create(
            snapshot=validated.source.snapshot,
            source_seq=validated.source.seq,
            source_at=validated.source.at,
            paths=[join_path(names) for names in validated.paths],
            target=join_path(validated.target) if validated.target is not None else "",
            conflict=validated.conflict,
            mode=validated.mode,
            requested_by_user_id=actor.user_id,
            requested_by_label=actor.label,
            by_support=by_support,
            pre_restore_snapshot=pre_restore,
            created_at=now,
            **(
                {"state": RestoreJob.State.RUNNING, "started_at": now, "heartbeat_at": now, "attempts": 1}
                if claimed
                else {}
            ),
        )

        ran: list[RestoreJob | None] = []
        transaction.on_commit(
            lambda: _run_or_queue(tenant, job, validated if inline else None, ran, claimed=claimed), using=alias
        )
    if ran and ran[0] is not None and ran[0].is_finished:
        return ran[0]  # run here and finished: the run's own object is the row as it committed
    if inline:
        job.refresh_from_db()  # finished, unless a caller's transaction holds the run back until it commits
    return job


# How long one person's pre-restore snapshot serves their next restores of files.
PRE_RESTORE_SHARED_FOR = timedelta(minutes=10)


def pre_restore_snapshot_take(
    *, tenant: Tenant, validated: ValidatedRestore, acting_user: User | None, by_support: bool = False
) -> Snapshot:
    """The snapshot a restore is undone from: a new one, or the tenant's newest
    snapshot when it can stand for one. A client copying a folder out of
    ``.snapshots`` file by file (rclone does) starts a restore per file, and a
    snapshot for each would bury the tenant's list under hundreds of
    "Before a restore" in a minute.

    The newest snapshot stands for a new one when it is a pre-restore snapshot
    of the same person, taken within PRE_RESTORE_SHARED_FOR, the restore is of
    files named one by one (at most RESTORE_INLINE_MAX_FILES), and nothing
    changed any of the paths it writes since that snapshot: for those paths
    the snapshot shows what a new one would, so undoing this restore from it
    undoes exactly this restore (a folder made above them since is no change
    to them: nothing was at those paths then, nor before the restore). A
    restore of a folder or of everything, an exact one, one from a moment
    rather than a snapshot, one whose source is at or after that snapshot (an
    undo), or one that writes a path a change since touched, gets a snapshot
    of its own. The newest snapshot comes with the source's read
    (``RestoreSource.newest``): no query of its own."""
    actor = actor_for(acting_user, by_support=by_support)
    shared = _pre_restore_shareable(tenant, validated, actor_user_id=actor.user_id, actor_label=actor.label)
    if shared is not None:
        return shared
    return snapshot_create(
        tenant=tenant, kind=Snapshot.Kind.PRE_RESTORE, acting_user=acting_user, by_support=by_support
    )


def _pre_restore_shareable(
    tenant: Tenant, validated: ValidatedRestore, *, actor_user_id: int | None, actor_label: str
) -> Snapshot | None:
    if not validated.files_only or validated.exact or len(validated.paths) > settings.RESTORE_INLINE_MAX_FILES:
        return None
    newest = validated.source.newest  # read with the source snapshot; None for a moment
    if (
        newest is None
        or newest.kind != Snapshot.Kind.PRE_RESTORE
        or (newest.created_by_user_id, newest.created_by_label) != (actor_user_id, actor_label)
        or newest.taken_at < timezone.now() - PRE_RESTORE_SHARED_FOR
        # A source at or after it (an undo of the restores it stands before) reads what they wrote.
        or validated.source.seq >= newest.seq
    ):
        return None
    written = [(*validated.target, names[-1]) if validated.target is not None else names for names in validated.paths]
    # A change since at a written path, or to a folder above one (moved away,
    # deleted, replaced), would show in the snapshot as it was, not as this
    # restore found it; a folder made since above one (a client's MKCOL before
    # its COPY) had nothing at the path then or now.
    paths = {join_path(names) for names in written}
    above = {join_path(names[:depth]) for names in written for depth in range(1, len(names))} - paths
    touched = (
        Q(path__in=paths) | Q(previous_path__in=paths | above) | (Q(path__in=above) & ~Q(action=Change.Action.MKDIR))
    )
    if Change.objects.for_tenant(tenant).filter(touched, seq__gt=newest.seq).exists():
        return None
    return newest


def restore_runs_inline(validated: ValidatedRestore) -> bool:
    """Whether a restore runs in the request that starts it: a few files named
    one by one (the plan is those files and nothing more, so the run takes
    milliseconds); anything with a folder, or everything, goes to the hub's worker."""
    return validated.files_only and len(validated.paths) <= settings.RESTORE_INLINE_MAX_FILES


def _run_or_queue(
    tenant: Tenant, job: RestoreJob, validated: ValidatedRestore | None, ran: list[RestoreJob | None], *, claimed: bool
) -> None:
    """After the job's row commits: run it here (``validated`` given: the
    request as validated, its paths resolved), or queue it on the hub's worker.
    ``claimed``: the job was made running, its lease taken. The run's job goes
    into ``ran``.

    An inline run is the worker's run (restore_run: the same claim, lease,
    batches and finish), so a process that dies in the middle leaves a job
    the stall check resumes like any other. A run that cannot start here (the
    database busy, say) is queued instead of failing the request."""
    if validated is not None:
        try:
            ran.append(restore_run(tenant=tenant, job_id=job.pk, request=validated, claimed=job if claimed else None))
            return
        except Exception as exc:  # noqa: BLE001 - the worker gets the job instead; ids and the class only
            logger.warning(
                "Restore job %s of tenant %s not run inline (%s); queued", job.pk, tenant.pk, type(exc).__name__
            )
            if claimed:
                _lease_return(tenant, job)
            if isinstance(exc, RestoreInterrupted):
                # Broken off after a batch: the worker takes the job back from this run at once.
                restore_run_task.delay(tenant_id=tenant.pk, job_id=job.pk, resume_attempt=exc.attempt)
                return
    restore_run_task.delay(tenant_id=tenant.pk, job_id=job.pk)


def _lease_return(tenant: Tenant, job: RestoreJob) -> None:
    """An inline run that could not start gives its lease back, so the worker
    claims the job at once; if even that fails (the database still busy), the
    stall check takes the job back when the lease runs out."""
    try:
        RestoreJob.objects.for_tenant(tenant).filter(
            pk=job.pk, state=RestoreJob.State.RUNNING, attempts=job.attempts, done_items=0
        ).update(state=RestoreJob.State.QUEUED)
    except DatabaseError as exc:
        logger.warning("Restore job %s of tenant %s keeps its lease (%s)", job.pk, tenant.pk, type(exc).__name__)


def restore_cancel(*, tenant: Tenant, job_id: int, acting_user: User | None) -> RestoreJob:
    """Ask a job to stop after its current batch; a queued job stops at once."""
    with transaction.atomic(using=hub_database_alias(tenant.hub_id)):
        job = RestoreJob.objects.for_tenant(tenant).select_for_update().filter(pk=job_id).first()
        if job is None:
            raise NotFound(f"There is no restore job {job_id}.")
        if job.is_finished:
            raise RestoreFinished(f"The restore already ended ({job.get_state_display().lower()}).")
        job.cancel_requested = True
        job.save(update_fields=["cancel_requested"])
        if job.state == RestoreJob.State.QUEUED:
            finish_job(job, RestoreJob.State.CANCELLED, RestoreTally())
    return job
