"""Snapshots: named points on the tenant's clock, taken on request or on each
tenant's schedule. Taking one is an insert: the history it points into is
already in the store."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from hubs.routing import hub_database_alias
from snapshots.models import Snapshot, TenantClock
from snapshots.services.kernel import actor_for

if TYPE_CHECKING:
    from hubs.models import Tenant
    from portal.models import User


def snapshot_create(
    *,
    tenant: Tenant,
    kind: str = Snapshot.Kind.MANUAL,
    acting_user: User | None = None,
    label: str = "",
    by_support: bool = False,
) -> Snapshot:
    """Name the current point on the tenant's clock. Reads two rows and writes
    one, whatever the tenant's size; copies nothing."""
    actor = actor_for(acting_user, by_support=by_support)
    # No savepoint inside a caller's transaction (a restore's): a failure here fails the whole of it anyway.
    with transaction.atomic(using=hub_database_alias(tenant.hub_id), savepoint=False):
        # of=("self",): PostgreSQL locks no row on the nullable side of the join.
        clock = TenantClock.objects.for_tenant(tenant).select_for_update(of=("self",)).select_related("root").get()
        return Snapshot.objects.for_tenant(tenant).create(
            seq=clock.seq,
            taken_at=timezone.now(),
            kind=kind,
            label=label[:200],
            file_count=clock.root.subtree_files,
            byte_count=clock.root.subtree_bytes,
            created_by_user_id=actor.user_id,
            created_by_label=actor.label,
        )


def snapshot_expires_at(snapshot: Snapshot) -> datetime:
    return snapshot.taken_at + timedelta(days=settings.SNAPSHOT_RETENTION_DAYS)


SCHEDULE_INTERVALS = {"hourly": timedelta(hours=1), "4h": timedelta(hours=4), "daily": timedelta(days=1)}
# Beat ticks every 15 minutes; a snapshot due within the next 5 minutes is taken
# now rather than 15 minutes late.
SCHEDULE_SLACK = timedelta(minutes=5)


def snapshots_take_scheduled(*, hub_code: str, now: datetime | None = None) -> int:
    """Take the scheduled snapshot of every tenant of a hub whose turn it is.
    Returns how many were taken; running it twice in a row takes none twice.

    Whose turn it is comes from the hub's own latest scheduled snapshots, so the
    snapshot and the record of it are one row in one database.
    """
    from hubs.models import Tenant

    now = now or timezone.now()
    taken = 0
    last_taken = dict(
        Snapshot.objects.for_hub(hub_code)
        .filter(kind=Snapshot.Kind.SCHEDULED)
        .values("tenant_id")
        .annotate(last=Max("taken_at"))
        .values_list("tenant_id", "last")
    )
    tenants = Tenant.objects.customers().filter(hub_id=hub_code, provisioned_at__isnull=False).select_related("hub")
    for tenant in tenants.iterator(chunk_size=500):
        interval = SCHEDULE_INTERVALS.get(tenant.snapshot_schedule, SCHEDULE_INTERVALS["hourly"])
        last = last_taken.get(tenant.pk)
        if last is not None and now - last < interval - SCHEDULE_SLACK:
            continue
        snapshot_create(tenant=tenant, kind=Snapshot.Kind.SCHEDULED)
        taken += 1
    return taken
