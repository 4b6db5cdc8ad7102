"""Monitoring's own tenant in each hub (``Tenant.is_probe``): no members, no
schedule, no quota anyone sees; the emulated file transaction writes, snapshots,
restores and purges in it. Made on first use."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from hubs.models import Tenant
from hubs.routing import hub_database_alias
from snapshots.models import Change, RestoreFolderMap, RestoreJob, Snapshot
from snapshots.services.files import store_provision

# What a transaction leaves (its snapshots, its finished job, its activity) is
# kept an hour for whoever reads a failure, then goes: a probe tenant doing
# two transactions a minute stays at a few hundred rows, not 28 days' worth.
PROBE_LEFTOVERS_KEPT = timedelta(hours=1)


def probe_tenant_ensure(*, hub_code: str) -> Tenant:
    """The hub's probe tenant, made and provisioned if missing (idempotent)."""
    tenant = Tenant.objects.filter(hub_id=hub_code, is_probe=True).order_by("pk").first()
    if tenant is None:
        tenant = Tenant.objects.create(
            name=f"Monitoring probe ({hub_code})",
            slug=f"probe-{hub_code}-{secrets.token_hex(4)}",
            hub_id=hub_code,
            is_probe=True,
            snapshot_schedule=Tenant.SnapshotSchedule.DAILY,
        )
    store_provision(tenant=tenant)
    if tenant.provisioned_at is None:
        tenant.provisioned_at = timezone.now()
        tenant.save(update_fields=["provisioned_at"])
    return tenant


def probe_tenant_tidy(*, tenant: Tenant, keep_job_id: int | None) -> None:
    """Remove the probe tenant's finished jobs, snapshots and activity older than an hour."""
    assert tenant.is_probe, "only monitoring's own tenant is tidied this way"
    cutoff = timezone.now() - PROBE_LEFTOVERS_KEPT
    with transaction.atomic(using=hub_database_alias(tenant.hub_id)):
        jobs = (
            RestoreJob.objects.for_tenant(tenant)
            .filter(created_at__lt=cutoff, state__in=RestoreJob.FINISHED_STATES)
            .exclude(pk=keep_job_id)
        )
        job_ids = list(jobs.values_list("pk", flat=True))
        RestoreFolderMap.objects.for_tenant(tenant).filter(job_id__in=job_ids).delete()
        RestoreJob.objects.for_tenant(tenant).filter(pk__in=job_ids).delete()
        Snapshot.objects.for_tenant(tenant).filter(taken_at__lt=cutoff).delete()
        Change.objects.for_tenant(tenant).filter(at__lt=cutoff).exclude(seq=1).delete()
