"""Celery tasks of the store. They take ids (tenant_id=, hub_code=) and run on
the hub's queue; messages and logs carry ids, never file names."""

from __future__ import annotations

import logging

from celery import shared_task

from snapshots.blobs import temporaries_sweep

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, hub_scoped=True)
def sweep_temporaries_task(*, hub_code: str) -> int:
    removed = temporaries_sweep(hub_code=hub_code)
    if removed:
        logger.info("Removed %s stale temporary upload objects in hub %s", removed, hub_code)
    return removed
