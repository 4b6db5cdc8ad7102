"""The probes that need the store, registered with hubs' probe registry in
SnapshotsConfig.ready: the hub database's write, the replication backlog,
stalled restore jobs, scheduled snapshots' freshness, expiry's lag and the
emulated file transaction. Details carry counts and ids, never file names."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db.models import Max, Min
from django.utils import timezone

from hubs.models import Tenant
from hubs.monitoring.probes import CRITICAL, INTEGRITY, WARNING, Check, Probe
from snapshots.models import Blob, NodeVersion, Snapshot
from snapshots.replication import replication_backlog
from snapshots.scrub import scrub_lost_open
from snapshots.services.file_transaction import file_transaction_check
from snapshots.services.hub_heartbeat import hub_heartbeat_record
from snapshots.services.restore_runs import restores_stalled
from snapshots.services.snapshots import SCHEDULE_INTERVALS

# Repair runs every five minutes: a blob still waiting after 30 has missed six
# runs, which is a facility down or a repair failing, not a blob in flight.
REPLICATION_WAIT_LIMIT = timedelta(minutes=30)
IDS_SHOWN = 10
# A killed worker's restore is taken back 30-50 s after its last heartbeat and
# renews it as soon as a worker runs it; a job without a live run for two
# minutes is one the stall check could not resume (no worker on the hub queue).
RESTORE_STALLED_FOR = timedelta(minutes=2)
# The whole transaction: upload, snapshot, delete, restore (read from the
# previous round, or waited for), read back, purge, and the next one begun.
FILE_TRANSACTION_TIMEOUT_SECONDS = 60.0


def hub_database_write_check(hub_code: str) -> Callable[[], Check]:
    def check() -> Check:
        hub_heartbeat_record(hub_code=hub_code)
        return Check(ok=True, detail=f"heartbeat row of {hub_code} updated")

    return check


def replication_backlog_check(hub_code: str) -> Callable[[], Check]:
    def check() -> Check:
        backlog = replication_backlog(hub_code=hub_code)
        oldest = (
            Blob.objects.for_hub(hub_code).filter(needs_replication=True).aggregate(oldest=Min("created_at"))["oldest"]
        )
        waited = timezone.now() - oldest if oldest else timedelta(0)
        limit = settings.HUBPORT_PROBE_REPLICATION_BACKLOG_BLOBS
        ok = backlog.blobs <= limit and waited <= REPLICATION_WAIT_LIMIT
        return Check(
            ok=ok,
            detail=f"{backlog.blobs} blobs ({backlog.bytes} bytes) waiting, oldest {waited.total_seconds() // 60:.0f}"
            f" min (fails above {limit} blobs or {REPLICATION_WAIT_LIMIT.total_seconds() / 60:.0f} min)",
        )

    return check


def restores_stalled_check(hub_code: str) -> Callable[[], Check]:
    def check() -> Check:
        stalled = restores_stalled(hub_code=hub_code, older_than=RESTORE_STALLED_FOR)
        if stalled:
            shown = ", ".join(f"{job_id} (tenant {tenant_id})" for tenant_id, job_id in stalled[:IDS_SHOWN])
            return Check(ok=False, detail=f"{len(stalled)} restore jobs stalled: {shown}")
        return Check(ok=True, detail="no restore job stalled")

    return check


def snapshot_freshness_check(hub_code: str) -> Callable[[], Check]:
    """No provisioned tenant's newest scheduled snapshot older than twice its interval."""

    def check() -> Check:
        now = timezone.now()
        last_taken = dict(
            Snapshot.objects.for_hub(hub_code)
            .filter(kind=Snapshot.Kind.SCHEDULED)
            .values("tenant_id")
            .annotate(last=Max("taken_at"))
            .values_list("tenant_id", "last")
        )
        stale = []
        tenants = Tenant.objects.customers().filter(hub_id=hub_code, provisioned_at__isnull=False)
        for tenant_id, schedule, provisioned_at in tenants.values_list("pk", "snapshot_schedule", "provisioned_at"):
            allowed = 2 * SCHEDULE_INTERVALS.get(schedule, SCHEDULE_INTERVALS["hourly"])
            newest = last_taken.get(tenant_id) or provisioned_at
            if newest is not None and now - newest > allowed:
                stale.append(tenant_id)
        if stale:
            shown = ", ".join(map(str, stale[:IDS_SHOWN]))
            return Check(ok=False, detail=f"{len(stale)} tenants without a recent scheduled snapshot: {shown}")
        return Check(ok=True, detail=f"{len(tenants)} tenants' scheduled snapshots fresh")

    return check


