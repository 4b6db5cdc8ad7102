"""Status subscriptions by email, with double opt-in, and their outbox.

- ``status_subscribe``: anyone asks for an address to follow some hubs (or
  all). One row per address, pending until confirmed; a confirmation email goes
  at most once per address per 10 minutes, however often the form is sent, and
  the answer never says whether the address was subscribed already.
- ``status_subscription_confirm``: the signed link (``hubs.status_links``)
  activates the row and sets the hubs it asked for.
- ``status_unsubscribe``: the signed link of every notification.
- ``status_notices_for_incident`` and ``status_notices_for_window``: the rows
  for every active subscriber of the hub, made inside the caller's
  transaction (``hubs.services.incidents`` and ``maintenance`` call them).

Deliveries are the same outbox as maintenance notices
(``hubs.services.notices``: claim, sent, failed). They are queued after
commit by the task's *name* (``send_task``): the probe round's task imports
the incidents service, which calls this module, so importing ``hubs.tasks``
here would make it import itself back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from celery import current_app
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from hubs.errors import StatusLinkInvalid, StatusSubscriptionRefused
from hubs.models import Hub, Incident, IncidentUpdate, MaintenanceWindow, StatusDelivery, StatusSubscription
from hubs.monitoring.probes import component_is_public
from hubs.selectors import open_incidents_cache_key
from hubs.services.audit import audit_record
from hubs.status_links import ConfirmationRequest, confirmation_read, unsubscribe_read

if TYPE_CHECKING:
    from portal.models import User

Kind = StatusDelivery.Kind
SubscriptionState = StatusSubscription.State

# One confirmation per address per 10 minutes: a form sent in a loop cannot
# turn the portal into a mail cannon aimed at someone's inbox.
CONFIRMATION_EVERY = timedelta(minutes=10)
DELIVER_TASK = "hubs.tasks.status_delivery_send_task"


def status_deliveries_queue(delivery_ids: Iterable[int]) -> None:
    """Queue one send per delivery; callers call it after their commit."""
    for delivery_id in delivery_ids:
        current_app.send_task(DELIVER_TASK, kwargs={"delivery_id": delivery_id})


def _queue_after_commit(delivery_ids: list[int]) -> None:
    if delivery_ids:
        transaction.on_commit(lambda: status_deliveries_queue(delivery_ids), using="default")


def status_subscribe(
    *, email: str, hub_codes: Sequence[str], all_hubs: bool, now: datetime | None = None
) -> StatusDelivery | None:
    """Ask for ``email`` to follow the hubs; the confirmation delivery queued, or
    None when one went to this address in the last 10 minutes. Edges answer the
    same either way, so the form never tells whether an address is subscribed."""
    now = now or timezone.now()
    email = email.strip().lower()
    codes = sorted(set(hub_codes))
    if not all_hubs and not codes:
        raise StatusSubscriptionRefused("Choose at least one hub, or all hubs.")
    known = set(Hub.objects.filter(code__in=codes).values_list("code", flat=True))
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise StatusSubscriptionRefused(f"There is no hub {', '.join(unknown)}.", unknown=unknown)
    with transaction.atomic(using="default"):
        subscription, _ = StatusSubscription.objects.get_or_create(email=email)
        subscription = StatusSubscription.objects.select_for_update().get(pk=subscription.pk)
        if subscription.confirmation_sent_at and now - subscription.confirmation_sent_at < CONFIRMATION_EVERY:
            return None
        subscription.confirmation_sent_at = now
        subscription.save(update_fields=["confirmation_sent_at"])
        delivery = StatusDelivery.objects.create(
            subscription=subscription,
            email=email,
            kind=Kind.CONFIRMATION,
            hub_codes=[] if all_hubs else codes,
            all_hubs=all_hubs,
        )
        _queue_after_commit([delivery.pk])
    return delivery


def confirmation_request_for(delivery: StatusDelivery) -> ConfirmationRequest:
    return ConfirmationRequest(
        subscription_id=delivery.subscription_id,
        email=delivery.email,
        hub_codes=tuple(delivery.hub_codes),
        all_hubs=delivery.all_hubs,
    )


def status_subscription_confirm(*, token: str, now: datetime | None = None) -> StatusSubscription:
    """Follow a confirmation link: the subscription is active, for the hubs it asked."""
    request = confirmation_read(token)
    with transaction.atomic(using="default"):
        subscription = (
            StatusSubscription.objects.select_for_update()
            .filter(pk=request.subscription_id, email=request.email)
            .first()
        )
        if subscription is None:
            raise StatusLinkInvalid("This confirmation link names no subscription. Subscribe again.")
        hubs = list(Hub.objects.filter(code__in=request.hub_codes))
        subscription.state = SubscriptionState.ACTIVE
        subscription.all_hubs = request.all_hubs
        subscription.confirmed_at = now or timezone.now()
        subscription.unsubscribed_at = None
        subscription.save(update_fields=["state", "all_hubs", "confirmed_at", "unsubscribed_at"])
        subscription.hubs.set([] if request.all_hubs else hubs)
    return subscription


def status_unsubscription_read(token: str) -> StatusSubscription:
    """The subscription an unsubscribe link names (for the page that asks to confirm)."""
    subscription_id, email = unsubscribe_read(token)
    subscription = StatusSubscription.objects.filter(pk=subscription_id, email=email).first()
    if subscription is None:
        raise StatusLinkInvalid("This unsubscribe link names no subscription.")
    return subscription


def status_unsubscribe(*, token: str, now: datetime | None = None) -> StatusSubscription:
    """Leave: no more emails to this address until it subscribes and confirms again."""
    subscription = status_unsubscription_read(token)
    with transaction.atomic(using="default"):
        subscription = StatusSubscription.objects.select_for_update().get(pk=subscription.pk)
        if subscription.state != SubscriptionState.UNSUBSCRIBED:
            subscription.state = SubscriptionState.UNSUBSCRIBED
            subscription.unsubscribed_at = now or timezone.now()
            subscription.save(update_fields=["state", "unsubscribed_at"])
        # What was waiting to go is not sent either.
        subscription.deliveries.filter(state=StatusDelivery.State.PENDING).exclude(kind=Kind.CONFIRMATION).update(
            state=StatusDelivery.State.FAILED, last_error="unsubscribed"
        )
    return subscription


def _subscribers(hub_codes: Sequence[str] | None) -> list[StatusSubscription]:
    """Active subscribers of any of the hubs; None (the control plane) means everyone."""
    subscriptions = StatusSubscription.objects.filter(state=SubscriptionState.ACTIVE)
    if hub_codes is not None:
        subscriptions = subscriptions.filter(Q(all_hubs=True) | Q(hubs__code__in=list(hub_codes))).distinct()
    return list(subscriptions.only("pk", "email"))


def status_notices_for_incident(*, incident: Incident, update: IncidentUpdate, kind: str) -> list[int]:
    """Deliveries of one step of an incident (opened, a public update, resolved) to the
    hub's subscribers, inside the caller's transaction, sent after it commits.
    The emails carry the incident's title and state and only a public update's text."""
    # The customer banner reads open incidents through a short cache; news changes it.
    hub_code = incident.hub_id
    transaction.on_commit(lambda: cache.delete(open_incidents_cache_key(hub_code)), using="default")
    if not component_is_public(incident.component):
        return []  # staff-only (security): the duty engineer is paged, subscribers hear nothing
    subscribers = _subscribers(None if hub_code is None else [hub_code])
    StatusDelivery.objects.bulk_create(
        [
            StatusDelivery(subscription=s, email=s.email, kind=kind, incident=incident, update=update)
            for s in subscribers
        ],
        ignore_conflicts=True,
    )
    ids = list(
        StatusDelivery.objects.filter(update=update, state=StatusDelivery.State.PENDING).values_list("pk", flat=True)
    )
    _queue_after_commit(ids)
    return ids


def status_notices_for_window(*, window: MaintenanceWindow, hub_codes: Sequence[str]) -> list[int]:
    """Deliveries of a maintenance window's announcement to the hubs' subscribers."""
    StatusDelivery.objects.bulk_create(
        [
            StatusDelivery(subscription=s, email=s.email, kind=Kind.MAINTENANCE, window=window)
            for s in _subscribers(hub_codes)
        ],
        ignore_conflicts=True,
    )
    ids = list(
        StatusDelivery.objects.filter(
            window=window, kind=Kind.MAINTENANCE, state=StatusDelivery.State.PENDING
        ).values_list("pk", flat=True)
    )
    _queue_after_commit(ids)
    return ids


def status_deliveries_retry(*, delivery_ids: Iterable[int], acting_user: User | None) -> int:
    """Staff send failed deliveries again (after fixing the mail server); audited."""
    with transaction.atomic(using="default"):
        ids = list(
            StatusDelivery.objects.filter(pk__in=list(delivery_ids), state=StatusDelivery.State.FAILED)
            .exclude(subscription__state=SubscriptionState.UNSUBSCRIBED, kind__in=_NEWS_KINDS)
            .values_list("pk", flat=True)
        )
        StatusDelivery.objects.filter(pk__in=ids).update(state=StatusDelivery.State.PENDING, attempts=0)
        for delivery_id in ids:
            audit_record(
                actor=acting_user,
                action="statusdelivery.retry",
                target_type=StatusDelivery._meta.label,
                target_id=str(delivery_id),
            )
        _queue_after_commit(ids)
    return len(ids)


_NEWS_KINDS = [kind for kind in Kind.values if kind != Kind.CONFIRMATION]
