"""Security emails to a person: queued after commit, sent by a real worker to a
real SMTP server, saying when, from where and on what; nothing when the change
rolls back. And the device label every one of them shows."""

from __future__ import annotations

from email.message import Message

import pytest
from django.db import transaction
from django.test import RequestFactory
from hypothesis import given, settings
from hypothesis import strategies as st

from hubs.tests.alerting import smtp_receiver  # noqa: F401 - a fixture
from hubs.tests.windows import person
from portal.security.devices import UNKNOWN_DEVICE, device_label, event_details
from portal.security.notice_emails import SUBJECTS, AccountNotice, account_notice_email
from portal.security.notices import account_notice_send

CHROME_ON_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)


def body_of(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


@pytest.mark.parametrize(
    ("user_agent", "label"),
    [
        (CHROME_ON_WINDOWS, "Chrome 131 on Windows"),
        ("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox 133 on Linux"),
        ("rclone/v1.60.1", "rclone 1"),
        ("", UNKNOWN_DEVICE),
        ("\x00\x01 garbage", UNKNOWN_DEVICE),
    ],
)
def test_device_label_names_the_browser_and_system(user_agent, label):
    assert device_label(user_agent) == label


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=2000))
def test_device_label_never_fails_and_stays_short(user_agent):
    label = device_label(user_agent)
    assert label
    assert len(label) <= 200


@pytest.mark.django_db
def test_event_details_are_in_the_persons_own_zone():
    user = person("tokyo@example.test")
    user.time_zone = "Asia/Tokyo"
    user.save(update_fields=["time_zone"])
    request = RequestFactory().get("/", HTTP_USER_AGENT=CHROME_ON_WINDOWS, REMOTE_ADDR="203.0.113.9")
    details = event_details(request=request, user=user)
    assert details["time"].endswith("JST")
    assert details["address"] == "203.0.113.9"
    assert details["device"] == "Chrome 131 on Windows"


@pytest.mark.django_db
@pytest.mark.parametrize("kind", list(AccountNotice))
def test_every_kind_has_a_subject_and_a_body(kind):
    user = person("kinds@example.test")
    details = {"time": "1 Dec 2026, 03:00 UTC", "address": "198.51.100.7", "device": "Firefox 133 on Linux"}
    details |= {"link": "https://hubport.test/x", "valid_for": "15 minutes", "change": "backup codes replaced"}
    details |= {"old_email": "a@example.test", "new_email": "b@example.test", "count": "5"}
    message = account_notice_email(user=user, kind=kind, details=details)
    assert message.subject == SUBJECTS[kind]
    assert message.to == ["kinds@example.test"]
    assert "{{" not in message.body
    assert "&#x27;" not in message.body and "&amp;" not in message.body  # plain text, not escaped HTML


@pytest.mark.worker
def test_a_notice_is_sent_by_the_worker_after_commit(celery_worker, smtp_receiver):  # noqa: F811
    user = person("owner@example.test")
    request = RequestFactory().get("/", HTTP_USER_AGENT=CHROME_ON_WINDOWS, REMOTE_ADDR="203.0.113.9")
    details = event_details(request=request, user=user)
    with transaction.atomic():
        account_notice_send(user=user, kind=AccountNotice.NEW_SIGN_IN, details=details)
    assert smtp_receiver.arrived.acquire(timeout=60), "no email reached the SMTP server"
    [message] = smtp_receiver.messages
    assert message["To"] == "owner@example.test"
    assert message["Subject"] == SUBJECTS[AccountNotice.NEW_SIGN_IN]
    body = body_of(message)
    assert "Address: 203.0.113.9" in body
    assert "Device:  Chrome 131 on Windows" in body
    assert "/accounts/password/reset/" in body or "password" in body


@pytest.mark.worker
def test_a_rolled_back_change_sends_nothing(celery_worker, smtp_receiver):  # noqa: F811
    user = person("rollback@example.test")

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        account_notice_send(user=user, kind=AccountNotice.PASSWORD_CHANGED, details={"time": "now"})
        raise Undo
    # A second, committed notice arrives; had the first been queued it would arrive first.
    with transaction.atomic():
        account_notice_send(user=user, kind=AccountNotice.TWO_FACTOR_CHANGED, details={"change": "x"})
    assert smtp_receiver.arrived.acquire(timeout=60)
    assert [m["Subject"] for m in smtp_receiver.messages] == [SUBJECTS[AccountNotice.TWO_FACTOR_CHANGED]]
