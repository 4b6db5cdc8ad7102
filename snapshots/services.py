"""Writes to the versioned store. Every function names its tenant first and
runs in one transaction on the tenant's hub database."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone

from hubs.routing import hub_database_alias
from snapshots.models import Change, Node, NodeVersion, TenantClock

if TYPE_CHECKING:
    from portal.models import Tenant


def store_provision(*, tenant: Tenant) -> TenantClock:
    """Make the tenant's space in its hub: its clock and its root folder.

    Idempotent: a second call (a retried task, the repair on next use, two
    racing callers) finds the clock and returns it.
    """
    existing = TenantClock.objects.for_tenant(tenant).first()
    if existing is not None:
        return existing
    alias = hub_database_alias(tenant.hub_id)
    now = timezone.now()
    try:
        with transaction.atomic(using=alias):
            root = Node.objects.for_tenant(tenant).create(kind=Node.Kind.FOLDER, created_at=now)
            clock = TenantClock.objects.for_tenant(tenant).create(seq=1, root=root, provisioned_at=now)
            NodeVersion.objects.for_tenant(tenant).create(
                node=root, parent=None, name="", kind=Node.Kind.FOLDER, valid_from=1, changed_at=now
            )
            Change.objects.for_tenant(tenant).create(seq=1, at=now, action=Change.Action.PROVISION)
    except IntegrityError:
        # Another caller provisioned the tenant between our check and our insert.
        clock = TenantClock.objects.for_tenant(tenant).first()
        if clock is None:
            raise
    return clock
