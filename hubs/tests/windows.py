"""What the maintenance tests share: a clock, the hubs, a window scheduled
through the service, the notices it sends and their calendar text."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail

from hubs.errors import MaintenanceRefused
from hubs.models import Hub, MaintenanceWindow
from hubs.services.maintenance import maintenance_schedule

# Sunday 29 November 2026, 16:00 UTC (20:00 in Dubai).
NOW = datetime(2026, 11, 29, 16, 0, tzinfo=UTC)
START = datetime(2026, 12, 12, 9, 0, tzinfo=UTC)
END = datetime(2026, 12, 12, 13, 0, tzinfo=UTC)
SAT_9, SAT_13 = START, END


@pytest.fixture
def frozen() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def hubs(*codes: str) -> list[Hub]:
    found = {hub.code: hub for hub in Hub.objects.filter(code__in=codes)}
    return [found[code] for code in codes]


def local(day: date, zone: str, hour: int = 0, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def schedule(codes: str = "uk", start: datetime = SAT_9, end: datetime = SAT_13, **kw: Any) -> MaintenanceWindow:
    return maintenance_schedule(
        hubs=hubs(*codes.split(",")), title="Storage upgrade", starts_at=start, ends_at=end, **kw
    )


def refusal(codes: str, start: datetime, end: datetime, **kw: Any) -> str:
    with pytest.raises(MaintenanceRefused) as caught:
        schedule(codes, start, end, **kw)
    return str(caught.value)


def person(email_address: str) -> Any:
    return get_user_model().objects.create_user(
        username=email_address, email=email_address, password="a-long-passphrase"
    )


def announce(
    django_capture_on_commit_callbacks: Any, codes: tuple[str, ...] = ("uk", "ae"), **kw: Any
) -> MaintenanceWindow:
    with django_capture_on_commit_callbacks(execute=True):
        return maintenance_schedule(
            hubs=list(Hub.objects.filter(code__in=codes)),
            title="Storage upgrade",
            description="New disks in both facilities.",
            starts_at=kw.pop("starts_at", START),
            ends_at=kw.pop("ends_at", END),
            **kw,
        )


def outbox_by_recipient() -> dict[str, list[mail.EmailMessage]]:
    grouped: dict[str, list[mail.EmailMessage]] = {}
    for message in mail.outbox:
        grouped.setdefault(message.to[0], []).append(message)
    return grouped


def parse_ics(text: str) -> list[tuple[str, str]]:
    """RFC 5545 content lines, unfolded, as (name with parameters, value)."""
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    unfolded = text.replace("\r\n ", "").replace("\r\n\t", "")
    lines = [line for line in unfolded.split("\r\n") if line]
    for line in text.split("\r\n"):
        assert len(line.encode("utf-8")) <= 75, line
    return [tuple(line.split(":", 1)) for line in lines]  # type: ignore[misc]


def ics_values(text: str, name: str) -> list[str]:
    return [value for key, value in parse_ics(text) if key.split(";")[0] == name]
