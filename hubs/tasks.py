"""Maintenance and monitoring tasks. The maintenance tasks run on the
``control`` queue, which sends the notices and moves windows on time; a hub's
probe round is hub-scoped and runs on that hub's queue, the control plane's
round, the scheduler's heartbeat and the expiry of probe results on
``control``. Messages carry ids. The status emails to subscribers go out
through the same send-and-retry function as the maintenance notices.

This module imports only services that never queue a task (the outbox's
claim, sent and failed, and the minute's job, which returns what to send), so
nothing it imports comes back to it; the services that announce a change
import ``notice_deliveries_send`` from here. The one exception,
``hubs.services.status_subscriptions`` (reached through the probe round and
the incidents it opens), queues its emails after commit by the task's name,
so it imports nothing from here either.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from celery import Task, shared_task

from hubs.alerts import alert_delivery_send
from hubs.invitation_emails import invitation_email_send
from hubs.models import AlertDelivery, StatusDelivery
from hubs.notices import notice_email
from hubs.selectors import status_delivery_wanted
from hubs.services.advance import maintenance_advance
from hubs.services.alerts import alerts_advance
from hubs.services.notices import Delivery, notice_delivery_claim, outbox_claim, outbox_failed, outbox_lost, outbox_sent
from hubs.services.probes import heartbeat_record, probe_results_expire, probe_round_run
from hubs.services.uptime import uptime_expire
from hubs.services.worker_pings import worker_pong_record
from hubs.status_emails import status_email

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
    return _outbox_send(self, delivery, lambda: notice_email(delivery=delivery).send(fail_silently=False))


@shared_task(bind=True, acks_late=True, max_retries=NOTICE_MAX_RETRIES)
def status_delivery_send_task(self: Task, *, delivery_id: int) -> str:
    """Send one status email (queued by name from hubs.services.status_subscriptions)."""
    delivery = outbox_claim(StatusDelivery, delivery_id=delivery_id)
    if delivery is None:
        return "nothing to send"
    if delivery.kind != StatusDelivery.Kind.CONFIRMATION and not status_delivery_wanted(delivery):
        outbox_failed(delivery, error="unsubscribed", final=True)
        return "unsubscribed"
    return _outbox_send(self, delivery, lambda: status_email(delivery=delivery).send(fail_silently=False))


def _outbox_send(task: Task, delivery: Delivery, send: Callable[[], object]) -> str:
    """Send a claimed delivery of any outbox (notices, status emails, alerts); a
    failure is recorded and retried with the countdown above, and given up after
    the last retry."""
    try:
        send()
    except Exception as exc:  # noqa: BLE001 - any failure to send is recorded and retried
        assert task.max_retries is not None  # every outbox task sets max_retries
        final = task.request.retries >= task.max_retries
        outbox_failed(delivery, error=f"{type(exc).__name__}: {exc}", final=final)
        if final:
            logger.warning(
                "%s %s failed for good after %s attempts", type(delivery).__name__, delivery.pk, delivery.attempts
            )
            return "failed"
        raise task.retry(exc=exc, countdown=notice_retry_countdown(task.request.retries)) from exc
    outbox_sent(delivery)
    return "sent"


@shared_task(acks_late=True)
def status_deliveries_requeue_task() -> int:
    """Every five minutes (beat): status emails whose task was lost are queued again."""
    lost = outbox_lost(StatusDelivery)
    for delivery_id in lost:
        status_delivery_send_task.delay(delivery_id=delivery_id)
    return len(lost)


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


# SECTION: alerts (the duty engineer)

# 30 s, 1, 2, 4, 8 min, as the notices: a receiver restarting is ridden out,
# and the longest wait stays under the 15 minutes after which alerts_advance
# queues a delivery again.
ALERT_MAX_RETRIES = 5


@shared_task(bind=True, acks_late=True, max_retries=ALERT_MAX_RETRIES)
def alert_deliver_task(self: Task, *, delivery_id: int) -> str:
    """Send one alert (email or webhook). Safe to run twice: a sent alert is never sent again."""
    delivery = outbox_claim(AlertDelivery, delivery_id=delivery_id)
    if delivery is None:
        return "nothing to send"
    return _outbox_send(self, delivery, lambda: alert_delivery_send(delivery=delivery))


def alert_deliveries_send(delivery_ids: Iterable[int]) -> None:
    """Queue one alert task per id; callers queue after their commit (hubs.apps
    registers this as the alert services' sender)."""
    for delivery_id in delivery_ids:
        alert_deliver_task.delay(delivery_id=delivery_id)


@shared_task(acks_late=True)
def alerts_advance_task() -> dict[str, int]:
    """Every minute (beat): unacknowledged incidents escalate, lost alerts are queued again."""
    result = alerts_advance()
    alert_deliveries_send(result.deliveries)
    return {"escalated": len(result.escalated), "stopped": len(result.stopped), "requeued": result.requeued}


def _round_summary(hub_code: str | None) -> dict[str, int]:
    # Probes run during maintenance too: a window is when things break.
    rows = probe_round_run(hub_code=hub_code)
    failed = [row.name for row in rows if not row.ok]
    if failed:
        logger.warning("Probes failed in %s: %s", hub_code or "control", ", ".join(failed))
    return {"count": len(rows), "failed": len(failed)}


# The ignore on @shared_task: celery-types takes hub_scoped (portal/celery.py)
# only together with base=; Celery takes it always.
@shared_task(acks_late=True, hub_scoped=True)  # type: ignore[call-overload]
def probe_round_task(*, hub_code: str) -> dict[str, int]:
    """Every minute (beat), on the hub's own queue: one round of the hub's probes."""
    return _round_summary(hub_code)


@shared_task(acks_late=True)
def control_probe_round_task() -> dict[str, int]:
    """Every minute (beat), on ``control``: one round of the control plane's probes."""
    return _round_summary(None)


@shared_task(acks_late=True)
def scheduler_heartbeat_task() -> str:
    """Every minute (beat): the dead man's switch the scheduler probe reads."""
    heartbeat_record(name="scheduler")
    return "beat"


@shared_task(acks_late=True)
def probe_results_expire_task() -> int:
    """Every hour: raw probe results older than 48 hours go."""
    return probe_results_expire()


@shared_task(acks_late=True)
def uptime_expire_task() -> dict[str, int]:
    """Every day: uptime's day bitmaps and probe flips older than 400 days go."""
    return uptime_expire()


# hub_scoped: the ping travels through the hub's own queue, so only a worker of
# that hub can answer it.
@shared_task(acks_late=True, hub_scoped=True)  # type: ignore[call-overload]
def worker_ping_task(*, hub_code: str, token: str) -> str:
    """The answer to workers.round_trip: the ``worker.<code>`` heartbeat carries the ping's token."""
    worker_pong_record(hub_code=hub_code, token=token)
    return "pong"


@shared_task(acks_late=True, max_retries=5, default_retry_delay=60, autoretry_for=(OSError,))
def invitation_email_task(*, invitation_id: int) -> str:
    """Send one invitation's email (control queue), queued after commit by
    ``hubs.services.invitations``; a mail server that is down is retried five
    times a minute apart."""
    return invitation_email_send(invitation_id=invitation_id)
