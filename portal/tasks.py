from __future__ import annotations

import logging

from celery import Task, shared_task

from hubs.models import Tenant
from portal.services.provisioning import tenant_provision

logger = logging.getLogger(__name__)


# The ignores on @shared_task: celery-types takes extra task options such as
# hub_scoped (see portal/celery.py) only together with base=; Celery takes them always.
@shared_task(bind=True, acks_late=True, hub_scoped=True, max_retries=10, default_retry_delay=30)  # type: ignore[call-overload]
def tenant_provision_task(self: Task, *, tenant_id: int) -> None:
    """Make a new tenant's space in its hub database. Runs on hub.<code>."""
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        logger.info("Tenant %s is gone; nothing to provision", tenant_id)
        return
    try:
        tenant_provision(tenant=tenant)
    except Exception as exc:  # noqa: BLE001 - any failure is retried with a countdown
        raise self.retry(exc=exc) from exc
