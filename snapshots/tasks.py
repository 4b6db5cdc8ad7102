"""Celery tasks of the store. They take ids (tenant_id=, hub_code=) and run on
the hub's queue; messages and logs carry ids, never file names."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from django.contrib.auth import get_user_model
from django.core.mail import send_mail

from hubs.links import absolute_url
from hubs.models import Tenant
from snapshots.blobs import temporaries_sweep
from snapshots.replication import replication_repair

logger = logging.getLogger(__name__)


# The ignores on @shared_task: celery-types takes extra task options such as
# hub_scoped (see portal/celery.py) only together with base=; Celery takes them always.
@shared_task(acks_late=True, hub_scoped=True)  # type: ignore[call-overload]
def sweep_temporaries_task(*, hub_code: str) -> int:
    removed = temporaries_sweep(hub_code=hub_code)
    if removed:
        logger.info("Removed %s stale temporary upload objects in hub %s", removed, hub_code)
    return removed


def _tenant(tenant_id: int) -> Tenant | None:
    tenant = Tenant.objects.select_related("hub").filter(pk=tenant_id).first()
    if tenant is None:
        logger.info("Tenant %s is gone; nothing to do", tenant_id)
    return tenant


@shared_task(bind=True, acks_late=True, hub_scoped=True)  # type: ignore[call-overload]
def restore_run_task(self: Task, *, tenant_id: int, job_id: int) -> str | None:
    """Run or resume one restore job. Safe to deliver twice: a finished job is
    left alone and a running one goes on from its last committed batch. A hub
    in an ``unavailable`` maintenance window writes nothing: the job waits."""
    from snapshots.services import restore_run

    tenant = _tenant(tenant_id)
    if tenant is None:
        return None
    wait_out_maintenance(self, hub_code=tenant.hub_id)
    job = restore_run(tenant=tenant, job_id=job_id)
    return job.state if job is not None else None


@shared_task(acks_late=True, hub_scoped=True)  # type: ignore[call-overload]
def resume_stalled_restores_task(*, hub_code: str) -> int:
    from snapshots.services import restores_resume_stalled

    return len(restores_resume_stalled(hub_code=hub_code))


@shared_task(bind=True, acks_late=True, hub_scoped=True)  # type: ignore[call-overload]
def replication_repair_task(self: Task, *, hub_code: str) -> dict[str, int]:
    """Every few minutes, and when a facility comes back: copy the blobs that
    missed their second facility."""
    wait_out_maintenance(self, hub_code=hub_code)
    return replication_repair(hub_code=hub_code).as_dict()


def replication_repair_on_facility_return(*, hub_code: str, **kwargs: Any) -> None:
    """Receiver of hubs.signals.facility_became_available (SnapshotsConfig.ready)."""
    replication_repair_task.delay(hub_code=hub_code)


# Checked again at least every 10 minutes while the hub is down, so a window
# ended early (cancelled) releases the job soon, and no ETA outlives a broker's
# visibility timeout (Redis: 1 hour).
MAINTENANCE_RECHECK_SECONDS = 600


def wait_out_maintenance(task: Task, *, hub_code: str) -> None:
    """Re-queue the task while its hub is in an ``unavailable`` maintenance window;
    it runs once the window ends, so no scheduled job is lost."""
    from hubs.selectors import hub_unavailable_until, seconds_until

    until = hub_unavailable_until(hub_code=hub_code)
    if until is not None:
        countdown = min(seconds_until(until), MAINTENANCE_RECHECK_SECONDS)
        logger.info("Hub %s is in maintenance until %s; task %s waits %s s", hub_code, until, task.name, countdown)
        raise task.retry(countdown=countdown, max_retries=None)


@shared_task(bind=True, acks_late=True, hub_scoped=True)  # type: ignore[call-overload]
def take_scheduled_snapshots_task(self: Task, *, hub_code: str) -> int:
    from snapshots.services import snapshots_take_scheduled

    wait_out_maintenance(self, hub_code=hub_code)
    return snapshots_take_scheduled(hub_code=hub_code)


@shared_task(bind=True, acks_late=True, hub_scoped=True, soft_time_limit=6 * 3600, time_limit=6 * 3600 + 60)  # type: ignore[call-overload]
def expiry_task(self: Task, *, hub_code: str) -> dict[str, int]:
    """Daily: expire what is older than the retention and collect unreferenced blobs."""
    from snapshots.expiry import expiry_run

    wait_out_maintenance(self, hub_code=hub_code)
    return expiry_run(hub_code=hub_code).as_dict()


RESTORE_STATE_WORDS = {
    "succeeded": "has finished",
    "failed": "has failed",
    "cancelled": "was cancelled",
}


@shared_task(acks_late=True, max_retries=5, default_retry_delay=60, autoretry_for=(OSError,))
def restore_finished_email_task(*, user_id: int, restore_job_id: int, state: str, counts: dict[str, int]) -> None:
    """Email the person who asked for a restore that it has ended. Control queue:
    the message and the email carry ids and counts, never file names."""
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None or not user.email:
        return
    words = RESTORE_STATE_WORDS.get(state, "has ended")
    lines = [
        f"Your restore {words}.",
        "",
        f"Restored: {counts.get('restored', 0)}",
        f"Restored under a new name: {counts.get('renamed', 0)}",
        f"Overwritten: {counts.get('overwritten', 0)}",
        f"Already as in the snapshot: {counts.get('unchanged', 0)}",
        f"Skipped: {counts.get('skipped', 0)}",
        f"Failed: {counts.get('failed', 0)}",
        "",
        f"Details: {absolute_url('restore_job', job_id=restore_job_id)}",
    ]
    send_mail(
        subject=f"Hubport: your restore {words}",
        message="\n".join(lines),
        from_email=None,
        recipient_list=[user.email],
    )
