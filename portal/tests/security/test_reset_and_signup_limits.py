"""Password reset requests and signups counted in rolling windows through the
real pages and cache: over the limit, 429 with Retry-After and a page that
says so, and the reset page still never tells whether an email has an account."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from conftest import all_databases
from portal.tests.views.test_signup import GOOD

pytestmark = all_databases

T0 = datetime(2026, 11, 30, 3, 0, 0, tzinfo=UTC)
ADDRESS = "198.51.100.7"
OTHER = "203.0.113.44"


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def page_text(response, email: str) -> str:
    """The page without what differs on every response (CSRF token, nonces) and the email typed."""
    html = response.content.decode().replace(email, "")
    return re.sub(r"[A-Za-z0-9+/=_-]{40,}", "", html)


def reset(email: str, address: str = ADDRESS):
    return Client(REMOTE_ADDR=address).post(reverse("password_reset"), {"email": email})


def test_five_resets_an_hour_per_email_then_429_alike_for_known_and_unknown_emails(make_tenant) -> None:
    known = make_tenant().user.email
    unknown = "nobody-here@example.test"
    with time_machine.travel(T0, tick=False):
        for minute in range(5):
            with time_machine.travel(T0 + timedelta(minutes=minute * 10), tick=False):
                # From a new address each time: the email's own limit is what counts.
                assert reset(known, f"192.0.2.{minute}").status_code == 302
                assert reset(unknown, f"192.0.2.{minute}").status_code == 302
    assert len(mail.outbox) == 5  # the unknown email got nothing, and was told the same
    with time_machine.travel(T0 + timedelta(minutes=45), tick=False):
        refused_known, refused_unknown = reset(known, OTHER), reset(unknown, OTHER)
    for refused in (refused_known, refused_unknown):
        assert refused.status_code == 429
        assert refused.context["slowed_down"].startswith("Too many password reset requests")
        assert b"Too many password reset requests" in refused.content
    # The window rolls: the first request (minute 0) leaves it at minute 60.
    assert refused_known["Retry-After"] == refused_unknown["Retry-After"] == str(15 * 60)
    # Same status, same words, same wait: nothing tells the known email from the unknown.
    assert page_text(refused_known, known) == page_text(refused_unknown, unknown)
    assert len(mail.outbox) == 5
    with time_machine.travel(T0 + timedelta(minutes=60, seconds=1), tick=False):
        assert reset(known, OTHER).status_code == 302
        assert reset(known, OTHER).status_code == 429  # minute 10's request still counts
    assert len(mail.outbox) == 6


def test_twenty_resets_an_hour_per_address_across_emails(make_tenant) -> None:
    victim = make_tenant().user.email
    with time_machine.travel(T0, tick=False):
        for number in range(20):
            assert reset(f"person{number}@example.test").status_code == 302
        refused = reset(victim)
        assert refused.status_code == 429 and refused["Retry-After"] == "3600"
        assert not mail.outbox
        # The victim asking from their own network is not held up by the other address.
        assert reset(victim, OTHER).status_code == 302
        assert len(mail.outbox) == 1


def test_ten_signups_an_hour_per_address_then_429_and_the_window_rolls() -> None:
    with time_machine.travel(T0, tick=False):
        client = Client(REMOTE_ADDR=ADDRESS)
        for number in range(10):
            # Bad attempts count too (a bot's tries), each refused by the form.
            response = client.post(reverse("signup"), {**GOOD, "email": f"bot{number}@x", "password2": "other"})
            assert response.status_code == 200
        refused = client.post(reverse("signup"), GOOD)
        assert refused.status_code == 429 and refused["Retry-After"] == "3600"
        assert b"Too many signups from your network" in refused.content
        assert not get_user_model().objects.exists()
        # Another address signs up at once.
        assert Client(REMOTE_ADDR=OTHER).post(reverse("signup"), GOOD).status_code == 302
    with time_machine.travel(T0 + timedelta(hours=1, seconds=1), tick=False):
        response = Client(REMOTE_ADDR=ADDRESS).post(reverse("signup"), {**GOOD, "email": "late@acme.example"})
        assert response.status_code == 302
