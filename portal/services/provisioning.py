"""A tenant's space in its hub: made after the control-plane rows commit, and
made again (idempotently) by the provisioning task or on next use if that failed."""

from __future__ import annotations

from django.utils import timezone

from hubs.models import Tenant
from snapshots.services import store_provision


def tenant_provision(*, tenant: Tenant) -> Tenant:
    """Make the tenant's space in its hub database; idempotent."""
    store_provision(tenant=tenant)
    if tenant.provisioned_at is None:
        tenant.provisioned_at = timezone.now()
        tenant.save(update_fields=["provisioned_at"])
    return tenant


def tenant_ensure_provisioned(*, tenant: Tenant) -> Tenant:
    if tenant.provisioned_at is None:
        tenant_provision(tenant=tenant)
    return tenant
