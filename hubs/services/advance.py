"""The minute's job (beat, every minute): maintenance on time, by itself.

Windows whose time has come move on (scheduled → in progress → completed),
reminders go out 24 hours ahead, and deliveries whose task was lost are found
again. The job writes rows only; ``hubs.tasks.maintenance_advance_task`` sends
the deliveries it returns, so this module never imports the task module that
imports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from hubs.models import MaintenanceWindow, NoticeDelivery
from hubs.selectors import ACTIVE_STATES, State
from hubs.services.notices import notice_deliveries_lost, notices_create

Kind = NoticeDelivery.Kind

REMINDER_BEFORE = timedelta(hours=24)


@dataclass
class AdvanceResult:
    started: list[int] = field(default_factory=list)
    completed: list[int] = field(default_factory=list)
    reminded: list[int] = field(default_factory=list)
    requeued: int = 0
    # Every delivery to send now: the notices made by this run and the lost ones.
    deliveries: list[int] = field(default_factory=list)


def maintenance_advance(now: datetime | None = None) -> AdvanceResult:
    """Move windows whose time has come (scheduled → in progress → completed),
    make their reminders 24 hours ahead, and find deliveries whose task was
    lost; ``deliveries`` of the result are to be sent (each transaction here has
    committed when it returns). Idempotent: running it twice in the same minute
    does nothing more."""
    now = now or timezone.now()
    result = AdvanceResult()
    due = MaintenanceWindow.objects.filter(
        Q(state=State.SCHEDULED, starts_at__lte=now) | Q(state=State.IN_PROGRESS, ends_at__lte=now)
    ).values_list("pk", flat=True)
    for window_id in list(due):
        with transaction.atomic(using="default"):
            window = MaintenanceWindow.objects.select_for_update().get(pk=window_id)
            codes = list(window.hubs.values_list("code", flat=True))
            if window.state == State.SCHEDULED and window.starts_at <= now:
                window.started_at = now
                if window.ends_at > now:
                    window.state = State.IN_PROGRESS
                    window.save(update_fields=["state", "started_at"])
                    result.deliveries += notices_create(window=window, kind=Kind.STARTED, hub_codes=codes)
                    result.started.append(window.pk)
                    continue
                # The whole window passed while nothing ran: its end is the news.
            if window.state in ACTIVE_STATES and window.ends_at <= now:
                window.state = State.COMPLETED
                window.completed_at = now
                window.save(update_fields=["state", "started_at", "completed_at"])
                result.deliveries += notices_create(window=window, kind=Kind.COMPLETED, hub_codes=codes)
                result.completed.append(window.pk)
    upcoming = MaintenanceWindow.objects.filter(
        state=State.SCHEDULED, starts_at__gt=now, starts_at__lte=now + REMINDER_BEFORE
    )
    for window in upcoming:
        last_told = max(window.announced_at, window.changed_at or window.announced_at)
        if last_told >= window.starts_at - REMINDER_BEFORE:
            continue  # told within the last day already; a reminder would repeat it
        if window.deliveries.filter(kind=Kind.REMINDER, revision=window.revision).exists():
            continue
        with transaction.atomic(using="default"):
            locked = MaintenanceWindow.objects.select_for_update().get(pk=window.pk)
            if locked.state != State.SCHEDULED or locked.revision != window.revision:
                continue
            codes = list(locked.hubs.values_list("code", flat=True))
            result.deliveries += notices_create(window=locked, kind=Kind.REMINDER, hub_codes=codes)
            result.reminded.append(locked.pk)
    lost = [delivery_id for delivery_id in notice_deliveries_lost(now=now) if delivery_id not in result.deliveries]
    result.requeued = len(lost)
    result.deliveries += lost
    return result
