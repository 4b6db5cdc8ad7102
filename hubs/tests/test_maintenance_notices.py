"""Every owner and admin of every tenant in an affected hub is told, once per
notice, by email with the window in their hub's local time and UTC and an .ics
event: at announcement, 24 hours before, at start and completion, on change
and on cancellation. Failures are retried; a real SMTP server on loopback
(aiosmtpd) receives what is sent; one flow runs through a real worker."""

from __future__ import annotations

import email
import socket
import threading
import time as wall_time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import Message
from typing import Any
from unittest import mock

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from conftest import all_databases
from hubs.maintenance import (
    earliest_allowed_start,
    maintenance_advance,
    maintenance_cancel,
    maintenance_change,
    maintenance_schedule,
    notice_deliveries_retry,
    weekend_of,
)
from hubs.models import Hub, MaintenanceWindow, Membership, NoticeDelivery
from hubs.notices import ics_calendar, ics_fold
from hubs.tasks import NOTICE_MAX_RETRIES, maintenance_notice_deliver_task

pytestmark = all_databases

NOW = datetime(2026, 11, 29, 16, 0, tzinfo=UTC)
START = datetime(2026, 12, 12, 9, 0, tzinfo=UTC)
END = datetime(2026, 12, 12, 13, 0, tzinfo=UTC)


# SECTION: fixtures


@pytest.fixture
def eager_tasks() -> Iterator[None]:
    """Tasks queued after commit run at once, in this thread; a retry runs again at once
    (eager retries work only when errors do not propagate; tests check the rows)."""
    from celery import current_app as app

    previous = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, False
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@pytest.fixture
def frozen() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def person(email_address: str) -> Any:
    return get_user_model().objects.create_user(
        username=email_address, email=email_address, password="a-long-passphrase"
    )


@pytest.fixture
def people(make_tenant) -> dict[str, Any]:
    """uk: an owner who also administers an ae tenant, an admin and a plain member;
    ae: an owner; us (not in the window): an owner."""
    uk = make_tenant(hub="uk", email="owner@uk.test")
    ae = make_tenant(hub="ae", email="owner@ae.test")
    us = make_tenant(hub="us", email="owner@us.test")
    admin, member = person("admin@uk.test"), person("member@uk.test")
    Membership.objects.create(user=admin, tenant=uk.tenant, role=Membership.Role.ADMIN)
    Membership.objects.create(user=member, tenant=uk.tenant, role=Membership.Role.MEMBER)
    Membership.objects.create(user=uk.user, tenant=ae.tenant, role=Membership.Role.ADMIN)
    return {"uk_owner": uk.user, "uk_admin": admin, "uk_member": member, "ae_owner": ae.user, "us_owner": us.user}


def announce(django_capture_on_commit_callbacks, codes=("uk", "ae"), **kw) -> MaintenanceWindow:
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


# SECTION: who is told, once


def test_every_owner_and_admin_in_the_affected_hubs_is_told_once(
    people, frozen, eager_tasks, django_capture_on_commit_callbacks
):
    window = announce(django_capture_on_commit_callbacks)

    received = outbox_by_recipient()
    assert set(received) == {"owner@uk.test", "admin@uk.test", "owner@ae.test"}
    assert all(len(messages) == 1 for messages in received.values())
    deliveries = NoticeDelivery.objects.filter(window=window)
    assert {(d.email, d.kind, d.state, d.attempts) for d in deliveries} == {
        ("owner@uk.test", "announced", "sent", 1),
        ("admin@uk.test", "announced", "sent", 1),
        ("owner@ae.test", "announced", "sent", 1),
    }
    assert all(d.sent_at == NOW for d in deliveries)

    # The person in both hubs sees both local times, and UTC.
    body = received["owner@uk.test"][0].body
    assert "Hub uk, London, United Kingdom, local time: Sat 12 Dec 2026 09:00 +00 to Sat 12 Dec 2026 13:00 +00" in body
    assert (
        "Hub ae, Dubai, United Arab Emirates, local time: Sat 12 Dec 2026 13:00 +04 to Sat 12 Dec 2026 17:00 +04"
        in (body)
    )
    assert "UTC: Sat 12 Dec 2026 09:00 UTC to Sat 12 Dec 2026 13:00 UTC" in body
    ae_body = received["owner@ae.test"][0].body
    assert "Hub ae" in ae_body and "Hub uk" not in ae_body
    assert received["admin@uk.test"][0].subject.startswith("Hubport: Maintenance announced: Storage upgrade")


