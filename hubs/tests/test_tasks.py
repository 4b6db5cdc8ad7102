"""The delivery task: a failed send is recorded and retried with a countdown,
one that keeps failing is marked failed (staff send it again), a real SMTP
server on loopback (aiosmtpd) receives what is sent, and one flow runs through
a real worker on the control queue."""

from __future__ import annotations

import email
import socket
import threading
import time as wall_time
from collections.abc import Iterator
from datetime import timedelta
from email.message import Message
from unittest import mock

import pytest
from aiosmtpd.controller import Controller
from django.core import mail
from django.utils import timezone

from conftest import all_databases
from hubs.models import Hub, NoticeDelivery
from hubs.services.maintenance import maintenance_schedule, notice_deliveries_retry
from hubs.tasks import NOTICE_MAX_RETRIES, maintenance_notice_deliver_task
from hubs.tests.windows import announce, ics_values, parse_ics
from hubs.weekends import earliest_allowed_start, weekend_of

pytestmark = all_databases


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
