"""Maintenance tasks. None is hub-scoped: they run on the ``control`` queue,
which sends the notices and moves windows on time. Messages carry ids.

This module imports only services that never queue a task (the outbox's
claim, sent and failed, and the minute's job, which returns what to send), so
nothing it imports comes back to it; the services that announce a change
import ``notice_deliveries_send`` from here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from celery import Task, shared_task

from hubs.notices import notice_email
from hubs.services.advance import maintenance_advance
from hubs.services.notices import notice_delivery_claim, notice_delivery_failed, notice_delivery_sent

logger = logging.getLogger(__name__)

# 30 s, 1, 2, 4, 8 min: rides out a mail server restart; the longest wait stays
# under the 15 minutes after which maintenance_advance queues a delivery again.
NOTICE_MAX_RETRIES = 5
NOTICE_FIRST_RETRY_SECONDS = 30


def notice_retry_countdown(retries: int) -> int:
    return NOTICE_FIRST_RETRY_SECONDS * 2**retries


@shared_task(bind=True, acks_late=True, max_retries=NOTICE_MAX_RETRIES)
def maintenance_notice_deliver_task(self: Task, *, delivery_id: int) -> str:
    """Send one notice. Safe to run twice: a sent delivery is never sent again."""
    delivery = notice_delivery_claim(delivery_id=delivery_id)
    if delivery is None:
        return "nothing to send"
    try:
        notice_email(delivery=delivery).send(fail_silently=False)
    except Exception as exc:  # noqa: BLE001 - any failure to send is recorded and retried
        assert self.max_retries is not None  # the decorator sets NOTICE_MAX_RETRIES
        final = self.request.retries >= self.max_retries
        notice_delivery_failed(delivery=delivery, error=f"{type(exc).__name__}: {exc}", final=final)
        if final:
            logger.warning("Notice delivery %s failed for good after %s attempts", delivery_id, delivery.attempts)
            return "failed"
        raise self.retry(exc=exc, countdown=notice_retry_countdown(self.request.retries)) from exc
    notice_delivery_sent(delivery=delivery)
    return "sent"


def notice_deliveries_send(delivery_ids: Iterable[int]) -> None:
    """Queue one delivery task per id; callers queue after their commit."""
    for delivery_id in delivery_ids:
        maintenance_notice_deliver_task.delay(delivery_id=delivery_id)


@shared_task(acks_late=True)
def maintenance_advance_task() -> dict[str, int]:
    """Every minute (beat): windows start and complete on time, reminders go out,
    lost deliveries are queued again."""
    result = maintenance_advance()
    # Every transaction of maintenance_advance has committed when it returns.
    notice_deliveries_send(result.deliveries)
    return {
        "started": len(result.started),
        "completed": len(result.completed),
        "reminded": len(result.reminded),
        "requeued": result.requeued,
    }
