"""A copy a download found bad: marked in the hub, so the next read takes the
other facility, and queued for repair on the hub's queue.

The mark is an open ``ScrubFinding`` (``found_by="download"``, kind
``corrupt``) for the blob and facility; ``blob_open`` reads a copy so marked
only when no other copy opens, and the repair (``scrub_blob``, the scrub of
that one blob) closes it once the copy is good again. This module queues a
task, so the task module does not import it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from hubs.routing import hub_database_alias
from snapshots.models import Blob, ScrubFinding
from snapshots.tasks import scrub_blob_task

if TYPE_CHECKING:
    from hubs.models import Tenant

logger = logging.getLogger(__name__)


def blob_copy_bad(*, tenant: Tenant, blob: Blob, facility_role: str) -> None:
    """Mark the facility's copy of the blob bad and queue its repair."""
    alias = hub_database_alias(tenant.hub_id)
    now = timezone.now()
    with transaction.atomic(using=alias):
        findings = ScrubFinding.objects.for_tenant(tenant).filter(
            blob_id=blob.pk, facility=facility_role, repaired_at__isnull=True
        )
        if not findings.exists():
            findings.create(
                blob_id=blob.pk,
                sha256=blob.sha256,
                facility=facility_role,
                kind=ScrubFinding.Kind.CORRUPT,
                found_by="download",
                pass_started_at=now,
                found_at=now,
            )
        hub_code, blob_id = tenant.hub_id, blob.pk
        transaction.on_commit(lambda: scrub_blob_task.delay(hub_code=hub_code, blob_id=blob_id), using=alias)
    logger.warning(
        "Blob %s of tenant %s: the copy in facility %s is marked bad and queued for repair",
        blob.pk,
        tenant.pk,
        facility_role,
    )
