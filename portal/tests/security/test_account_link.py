"""The account's high threshold (NIST SP 800-63B: at most 100 consecutive
failures), through the real sign-in page, the real cache and a real SMTP
server: past it the right password sends a one-time link instead of signing
in, the link signs in once, and below it nothing changes (ASVS 6.1.1)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from conftest import all_databases
from hubs.tests.test_tasks import body_of
from portal.security.sign_in_link import account_failures
from portal.tests.views.test_two_factor import PASSWORD, code_for, enrol, is_signed_in

pytestmark = [all_databases, pytest.mark.usefixtures("eager_tasks")]
_capture: list = []


@pytest.fixture(autouse=True)
def _emails_sent_after_commit(django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """The link goes out through the security emails' queue after commit: each
    sign-in below runs what it queued, in this thread, before the test reads the mail."""
    _capture.append(django_capture_on_commit_callbacks)
    yield
    _capture.clear()


T0 = datetime(2026, 11, 30, 3, 0, 0, tzinfo=UTC)


@pytest.fixture
def owner(make_tenant):
    return make_tenant(password=PASSWORD)


def sign_in(address: str, email: str, password: str, next_url: str = ""):
    client = Client(REMOTE_ADDR=address)
    data = {"email": email, "password": password, **({"next": next_url} if next_url else {})}
    with _capture[0](execute=True):
        response = client.post(reverse("login"), data)
    return client, response


def spread_failures(email: str, count: int) -> None:
    """``count`` wrong passwords, one from each of as many addresses, so no
    per-address or per-pair slow-down ever applies."""
    for number in range(count):
        _, response = sign_in(f"10.{number // 250}.{number % 250}.1", email, "wrong password")
        assert response.status_code == 200


def link_path(message) -> str:  # type: ignore[no-untyped-def]
    match = re.search(r"https?://\S+(/login/link/\S+/)", body_of(message))
    assert match is not None, "no sign-in link in the email"
    return match.group(1)


def test_past_a_hundred_failures_the_right_password_emails_a_link_that_signs_in_once(owner, smtp_receiver) -> None:
    email = owner.user.email
    with time_machine.travel(T0, tick=False):
        spread_failures(email, 100)
        assert not smtp_receiver.messages, "wrong passwords never send mail"
        assert account_failures(email) == 100
        client, response = sign_in("192.0.2.200", email, PASSWORD, next_url="/settings/profile/")
        assert response.status_code == 200
        assert not is_signed_in(client)
        assert b"We emailed you a link to finish signing in" in response.content
        [message] = smtp_receiver.messages
        assert message["To"] == email
        assert message["Subject"] == "Hubport: finish signing in"
        path = link_path(message)
        # Wrong passwords past the threshold still send nothing.
        sign_in("192.0.2.201", email, "another wrong one")
        assert len(smtp_receiver.messages) == 1

    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        browser = Client(REMOTE_ADDR="192.0.2.200")
        shown = browser.get(path)
        assert shown.status_code == 200 and b"Finish signing in" in shown.content
        assert not is_signed_in(browser), "a GET (a mail scanner) spends nothing"
        finished = browser.post(path)
        assert finished.status_code == 302 and finished["Location"] == "/settings/profile/"
        assert is_signed_in(browser)
        # The count is cleared: the next right password signs in as before.
        assert account_failures(email) == 0
        again = Client(REMOTE_ADDR="192.0.2.202")
        refused = again.post(path)
        assert refused.status_code == 403
        assert b"used already" in refused.content
        assert not is_signed_in(again)
        client, response = sign_in("192.0.2.203", email, PASSWORD)
        assert response.status_code == 302 and is_signed_in(client)


def test_an_expired_or_altered_link_is_refused(owner, smtp_receiver) -> None:
    email = owner.user.email
    with time_machine.travel(T0, tick=False):
        spread_failures(email, 100)
        sign_in("192.0.2.200", email, PASSWORD)
        path = link_path(smtp_receiver.messages[0])
    with time_machine.travel(T0 + timedelta(minutes=15, seconds=1), tick=False):
        browser = Client()
        expired = browser.post(path)
        assert expired.status_code == 403 and b"expired" in expired.content
        assert not is_signed_in(browser)
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        altered = Client().post(path[:-3] + ("A" if path[-3] != "A" else "B") + path[-2:])
        assert altered.status_code == 403 and b"not valid" in altered.content


def test_the_link_leads_to_the_code_step_when_the_person_has_a_device(owner, smtp_receiver) -> None:
    device, _ = enrol(owner.user)
    email = owner.user.email
    with time_machine.travel(T0, tick=False):
        spread_failures(email, 100)
        client, _ = sign_in("192.0.2.200", email, PASSWORD)
        path = link_path(smtp_receiver.messages[0])
        response = client.post(path)
        assert response.status_code == 302 and response["Location"] == reverse("login_code")
        assert not is_signed_in(client), "the link is the password step only"
        assert client.post(reverse("login_code"), {"code": code_for(device)}).status_code == 302
        assert is_signed_in(client)


def test_below_the_threshold_the_right_password_from_a_fresh_address_signs_in(owner, mailoutbox) -> None:
    email = owner.user.email
    with time_machine.travel(T0, tick=False):
        spread_failures(email, 99)
        client, response = sign_in("192.0.2.250", email, PASSWORD)
        assert response.status_code == 302 and is_signed_in(client)
        assert not mailoutbox
        # A success clears the count: 99 more failures still leave the password enough.
        assert account_failures(email) == 0
        spread_failures(email, 99)
        client, response = sign_in("192.0.2.251", email, PASSWORD)
        assert response.status_code == 302 and is_signed_in(client)


def test_the_right_password_sends_at_most_three_links_in_fifteen_minutes(owner, mailoutbox) -> None:
    email = owner.user.email
    with time_machine.travel(T0, tick=False):
        spread_failures(email, 100)
        for number in range(5):
            client, response = sign_in(f"192.0.2.{number}", email, PASSWORD)
            assert response.status_code == 200 and not is_signed_in(client)
            assert b"We emailed you a link" in response.content
        assert len(mailoutbox) == 3