def expiry_lag_check(hub_code: str) -> Callable[[], Check]:
    """The oldest version row or snapshot past its retention, beyond a grace:
    expiry runs daily, so one still there two days after its due time means
    expiry is not running (or not finishing)."""

    def check() -> Check:
        now = timezone.now()
        due_before = now - timedelta(days=settings.SNAPSHOT_RETENTION_DAYS)
        grace = timedelta(hours=settings.HUBPORT_PROBE_EXPIRY_GRACE_HOURS)
        oldest_version = (
            NodeVersion.objects.for_hub(hub_code).filter(closed_at__lt=due_before).aggregate(oldest=Min("closed_at"))
        )["oldest"]
        oldest_snapshot = (
            Snapshot.objects.for_hub(hub_code).filter(taken_at__lt=due_before).aggregate(oldest=Min("taken_at"))
        )["oldest"]
        overdue = [moment for moment in (oldest_version, oldest_snapshot) if moment is not None]
        if not overdue:
            return Check(ok=True, detail="nothing past its retention")
        lag = due_before - min(overdue)
        hours = lag.total_seconds() / 3600
        return Check(
            ok=lag <= grace,
            detail=f"oldest row past its retention by {hours:.0f} h (fails above {grace.total_seconds() / 3600:.0f} h)",
        )

    return check


def integrity_check(hub_code: str) -> Callable[[], Check]:
    """Fails while scrub knows a blob of the hub with no good copy in any facility."""

    def check() -> Check:
        lost = scrub_lost_open(hub_code=hub_code)
        if not lost:
            return Check(ok=True, detail="no blob lost in every facility")
        shown = ", ".join(f"tenant {finding.tenant_id} blob {finding.blob_id}" for finding in lost[:IDS_SHOWN])
        more = f" and {len(lost) - IDS_SHOWN} more" if len(lost) > IDS_SHOWN else ""
        return Check(ok=False, detail=f"{len(lost)} blob(s) with no good copy in any facility: {shown}{more}")

    return check


def store_probes(hub_code: str | None) -> list[Probe]:
    if hub_code is None:
        return []
    return [
        Probe("database.write", hub_code, "database", CRITICAL, hub_database_write_check(hub_code)),
        Probe("replication.backlog", hub_code, "replication", WARNING, replication_backlog_check(hub_code)),
        # Critical (it pages), staff-only: one tenant's lost data, not the hub down.
        Probe("storage.integrity", hub_code, INTEGRITY, CRITICAL, integrity_check(hub_code)),
        Probe("restores.stalled", hub_code, "restores", WARNING, restores_stalled_check(hub_code)),
        Probe("snapshots.freshness", hub_code, "snapshots", WARNING, snapshot_freshness_check(hub_code)),
        # Warning: a late expiry keeps history longer than promised and grows
        # the store, but loses nothing and stops no one.
        Probe("snapshots.expiry_lag", hub_code, "snapshots", WARNING, expiry_lag_check(hub_code)),
        Probe(
            "file_transaction",
            hub_code,
            "file_transaction",
            CRITICAL,
            lambda: file_transaction_check(hub_code),
            timeout_seconds=FILE_TRANSACTION_TIMEOUT_SECONDS,
        ),
    ]