def test_delivering_twice_sends_nothing_more(people, frozen, eager_tasks, django_capture_on_commit_callbacks):
    window = announce(django_capture_on_commit_callbacks)
    sent = len(mail.outbox)
    for delivery in NoticeDelivery.objects.filter(window=window):
        assert maintenance_notice_deliver_task.apply(kwargs={"delivery_id": delivery.pk}).get() == "nothing to send"
    assert len(mail.outbox) == sent
    with pytest.raises(IntegrityError), transaction.atomic():
        delivery = NoticeDelivery.objects.filter(window=window).first()
        NoticeDelivery.objects.create(
            window=window, user=delivery.user, email=delivery.email, kind="announced", revision=window.revision
        )


def test_reminder_start_and_completion_go_out_on_time_once_each(
    people, frozen, eager_tasks, django_capture_on_commit_callbacks
):
    window = announce(django_capture_on_commit_callbacks)

    def advance_at(moment: datetime) -> None:
        frozen.move_to(moment)
        for _ in range(2):  # beat may run twice in the same minute
            with django_capture_on_commit_callbacks(execute=True):
                maintenance_advance()

    advance_at(START - timedelta(hours=24, minutes=1))
    assert not NoticeDelivery.objects.filter(kind="reminder").exists()
    advance_at(START - timedelta(hours=24))
    advance_at(START - timedelta(hours=23))
    window.refresh_from_db()
    assert window.state == "scheduled"
    advance_at(START)
    window.refresh_from_db()
    assert (window.state, window.started_at) == ("in_progress", START)
    advance_at(END - timedelta(seconds=1))
    advance_at(END)
    window.refresh_from_db()
    assert (window.state, window.completed_at) == ("completed", END)

    for user in (people["uk_owner"], people["uk_admin"], people["ae_owner"]):
        kinds = sorted(NoticeDelivery.objects.filter(user=user, state="sent").values_list("kind", flat=True))
        assert kinds == ["announced", "completed", "reminder", "started"]
    subjects = [message.subject for message in mail.outbox if message.to == ["owner@ae.test"]]
    assert [subject.split(":")[1].strip() for subject in subjects] == [
        "Maintenance announced",
        "Maintenance tomorrow",
        "Maintenance has started",
        "Maintenance completed",
    ]


def test_no_reminder_when_the_window_was_announced_within_the_last_day(
    people, frozen, eager_tasks, django_capture_on_commit_callbacks
):
    frozen.move_to(START - timedelta(hours=3))
    announce(django_capture_on_commit_callbacks, emergency=True, emergency_reason="Disk controller failing")
    with django_capture_on_commit_callbacks(execute=True):
        maintenance_advance()
    assert not NoticeDelivery.objects.filter(kind="reminder").exists()
    assert all("EMERGENCY" in message.subject for message in mail.outbox)
    assert "Reason: Disk controller failing" in mail.outbox[0].body


def test_changes_and_cancellation_are_announced_with_calendar_updates(
    people, frozen, eager_tasks, django_capture_on_commit_callbacks
):
    window = announce(django_capture_on_commit_callbacks)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        maintenance_change(window=window, hubs=list(Hub.objects.filter(code="uk")), ends_at=END - timedelta(hours=1))
    received = outbox_by_recipient()
    assert set(received) == {"owner@uk.test", "admin@uk.test", "owner@ae.test"}, "ae's owner hears it no longer applies"
    change = received["admin@uk.test"][0]
    assert change.subject.startswith("Hubport: Maintenance changed")
    [(name, ics, mimetype)] = change.attachments
    assert (name, mimetype) == (f"maintenance-{window.pk}.ics", "text/calendar")
    assert ics_values(ics, "SEQUENCE") == ["2"] and ics_values(ics, "DTEND") == ["20261212T120000Z"]

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        maintenance_cancel(window=window, reason="Supplier delay")
    received = outbox_by_recipient()
    assert set(received) == {"owner@uk.test", "admin@uk.test"}
    cancel = received["owner@uk.test"][0]
    assert "Why: Supplier delay" in cancel.body
    [(_, ics, _)] = cancel.attachments
    assert ics_values(ics, "METHOD") == ["CANCEL"] and ics_values(ics, "STATUS") == ["CANCELLED"]
    assert ics_values(ics, "UID") == [f"maintenance-{window.pk}@127.0.0.1"]


