"""How long sign-in events are kept (90 days), and their expiry: run
hourly by ``portal.tasks.sign_in_history_expire_task``. Apart from
``sign_ins`` because that module queues email tasks."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from portal.models import SignInEvent

# Rows removed per statement: a killed worker loses at most one batch of
# work, and no statement holds the table long.
EXPIRE_BATCH_ROWS = 2000


def history_days() -> int:
    return int(getattr(settings, "HUBPORT_SIGN_IN_HISTORY_DAYS", 90))


def sign_in_events_expire(*, now: datetime | None = None, batch_rows: int = EXPIRE_BATCH_ROWS) -> int:
    """Remove sign-in events older than the retention (90 days), a batch at
    a time; returns how many went."""
    cutoff = (now or timezone.now()) - timedelta(days=history_days())
    removed = 0
    while True:
        ids = list(SignInEvent.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[:batch_rows])
        if not ids:
            return removed
        removed += SignInEvent.objects.filter(pk__in=ids).delete()[0]
