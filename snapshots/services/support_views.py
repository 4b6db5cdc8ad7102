"""The hub-side record of support staff looking at a tenant's names."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils import timezone

from snapshots.models import SupportView
from snapshots.services.restore_request import RestoreSource

if TYPE_CHECKING:
    from hubs.models import Tenant
    from portal.models import User


def support_view_record(*, tenant: Tenant, staff: User, source: RestoreSource, path: str) -> SupportView:
    """Record, in the tenant's hub, that ``staff`` listed the folder ``path`` as of ``source``."""
    return SupportView.objects.for_tenant(tenant).create(
        tenant_id=tenant.pk,
        at=timezone.now(),
        staff_user_id=staff.pk,
        staff_label=staff.email,
        snapshot_id=source.snapshot.pk if source.snapshot is not None else None,
        seq=source.seq,
        path=path,
    )
