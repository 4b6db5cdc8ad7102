"""The notice outbox: one row per notice per person (``NoticeDelivery``),
written in the same transaction as the change it describes, then claimed,
sent and marked by ``hubs.tasks.maintenance_notice_deliver_task``.

Nothing here queues a task. The delivery task imports this module, so a
queue call from here would make ``hubs.tasks`` import itself back; the
services that announce (``hubs.services.maintenance``) queue after commit, and
the minute's job (``hubs.services.advance``) hands its ids to its task.

The status emails to subscribers (``StatusDelivery``) are a second outbox with
the same fields and states; ``outbox_claim``, ``outbox_sent``,
``outbox_failed`` and ``outbox_lost`` serve both, and the task module sends
both through one function with one retry countdown.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TypeVar

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from hubs.models import AlertDelivery, MaintenanceWindow, NoticeDelivery, StatusDelivery
from hubs.selectors import notice_recipients

# The two outboxes share their fields and states: maintenance notices to members
# and status emails to subscribers; the functions below serve both.
Delivery = TypeVar("Delivery", NoticeDelivery, StatusDelivery, AlertDelivery)

# A delivery claimed by a worker that then died is tried again after this long;
# the longest retry countdown (8 min) stays below it.
STALE_DELIVERY_AFTER = timedelta(minutes=15)
# Deliveries queued again per run of the minute's job: a lost broker is found
# again within minutes, without one run queuing a whole backlog at once.
REQUEUE_LIMIT = 1000


def notices_create(*, window: MaintenanceWindow, kind: str, hub_codes: Iterable[str]) -> list[int]:
    """Pending deliveries of one notice to every owner and admin in the hubs, inside
    the caller's transaction; returns the ids still to send (a notice already
    made for this revision is not made twice)."""
    NoticeDelivery.objects.bulk_create(
        [
            NoticeDelivery(window=window, user_id=user_id, email=email, kind=kind, revision=window.revision)
            for user_id, email in notice_recipients(hub_codes)
        ],
        ignore_conflicts=True,
    )
    return list(
        NoticeDelivery.objects.filter(
            window_id=window.pk, kind=kind, revision=window.revision, state=NoticeDelivery.State.PENDING
        ).values_list("pk", flat=True)
    )


def notice_delivery_claim(*, delivery_id: int, now: datetime | None = None) -> NoticeDelivery | None:
    return outbox_claim(NoticeDelivery, delivery_id=delivery_id, now=now)


def notice_deliveries_lost(*, now: datetime | None = None) -> list[int]:
    return outbox_lost(NoticeDelivery, now=now)


def outbox_claim(model: type[Delivery], *, delivery_id: int, now: datetime | None = None) -> Delivery | None:
    """Mark a delivery as being sent and count the attempt; None when there is
    nothing to send (gone, already sent, given up, or another worker is on it)."""
    now = now or timezone.now()
    with transaction.atomic(using="default"):
        delivery = model.objects.select_for_update().filter(pk=delivery_id).first()
        if delivery is None or delivery.state in (NoticeDelivery.State.SENT, NoticeDelivery.State.FAILED):
            return None
        if (
            delivery.state == NoticeDelivery.State.SENDING
            and delivery.last_attempt_at is not None
            and now - delivery.last_attempt_at < STALE_DELIVERY_AFTER
        ):
            return None
        delivery.state = NoticeDelivery.State.SENDING
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.save(update_fields=["state", "attempts", "last_attempt_at"])
    return delivery


def outbox_sent(delivery: Delivery) -> Delivery:
    delivery.state = NoticeDelivery.State.SENT
    delivery.sent_at = timezone.now()
    delivery.last_error = ""
    delivery.save(update_fields=["state", "sent_at", "last_error"])
    return delivery


def outbox_failed(delivery: Delivery, *, error: str, final: bool) -> Delivery:
    """Record a failed attempt: pending again (a retry follows) or failed for good."""
    delivery.state = NoticeDelivery.State.FAILED if final else NoticeDelivery.State.PENDING
    delivery.last_error = error[:2000]
    delivery.save(update_fields=["state", "last_error"])
    return delivery


def outbox_lost(model: type[Delivery], *, now: datetime | None = None) -> list[int]:
    """Deliveries whose task was lost: pending for 15 minutes with no attempt since,
    or claimed by a worker that has not finished within 15 minutes."""
    now = now or timezone.now()
    stale = model.objects.filter(
        Q(state=NoticeDelivery.State.PENDING, created_at__lte=now - STALE_DELIVERY_AFTER)
        & (Q(last_attempt_at__isnull=True) | Q(last_attempt_at__lte=now - STALE_DELIVERY_AFTER))
        | Q(state=NoticeDelivery.State.SENDING, last_attempt_at__lte=now - STALE_DELIVERY_AFTER)
    ).values_list("pk", flat=True)[:REQUEUE_LIMIT]
    return list(stale)
