"""Support reading which files of a tenant a lost or repaired blob concerns.

The names are read from the tenant's hub database for the page that shows
them and go nowhere else; the control-plane audit entry says who looked at
which tenant's affected files, by blob ids only (as a support action on a
tenant's content is recorded: ``portal.services.support``)."""

from __future__ import annotations

from django.db import transaction

from hubs.models import Tenant
from hubs.services import audit_record
from portal.models import User


def support_integrity_viewed(*, tenant: Tenant, acting_user: User, blob_ids: list[int]) -> None:
    """Record that ``acting_user`` was shown the files of ``tenant`` that use ``blob_ids``."""
    with transaction.atomic(using="default"):
        audit_record(
            actor=acting_user,
            action="tenant.integrity_view",
            target=tenant,
            tenant=tenant,
            after={"blobs": sorted(blob_ids)},
        )
