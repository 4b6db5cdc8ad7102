"""Celery tasks of the store. They take ids (tenant_id=, hub_code=) and run on
the hub's queue; messages and logs carry ids, never file names."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from celery.utils.time import get_exponential_backoff_interval

from hubs.errors import DATABASE_UNREACHABLE
from hubs.models import Tenant
from snapshots.blobs import temporaries_sweep
from snapshots.models import RestoreJob

# Imported for the worker to know the email task, which lives with what sends it.
from snapshots.notifications import restore_finished_email_task  # noqa: F401
from snapshots.replication import replication_repair
from snapshots.scrub import scrub_blob, scrub_slice
from snapshots.services.dav_state import dav_locks_expired_delete
from snapshots.statistics import LARGE_JOB_ROWS, hub_statistics_refresh

logger = logging.getLogger(__name__)


# The ignores on @shared_task: celery-types takes extra task options such as
# hub_scoped (see portal/celery.py) only together with base=; Celery takes them always.
@shared_task(acks_late=True, hub_scoped=True)  # type: ignore[call-overload]
def sweep_temporaries_task(*, hub_code: str) -> int:
    removed = temporaries_sweep(hub_code=hub_code)
    if removed:
        logger.info("Removed %s stale temporary upload objects in hub %s", removed, hub_code)
    locks = dav_locks_expired_delete(hub_code=hub_code)
    if locks:
        logger.info("Removed %s expired WebDAV locks in hub %s", locks, hub_code)
    return removed


def _tenant(tenant_id: int) -> Tenant | None:
    tenant = Tenant.objects.select_related("hub").filter(pk=tenant_id).first()
    if tenant is None:
        logger.info("Tenant %s is gone; nothing to do", tenant_id)
    return tenant


# A restore is one long job by design (10 million files at 3,000 a second is
# about an hour): the project-wide 15-minute soft limit would end it as an
# internal error, so it has the expiry's six hours. A dead worker is found by
# the job's lease, not by the time limit. A database that cannot be reached
# (the hub failing over: each process reads which side serves it at most every
# HUBPORT_FAILOVER_SIDE_CACHE_SECONDS) is tried again after 2, 4, 8 ... s: a
# job queued just before a failover ran into the old primary and waited for the
# stall check (the drill's file transaction then took 47 s, not 3). A run the
# database broke off in the middle is tried again on the same schedule and
# takes its own job back (``resume_attempt``): its lease is still fresh, and
# waiting for it to run out needs the stall check, which a hub's beat may not
# be running while it fails over.
RESTORE_RETRY_BACKOFF_SECONDS = 2
RESTORE_RETRY_BACKOFF_MAX_SECONDS = 60


@shared_task(  # type: ignore[call-overload]
    bind=True,
    acks_late=True,
    hub_scoped=True,
    soft_time_limit=6 * 3600,
    time_limit=6 * 3600 + 60,
    autoretry_for=DATABASE_UNREACHABLE,
    retry_backoff=RESTORE_RETRY_BACKOFF_SECONDS,
    retry_backoff_max=RESTORE_RETRY_BACKOFF_MAX_SECONDS,
    retry_jitter=False,
    max_retries=10,
)
def restore_run_task(self: Task, *, tenant_id: int, job_id: int, resume_attempt: int | None = None) -> str | None:
    """Run or resume one restore job. Safe to deliver twice: a finished job is
    left alone and a running one goes on from its last committed batch. A hub
    in an ``unavailable`` maintenance window writes nothing: the job waits."""
    from snapshots.services.restore_runs import RestoreInterrupted, restore_run

    tenant = _tenant(tenant_id)
    if tenant is None:
        return None
    wait_out_maintenance(self, hub_code=tenant.hub_id)
    try:
        job = restore_run(tenant=tenant, job_id=job_id, resume_attempt=resume_attempt)
    except RestoreInterrupted as broken:
        countdown = get_exponential_backoff_interval(
            factor=RESTORE_RETRY_BACKOFF_SECONDS,
            retries=self.request.retries,
            maximum=RESTORE_RETRY_BACKOFF_MAX_SECONDS,
            full_jitter=False,
        )
        raise self.retry(
            kwargs={"tenant_id": tenant_id, "job_id": job_id, "resume_attempt": broken.attempt},
            countdown=countdown,
            exc=broken,
        ) from broken
    if job is not None and job.state == RestoreJob.State.SUCCEEDED and job.total_items >= LARGE_JOB_ROWS:
        hub_statistics_refresh(hub_code=tenant.hub_id)
    return job.state if job is not None else None


@shared_task(acks_late=True, hub_scoped=True)  # type: ignore[call-overload]
def resume_stalled_restores_task(*, hub_code: str) -> list[int]:
    """Every 20 s: take back the jobs of the hub whose worker died (their
    lease expired) and queue them again. Returns the job ids queued."""
    from snapshots.services.restore_runs import restores_stalled_claim

    stalled = restores_stalled_claim(hub_code=hub_code)
    for tenant_id, job_id in stalled:
        restore_run_task.delay(tenant_id=tenant_id, job_id=job_id)
    return [job_id for _, job_id in stalled]


@shared_task(bind=True, acks_late=True, hub_scoped=True)  # type: ignore[call-overload]
def replication_repair_task(self: Task, *, hub_code: str) -> dict[str, int]:
    """Every few minutes, and when a facility comes back: copy the blobs that
    missed their second facility."""
    wait_out_maintenance(self, hub_code=hub_code)
    return replication_repair(hub_code=hub_code).as_dict()


def replication_repair_on_facility_return(*, hub_code: str, **kwargs: Any) -> None:
    """Receiver of hubs.signals.facility_became_available (SnapshotsConfig.ready)."""
    replication_repair_task.delay(hub_code=hub_code)


@shared_task(bind=True, acks_late=True, hub_scoped=True)  # type: ignore[call-overload]
def scrub_slice_task(self: Task, *, hub_code: str) -> dict[str, Any]:
    """Every five minutes: a slice of the hub's scheduled scrub pass, from its
    cursor (a new pass when one is due). Safe to deliver twice: a second slice
    finds the pass claimed and returns."""
    wait_out_maintenance(self, hub_code=hub_code)
    return scrub_slice(hub_code=hub_code).as_dict()


@shared_task(bind=True, acks_late=True, hub_scoped=True)  # type: ignore[call-overload]
def scrub_blob_task(self: Task, *, hub_code: str, blob_id: int) -> dict[str, Any]:
    """A download found a copy of the blob bad: check and repair it now."""
    wait_out_maintenance(self, hub_code=hub_code)
    result = scrub_blob(hub_code=hub_code, blob_id=blob_id).as_dict()
    result.pop("findings")
    return result


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
    from snapshots.services.snapshots import snapshots_take_scheduled

    wait_out_maintenance(self, hub_code=hub_code)
    return snapshots_take_scheduled(hub_code=hub_code)


@shared_task(bind=True, acks_late=True, hub_scoped=True, soft_time_limit=6 * 3600, time_limit=6 * 3600 + 60)  # type: ignore[call-overload]
def expiry_task(self: Task, *, hub_code: str) -> dict[str, int]:
    """Daily: expire what is older than the retention and collect unreferenced blobs."""
    from snapshots.expiry import expiry_run

    wait_out_maintenance(self, hub_code=hub_code)
    result = expiry_run(hub_code=hub_code).as_dict()
    if sum(count for name, count in result.items() if name != "blob_bytes") >= LARGE_JOB_ROWS:
        hub_statistics_refresh(hub_code=hub_code)
    return result


@shared_task(acks_late=True, hub_scoped=True)  # type: ignore[call-overload]
def hub_statistics_task(*, hub_code: str) -> float:
    """Hourly: the hub database's planner statistics (snapshots.statistics)."""
    return hub_statistics_refresh(hub_code=hub_code)
