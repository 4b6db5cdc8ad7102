from __future__ import annotations

import logging

from celery import shared_task

from portal.models import Tenant
from portal.services import tenant_provision

logger = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, hub_scoped=True, max_retries=10, default_retry_delay=30)
def tenant_provision_task(self, *, tenant_id: int) -> None:  # type: ignore[no-untyped-def]
    """Make a new tenant's space in its hub database. Runs on hub.<code>."""
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        logger.info("Tenant %s is gone; nothing to provision", tenant_id)
        return
    try:
        tenant_provision(tenant=tenant)
    except Exception as exc:  # noqa: BLE001 - any failure is retried with a countdown
        raise self.retry(exc=exc) from exc
