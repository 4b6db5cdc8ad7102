"""Sign-in events per hub and minute (the control plane when no hub is known):
the portal records each failed sign-in, the ``security.failed_sign_ins``
probe reads the last 15 minutes, and throttling can read the same counters.
``kind`` names the event (``failed``), so other kinds need no new store."""

from __future__ import annotations

from datetime import datetime

from hubs.monitoring.minute_counters import CONTROL, counters_add, counters_sum

PREFIX = "sign_in"
FAILED = "failed"


def sign_in_event_record(*, hub_code: str | None, kind: str, moment: datetime | None = None) -> None:
    counters_add(prefix=PREFIX, scope=hub_code or CONTROL, names=[kind], moment=moment)


def sign_in_events_count(*, hub_code: str | None, kind: str, minutes: int, moment: datetime | None = None) -> int:
    return counters_sum(prefix=PREFIX, scope=hub_code or CONTROL, names=[kind], minutes=minutes, moment=moment)[kind]
