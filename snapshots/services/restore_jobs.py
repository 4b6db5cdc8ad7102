"""Restore jobs as people ask for them: started (validated, after a pre-restore
snapshot, queued on the tenant's hub) and cancelled. The run itself is
``restore_runs``; a preview (restore_planner.restore_preview) asks the same
planner the run does and writes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from hubs.routing import hub_database_alias
from snapshots.errors import NotFound, RestoreFinished
from snapshots.models import RestoreJob, Snapshot
from snapshots.paths import join_path
from snapshots.services.kernel import actor_for
from snapshots.services.restore_planner import RestoreTally
from snapshots.services.restore_request import RestoreRequest, restore_validate
from snapshots.services.restore_runs import finish_job
from snapshots.services.snapshots import snapshot_create
from snapshots.tasks import restore_run_task

if TYPE_CHECKING:
    from hubs.models import Tenant
    from portal.models import User


def restore_start(
    *,
    tenant: Tenant,
    request: RestoreRequest,
    acting_user: User | None,
    by_support: bool = False,
) -> RestoreJob:
    """Validate a restore, take a pre-restore snapshot (so the restore can be
    undone) and queue the job on the tenant's hub queue."""
    validated = restore_validate(tenant=tenant, request=request)
    actor = actor_for(acting_user, by_support=by_support)
    alias = hub_database_alias(tenant.hub_id)
    with transaction.atomic(using=alias):
        pre_restore = snapshot_create(
            tenant=tenant, kind=Snapshot.Kind.PRE_RESTORE, acting_user=acting_user, by_support=by_support
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
            created_at=timezone.now(),
        )

        def enqueue() -> None:
            restore_run_task.delay(tenant_id=tenant.pk, job_id=job.pk)

        transaction.on_commit(enqueue, using=alias)
    return job


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