# SECTION: iCalendar by hand


def test_ics_escapes_and_folds_long_lines_without_splitting_characters(frozen, db):
    window = MaintenanceWindow.objects.create(
        title="Größere Wartung; Speicher, Netz \\ Router " + "ü" * 60,
        description="Line one\nLine two",
        starts_at=START,
        ends_at=END,
        announced_at=NOW,
    )
    window.hubs.set(Hub.objects.filter(code="de"))
    text = ics_calendar([window])
    [summary] = ics_values(text, "SUMMARY")
    assert summary.startswith("Maintenance: Größere Wartung\\; Speicher\\, Netz \\\\ Router ")
    [description] = ics_values(text, "DESCRIPTION")
    assert "Line one\\nLine two" in description
    assert ics_values(text, "DTSTART") == ["20261212T090000Z"]
    assert all(part.encode("utf-8") for part in ics_fold("ü" * 100).split("\r\n"))


# SECTION: failures are retried


def test_a_failed_send_is_recorded_and_retried_with_a_countdown(
    people, frozen, eager_tasks, django_capture_on_commit_callbacks
):
    real_send = mail.EmailMessage.send
    calls = {"n": 0}

    def flaky_send(self, fail_silently=False):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError("Connection refused")
        return real_send(self, fail_silently=fail_silently)

    countdowns: list[int] = []
    real_retry = maintenance_notice_deliver_task.retry

    def spy_retry(*args, **kwargs):  # type: ignore[no-untyped-def]
        countdowns.append(kwargs["countdown"])
        return real_retry(*args, **kwargs)

    with (
        mock.patch.object(mail.EmailMessage, "send", flaky_send),
        mock.patch.object(maintenance_notice_deliver_task, "retry", spy_retry),
    ):
        window = announce(django_capture_on_commit_callbacks, codes=("us",))
    [delivery] = NoticeDelivery.objects.filter(window=window)
    assert (delivery.state, delivery.attempts, delivery.last_error) == ("sent", 2, "")
    assert countdowns == [30]
    assert len(mail.outbox) == 1


def test_a_notice_that_keeps_failing_is_marked_failed_and_staff_can_send_it_again(
    people, frozen, eager_tasks, django_capture_on_commit_callbacks
):
    with mock.patch.object(mail.EmailMessage, "send", side_effect=OSError("Connection refused")):
        window = announce(django_capture_on_commit_callbacks, codes=("us",))
    [delivery] = NoticeDelivery.objects.filter(window=window)
    assert (delivery.state, delivery.attempts) == ("failed", NOTICE_MAX_RETRIES + 1)
    assert delivery.last_error == "OSError: Connection refused"
    assert mail.outbox == []

    with django_capture_on_commit_callbacks(execute=True):
        assert notice_deliveries_retry(delivery_ids=[delivery.pk], acting_user=None) == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("sent", 1)
    assert len(mail.outbox) == 1


def test_a_delivery_whose_task_was_lost_is_queued_again(people, frozen, django_capture_on_commit_callbacks):
    # Not eager: the broker message goes nowhere, as if the broker had lost it.
    window = announce(django_capture_on_commit_callbacks, codes=("us",))
    frozen.shift(timedelta(minutes=16))
    with mock.patch("hubs.tasks.maintenance_notice_deliver_task.delay") as delay:
        result = maintenance_advance()
    [delivery] = NoticeDelivery.objects.filter(window=window)
    assert result.requeued == 1
    delay.assert_called_once_with(delivery_id=delivery.pk)


# SECTION: a real SMTP server on loopback


