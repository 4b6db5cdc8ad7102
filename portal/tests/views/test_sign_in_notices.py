"""The emails the sign-in history sets off, through the real sign-in pages:
a sign-in from a device or network not seen in the person's successful
sign-ins of the last 90 days (ASVS 6.3.5), and repeated wrong two-factor
codes after the right password (once a window, never one email per code).
Tasks run at once into Django's locmem outbox; the last test sends through a
real worker to a real SMTP server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from conftest import all_databases
from portal.models import SignInEvent
from portal.security.notice_emails import SUBJECTS, AccountNotice
from portal.tests.security.test_account_notices import CHROME_ON_WINDOWS, body_of
from portal.tests.views.test_two_factor import PASSWORD, code_for, enrol, is_signed_in

pytestmark = all_databases

T0 = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
HOME = "203.0.113.10"
NEW_SIGN_IN = SUBJECTS[AccountNotice.NEW_SIGN_IN]
WRONG_CODES = SUBJECTS[AccountNotice.WRONG_CODES]


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def owner(make_tenant):
    return make_tenant(password=PASSWORD).user


@pytest.fixture
def send(eager_tasks, django_capture_on_commit_callbacks):
    """Post to a page with every email it queues sent at once."""

    def post(client: Client, url: str, data: dict[str, str]):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data)

    return post


@pytest.fixture
def sign_in(send):
    def sign_in_from(address: str, user_agent: str, user, password: str = PASSWORD) -> Client:
        client = Client(REMOTE_ADDR=address, HTTP_USER_AGENT=user_agent)
        send(client, reverse("login"), {"email": user.email, "password": password})
        return client

    return sign_in_from


def subjects() -> list[str]:
    return [message.subject for message in mail.outbox]


# SECTION: a new device or network


def test_the_first_sign_in_and_the_same_browser_again_send_nothing(owner, sign_in):
    assert is_signed_in(sign_in(HOME, FIREFOX, owner))
    sign_in(HOME, FIREFOX, owner)
    sign_in("203.0.113.99", FIREFOX, owner)  # the same /24: the provider's next address
    assert SignInEvent.objects.filter(user=owner, outcome="success").count() == 3
    assert mail.outbox == []


def test_a_new_device_is_emailed_with_when_where_and_what(owner, sign_in):
    owner.time_zone = "Asia/Tokyo"
    owner.save(update_fields=["time_zone"])
    sign_in(HOME, FIREFOX, owner)
    sign_in(HOME, CHROME_ON_WINDOWS, owner)
    [message] = mail.outbox
    assert message.subject == NEW_SIGN_IN
    assert message.to == [owner.email]
    assert "Device:  Chrome 131 on Windows" in message.body
    assert f"Address: {HOME}" in message.body
    assert "JST" in message.body
    assert reverse("account_security") in message.body
    sign_in(HOME, CHROME_ON_WINDOWS, owner)
    assert len(mail.outbox) == 1, "a device once seen is not new again"


def test_a_new_network_is_emailed_even_on_a_known_device(owner, sign_in):
    sign_in(HOME, FIREFOX, owner)
    sign_in("198.51.100.5", FIREFOX, owner)
    assert subjects() == [NEW_SIGN_IN]
    assert "Address: 198.51.100.5" in mail.outbox[0].body


def test_ipv6_is_judged_by_its_48(owner, sign_in):
    sign_in("2001:db8:aa:1::10", FIREFOX, owner)
    sign_in("2001:db8:aa:ffff:1234::9", FIREFOX, owner)  # another /64 of the same site
    assert mail.outbox == []
    sign_in("2001:db8:bb:1::10", FIREFOX, owner)
    assert subjects() == [NEW_SIGN_IN]


def test_failed_attempts_do_not_make_a_network_familiar(owner, sign_in):
    sign_in(HOME, FIREFOX, owner)
    sign_in("198.51.100.66", CHROME_ON_WINDOWS, owner, password="guess")
    sign_in("198.51.100.66", CHROME_ON_WINDOWS, owner)
    assert subjects() == [NEW_SIGN_IN]


def test_a_device_last_seen_over_90_days_ago_is_new_again(owner, sign_in):
    with time_machine.travel(T0, tick=False):
        sign_in(HOME, FIREFOX, owner)
    with time_machine.travel(T0 + timedelta(days=60), tick=False):
        sign_in("198.51.100.5", CHROME_ON_WINDOWS, owner)
    assert len(mail.outbox) == 1
    with time_machine.travel(T0 + timedelta(days=91), tick=False):
        sign_in(HOME, FIREFOX, owner)
    assert subjects() == [NEW_SIGN_IN, NEW_SIGN_IN]


def test_signing_up_then_signing_in_from_the_same_browser_sends_nothing(send):
    client = Client(REMOTE_ADDR=HOME, HTTP_USER_AGENT=FIREFOX)
    data = {"company_name": "Acme Notices", "slug": "acme-notices", "hub": "uk", "email": "founder@example.test"}
    response = send(client, reverse("signup"), data | {"password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302
    client.post(reverse("logout"))
    send(client, reverse("login"), {"email": "founder@example.test", "password": PASSWORD})
    assert is_signed_in(client)
    assert mail.outbox == []


# SECTION: repeated wrong codes


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_the_third_wrong_code_emails_once_however_many_follow(owner, send):
    device, _ = enrol(owner)
    client = Client(REMOTE_ADDR=HOME, HTTP_USER_AGENT=CHROME_ON_WINDOWS)
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        send(client, reverse("login"), {"email": owner.email, "password": PASSWORD})
        for attempt in range(1, 6):
            response = send(client, reverse("login_code"), {"code": wrong(code_for(device))})
            assert response.status_code == 200
            assert subjects() == ([] if attempt < 3 else [WRONG_CODES])
    [message] = mail.outbox
    assert "then 3 wrong two-factor codes" in message.body
    assert "Device:  Chrome 131 on Windows" in message.body
    assert SignInEvent.objects.filter(user=owner, outcome="wrong_code", notified=True).count() == 1
    # A window later, another three: a second email.
    cache.clear()  # the code step's slow-down has long passed by then
    with time_machine.travel(T0 + timedelta(minutes=20), tick=False):
        send(client, reverse("login"), {"email": owner.email, "password": PASSWORD})
        for _ in range(3):
            send(client, reverse("login_code"), {"code": wrong(code_for(device))})
    assert subjects() == [WRONG_CODES, WRONG_CODES]


def test_wrong_codes_before_a_sign_in_are_not_counted_after_it(owner, send, settings):
    settings.HUBPORT_WRONG_CODES_NOTICE_AFTER = 3
    device, _ = enrol(owner)
    client = Client(REMOTE_ADDR=HOME, HTTP_USER_AGENT=FIREFOX)
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        send(client, reverse("login"), {"email": owner.email, "password": PASSWORD})
        for _ in range(2):
            send(client, reverse("login_code"), {"code": wrong(code_for(device))})
        send(client, reverse("login_code"), {"code": code_for(device)})
        assert is_signed_in(client)
        client.post(reverse("logout"))
    with time_machine.travel(T0 + timedelta(minutes=3), tick=False):
        send(client, reverse("login"), {"email": owner.email, "password": PASSWORD})
        for _ in range(2):
            send(client, reverse("login_code"), {"code": wrong(code_for(device))})
    assert WRONG_CODES not in subjects()


def test_the_threshold_is_a_setting(owner, send, settings):
    settings.HUBPORT_WRONG_CODES_NOTICE_AFTER = 1
    device, _ = enrol(owner)
    client = Client(REMOTE_ADDR=HOME, HTTP_USER_AGENT=FIREFOX)
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        send(client, reverse("login"), {"email": owner.email, "password": PASSWORD})
        send(client, reverse("login_code"), {"code": wrong(code_for(device))})
    assert subjects() == [WRONG_CODES]


# SECTION: through the real worker and a real SMTP server


@pytest.mark.worker
def test_a_new_device_email_reaches_the_smtp_server(celery_worker, smtp_receiver, make_tenant):
    owner = make_tenant(password=PASSWORD).user
    Client(REMOTE_ADDR=HOME, HTTP_USER_AGENT=FIREFOX).post(
        reverse("login"), {"email": owner.email, "password": PASSWORD}
    )
    stranger = Client(REMOTE_ADDR="198.51.100.23", HTTP_USER_AGENT=CHROME_ON_WINDOWS)
    stranger.post(reverse("login"), {"email": owner.email, "password": PASSWORD})
    assert smtp_receiver.arrived.acquire(timeout=60), "no email reached the SMTP server"
    [message] = smtp_receiver.messages
    assert message["To"] == owner.email
    assert message["Subject"] == NEW_SIGN_IN
    body = body_of(message)
    assert "Address: 198.51.100.23" in body
    assert "Device:  Chrome 131 on Windows" in body
