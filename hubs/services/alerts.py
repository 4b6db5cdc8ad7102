"""Paging the duty engineer: the alert outbox and the escalation of an incident.

``hubs.services.incidents`` calls the three hooks inside the transaction that
changes the incident, so every path (a probe round, the probes_run command,
staff in the admin, the signed acknowledge link) alerts the same way:

- ``alerts_incident_opened`` copies the default escalation policy onto the
  incident (``IncidentPaging``) and pages step 1 by email, and every webhook;
- ``alerts_incident_acknowledged`` stops the escalation and tells whoever was
  paged (but the person who acknowledged) and the webhooks;
- ``alerts_incident_resolved`` stops it too and tells the same people.

Each writes ``AlertDelivery`` rows (one per event, channel and recipient) and
queues them after commit through the sender ``hubs.apps`` registers
(``hubs.tasks.alert_deliveries_send``): this module never imports the task
module, which imports it. The minute's job ``alerts_advance`` escalates
unacknowledged incidents whose step has waited long enough and finds lost
deliveries; it returns their ids for ``hubs.tasks.alerts_advance_task`` to
queue. Claim, sent and failed work as the notice outbox's do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from hubs.models import AlertDelivery, Incident, IncidentPaging, IncidentUpdate
from hubs.services.audit import audit_record
from hubs.services.oncall import default_policy, policy_steps_snapshot, step_user_ids

if TYPE_CHECKING:
    from portal.models import User

logger = logging.getLogger(__name__)

Event = AlertDelivery.Event
State = AlertDelivery.State

# A delivery claimed by a worker that then died is tried again after this long;
# the longest retry countdown (8 min) stays below it.
STALE_DELIVERY_AFTER = timedelta(minutes=15)
# A delivery never tried this long after it was written lost its message (or no
# sender was registered in the process that wrote it): the minute's job sends it.
UNSENT_AFTER = timedelta(minutes=1)
REQUEUE_LIMIT = 1000

_senders: list[Callable[[list[int]], None]] = []


def alert_sender_register(sender: Callable[[list[int]], None]) -> None:
    """The function that queues deliveries (``hubs.apps`` registers the task's)."""
    _senders[:] = [sender]


def alert_deliveries_queue(ids: list[int]) -> None:
    """Queue the deliveries once the current transaction commits."""
    if not ids:
        return

    def send() -> None:
        for sender in _senders:
            sender(ids)

    transaction.on_commit(send, using="default")


def webhook_urls() -> list[str]:
    urls = getattr(settings, "HUBPORT_ALERT_WEBHOOK_URLS", [])
    if isinstance(urls, str):
        urls = urls.split(",")
    return [url.strip() for url in urls if url.strip()]


# SECTION: the hooks the incident services call


def _paging_of(incident: Incident) -> IncidentPaging:
    """The incident's paging, locked; an empty one for an incident opened before alerts existed."""
    paging, _ = IncidentPaging.objects.select_for_update().get_or_create(incident=incident)
    return paging


def _emit(paging: IncidentPaging, *, event: str, user_ids: Iterable[int], now: datetime) -> list[int]:
    """Delivery rows of one event: email to each user (with an address), and every webhook."""
    paging.events += 1
    sequence = paging.events
    users = list(
        get_user_model().objects.filter(pk__in=list(user_ids), is_active=True).exclude(email="").order_by("pk")
    )
    if event in (Event.OPENED, Event.ESCALATED):
        paging.paged_user_ids = [*paging.paged_user_ids, *[u.pk for u in users if u.pk not in paging.paged_user_ids]]
    paging.save()
    rows = [
        AlertDelivery(
            incident_id=paging.incident_id,
            event=event,
            sequence=sequence,
            channel=AlertDelivery.Channel.EMAIL,
            recipient=user.email,
            user=user,
            created_at=now,
        )
        for user in users
    ] + [
        AlertDelivery(
            incident_id=paging.incident_id,
            event=event,
            sequence=sequence,
            channel=AlertDelivery.Channel.WEBHOOK,
            recipient=url,
            created_at=now,
        )
        for url in webhook_urls()
    ]
    AlertDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    return list(
        AlertDelivery.objects.filter(incident_id=paging.incident_id, sequence=sequence, state=State.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def alerts_incident_opened(*, incident: Incident, now: datetime) -> list[int]:
    """Copy the default policy onto a new incident and page its first step at once."""
    policy = default_policy()
    steps = policy_steps_snapshot(policy)
    paging = IncidentPaging.objects.create(
        incident=incident,
        policy_name=policy.name if policy else "",
        steps=steps,
        repeat_limit=policy.repeat_limit if policy else 0,
        next_at=now + timedelta(minutes=steps[0]["wait_minutes"]) if steps else None,
        stopped_reason="" if steps else "no_policy",
    )
    if not steps:
        logger.warning("Incident %s opened with no escalation policy: only webhooks are told", incident.pk)
    users = step_user_ids(steps[0], at=now) if steps else []
    ids = _emit(paging, event=Event.OPENED, user_ids=users, now=now)
    alert_deliveries_queue(ids)
    return ids


def alerts_incident_reopened(*, incident: Incident, now: datetime) -> list[int]:
    """A resolved incident that comes back is paged again from its policy's first
    step, as a new one would be (PagerDuty's re-trigger): whoever acknowledged it
    before must take it again."""
    paging = _paging_of(incident)
    steps = paging.steps
    paging.step, paging.cycle = 0, 0
    paging.next_at = now + timedelta(minutes=steps[0]["wait_minutes"]) if steps else None
    paging.stopped_reason = "" if steps else "no_policy"
    users = step_user_ids(steps[0], at=now) if steps else []
    ids = _emit(paging, event=Event.OPENED, user_ids=users, now=now)
    alert_deliveries_queue(ids)
    return ids


def alerts_incident_acknowledged(*, incident: Incident, acting_user: User | None, now: datetime) -> list[int]:
    """Stop the escalation; tell the others who were paged, and the webhooks."""
    paging = _paging_of(incident)
    paging.next_at, paging.stopped_reason = None, "acknowledged"
    others = [pk for pk in paging.paged_user_ids if acting_user is None or pk != acting_user.pk]
    ids = _emit(paging, event=Event.ACKNOWLEDGED, user_ids=others, now=now)
    alert_deliveries_queue(ids)
    return ids


def alerts_incident_resolved(*, incident: Incident, now: datetime) -> list[int]:
    """Stop the escalation; announce the resolution to whoever was paged, and the webhooks."""
    paging = _paging_of(incident)
    paging.next_at, paging.stopped_reason = None, "resolved"
    ids = _emit(paging, event=Event.RESOLVED, user_ids=paging.paged_user_ids, now=now)
    alert_deliveries_queue(ids)
    return ids


# SECTION: the minute's job


@dataclass
class AlertAdvanceResult:
    escalated: list[int] = field(default_factory=list)
    stopped: list[int] = field(default_factory=list)
    requeued: int = 0
    # Every delivery to send now: the escalations' and the lost ones.
    deliveries: list[int] = field(default_factory=list)


def alerts_advance(*, now: datetime | None = None) -> AlertAdvanceResult:
    """Escalate every unacknowledged incident whose step has waited its minutes
    (the next step, then the policy again, at most ``repeat_limit`` more times),
    and find deliveries whose task was lost. Returns the ids to send; every
    transaction here has committed when it returns. Idempotent within a minute."""
    now = now or timezone.now()
    result = AlertAdvanceResult()
    for paging_id in list(IncidentPaging.objects.filter(next_at__lte=now).values_list("pk", flat=True)):
        with transaction.atomic(using="default"):
            paging = IncidentPaging.objects.select_for_update().filter(pk=paging_id).first()
            if paging is None or paging.next_at is None or paging.next_at > now:
                continue
            incident = Incident.objects.select_for_update().get(pk=paging.incident_id)
            ids = _escalate(paging, incident=incident, now=now)
            if ids is None:
                result.stopped.append(incident.pk)
                continue
            result.escalated.append(incident.pk)
            result.deliveries += ids
    lost = [pk for pk in alert_deliveries_lost(now=now) if pk not in result.deliveries]
    result.requeued = len(lost)
    result.deliveries += lost
    return result


def _escalate(paging: IncidentPaging, *, incident: Incident, now: datetime) -> list[int] | None:
    """Page the next step; None when the escalation stops instead."""
    if incident.state == Incident.State.RESOLVED or incident.acknowledged_at is not None:
        paging.next_at = None
        paging.stopped_reason = "resolved" if incident.state == Incident.State.RESOLVED else "acknowledged"
        paging.save(update_fields=["next_at", "stopped_reason"])
        return None
    step, cycle = paging.step + 1, paging.cycle
    if step >= len(paging.steps):
        step, cycle = 0, cycle + 1
    if not paging.steps or cycle > paging.repeat_limit:
        paging.next_at, paging.stopped_reason = None, "repeat_limit"
        paging.save(update_fields=["next_at", "stopped_reason"])
        IncidentUpdate.objects.create(
            incident=incident,
            at=now,
            state=incident.state,
            body=f"Escalation stopped: nobody acknowledged after {paging.repeat_limit + 1} passes of the policy.",
        )
        return None
    target = paging.steps[step]
    paging.step, paging.cycle, paging.escalations = step, cycle, paging.escalations + 1
    paging.next_at = now + timedelta(minutes=target["wait_minutes"])
    users = step_user_ids(target, at=now)
    ids = _emit(paging, event=Event.ESCALATED, user_ids=users, now=now)
    IncidentUpdate.objects.create(
        incident=incident,
        at=now,
        state=incident.state,
        body=f"Escalated (unacknowledged): step {step + 1}, pass {cycle + 1}: {target['label']}.",
    )
    return ids


# SECTION: the outbox


def alert_deliveries_lost(*, now: datetime | None = None) -> list[int]:
    """Deliveries whose task was lost: never tried a minute after they were
    written, pending 15 minutes after their last attempt, or claimed by a
    worker that has not finished within 15 minutes."""
    now = now or timezone.now()
    stale = AlertDelivery.objects.filter(
        Q(state=State.PENDING, attempts=0, created_at__lte=now - UNSENT_AFTER)
        | Q(state=State.PENDING, last_attempt_at__lte=now - STALE_DELIVERY_AFTER)
        | Q(state=State.SENDING, last_attempt_at__lte=now - STALE_DELIVERY_AFTER)
    ).order_by("pk")
    return list(stale.values_list("pk", flat=True)[:REQUEUE_LIMIT])


def alert_deliveries_retry(*, delivery_ids: Iterable[int], acting_user: User | None) -> list[int]:
    """Staff send failed deliveries again (after fixing the receiver); queued after commit."""
    with transaction.atomic(using="default"):
        ids = list(
            AlertDelivery.objects.filter(pk__in=list(delivery_ids), state=State.FAILED).values_list("pk", flat=True)
        )
        AlertDelivery.objects.filter(pk__in=ids).update(state=State.PENDING, attempts=0, last_attempt_at=None)
        for delivery_id in ids:
            audit_record(
                actor=acting_user,
                action="alertdelivery.retry",
                target_type=AlertDelivery._meta.label,
                target_id=str(delivery_id),
            )
        alert_deliveries_queue(ids)
    return ids