class RecordingHandler:
    """An aiosmtpd handler that keeps every message; the first ``fail_first`` answer 451."""

    def __init__(self, fail_first: int = 0) -> None:
        self.messages: list[Message] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.fail_first = fail_first
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        with self.lock:
            if self.fail_first > 0:
                self.fail_first -= 1
                return "451 4.3.0 Try again later"
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.messages.append(email.message_from_bytes(envelope.original_content or envelope.content))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server(settings) -> Iterator[RecordingHandler]:
    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 10
    try:
        yield handler
    finally:
        controller.stop()


def attachment_of(message: Message) -> tuple[str, str]:
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            return part.get_filename(), part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
    raise AssertionError("no text/calendar part")


def body_of(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain" and not part.get_filename():
            return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
    raise AssertionError("no text part")


def test_notices_reach_a_real_smtp_server_with_local_time_utc_and_a_calendar_event(
    people, frozen, eager_tasks, django_capture_on_commit_callbacks, smtp_server
):
    window = announce(django_capture_on_commit_callbacks)

    assert sorted(rcpt for _, [rcpt] in smtp_server.envelopes) == ["admin@uk.test", "owner@ae.test", "owner@uk.test"]
    by_recipient = {message["To"]: message for message in smtp_server.messages}
    message = by_recipient["owner@ae.test"]
    subject = message["Subject"].replace("\r", "").replace("\n", "")  # unfolded
    assert subject == "Hubport: Maintenance announced: Storage upgrade (Sat 12 Dec 2026 09:00 UTC)"
    text = body_of(message)
    assert "local time: Sat 12 Dec 2026 13:00 +04 to Sat 12 Dec 2026 17:00 +04 (Asia/Dubai)" in text
    assert "UTC: Sat 12 Dec 2026 09:00 UTC to Sat 12 Dec 2026 13:00 UTC" in text
    filename, ics = attachment_of(message)
    assert filename == f"maintenance-{window.pk}.ics"
    lines = parse_ics(ics)
    assert lines[0] == ("BEGIN", "VCALENDAR") and lines[-1] == ("END", "VCALENDAR")
    assert ics_values(ics, "VERSION") == ["2.0"] and ics_values(ics, "METHOD") == ["PUBLISH"]
    assert ics_values(ics, "DTSTART") == ["20261212T090000Z"] and ics_values(ics, "DTEND") == ["20261212T130000Z"]
    assert ics_values(ics, "SUMMARY") == ["Maintenance: Storage upgrade"]
    assert ics_values(ics, "STATUS") == ["CONFIRMED"]
    assert NoticeDelivery.objects.filter(window=window, state="sent").count() == 3


def test_a_temporary_smtp_refusal_is_retried_and_the_notice_arrives_once(
    people, frozen, eager_tasks, django_capture_on_commit_callbacks, smtp_server
):
    smtp_server.fail_first = 1
    window = announce(django_capture_on_commit_callbacks, codes=("us",))
    [delivery] = NoticeDelivery.objects.filter(window=window)
    assert (delivery.state, delivery.attempts) == ("sent", 2)
    assert [message["To"] for message in smtp_server.messages] == ["owner@us.test"]


# SECTION: through a real worker


@pytest.mark.worker
def test_notices_are_sent_by_a_real_worker_on_the_control_queue(make_tenant, celery_worker):
    make_tenant(hub="hk", email="owner@hk.test")
    hub = Hub.objects.get(code="hk")
    # A minute to spare: the clock runs on between this line and the announcement.
    start = earliest_allowed_start(hubs=[hub], now=timezone.now() + timedelta(minutes=1))
    end = min(start + timedelta(hours=1), weekend_of(start, hub.zone)[1])
    window = maintenance_schedule(hubs=[hub], title="Network upgrade", starts_at=start, ends_at=end)

    deadline = wall_time.monotonic() + 30
    while wall_time.monotonic() < deadline:
        if NoticeDelivery.objects.filter(window=window, state="sent").exists():
            break
        wall_time.sleep(0.1)
    delivery = NoticeDelivery.objects.get(window=window)
    assert (delivery.email, delivery.state, delivery.attempts) == ("owner@hk.test", "sent", 1)
    assert [message.to for message in mail.outbox] == [["owner@hk.test"]]
    assert any(outcome.get("queue") == "control" for outcome in celery_worker.finished.values())
