"""Snapshots: one row each, on request and on each tenant's schedule."""

from __future__ import annotations

import io
from datetime import timedelta

from django.utils import timezone

from conftest import all_databases
from snapshots import selectors, services
from snapshots.models import NodeVersion, Snapshot

pytestmark = all_databases


def write(made, path, content: bytes):
    return services.file_write(
        tenant=made.tenant, path=path, stream=io.BytesIO(content), content_length=len(content), acting_user=made.user
    )


def test_snapshot_is_one_row_with_the_live_counts_and_copies_no_bytes(make_tenant):
    made = make_tenant()
    write(made, "/a/1.txt", b"one")
    write(made, "/a/2.txt", b"two!")
    versions_before = NodeVersion.objects.for_tenant(made.tenant).count()
    snapshot = services.snapshot_create(tenant=made.tenant, acting_user=made.user, label="before cleanup")
    assert (snapshot.file_count, snapshot.byte_count) == (2, 7)
    assert snapshot.seq == selectors.clock_now(tenant=made.tenant)
    assert snapshot.kind == Snapshot.Kind.MANUAL
    assert NodeVersion.objects.for_tenant(made.tenant).count() == versions_before
    assert services.snapshot_expires_at(snapshot) == snapshot.taken_at + timedelta(days=28)


def test_scheduled_snapshots_follow_each_tenants_schedule(make_tenant):
    from hubs.models import Tenant

    hourly = make_tenant(hub="hk").tenant
    daily = make_tenant(hub="hk").tenant
    Tenant.objects.filter(pk=daily.pk).update(snapshot_schedule="daily")
    elsewhere = make_tenant(hub="uk").tenant
    start = timezone.now()

    assert services.snapshots_take_scheduled(hub_code="hk", now=start) == 2
    assert services.snapshots_take_scheduled(hub_code="hk", now=start) == 0, "not twice"
    assert services.snapshots_take_scheduled(hub_code="hk", now=start + timedelta(minutes=58)) == 1
    assert services.snapshots_take_scheduled(hub_code="hk", now=start + timedelta(hours=24)) == 2
    scheduled = Snapshot.objects.for_tenant(hourly).filter(kind=Snapshot.Kind.SCHEDULED).count()
    assert scheduled == 3
    assert Snapshot.objects.for_tenant(daily).filter(kind=Snapshot.Kind.SCHEDULED).count() == 2
    assert Snapshot.objects.for_tenant(elsewhere).count() == 0
