"""The sign-in history: every attempt on an account recorded through the real
sign-in pages (Django's auth signals and the code step), shown to its owner
alone on Settings → Sign-ins and sessions, newest first, in their zone, and
expired after 90 days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from conftest import all_databases
from portal.models import SignInEvent
from portal.security.networks import address_network
from portal.services.sign_in_retention import sign_in_events_expire
from portal.services.sign_ins import sign_in_event_record
from portal.tasks import sign_in_history_expire_task
from portal.tests.views.test_two_factor import PASSWORD, code_for, enrol, is_signed_in

pytestmark = all_databases

T0 = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
HOME = "203.0.113.10"
Outcome = SignInEvent.Outcome
Method = SignInEvent.Method


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def owner(make_tenant):
    return make_tenant(password=PASSWORD).user


def browser(address: str = HOME, user_agent: str = FIREFOX) -> Client:
    return Client(REMOTE_ADDR=address, HTTP_USER_AGENT=user_agent)


def sign_in(client: Client, email: str, password: str = PASSWORD):
    return client.post(reverse("login"), {"email": email, "password": password})


def events(user) -> list[tuple[str, str]]:
    return [(event.outcome, event.method) for event in SignInEvent.objects.filter(user=user).order_by("id")]


def other_code(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


# SECTION: what is recorded


def test_a_password_sign_in_is_recorded_with_address_and_device(owner):
    client = browser()
    assert sign_in(client, owner.email).status_code == 302
    [event] = SignInEvent.objects.filter(user=owner)
    assert (event.outcome, event.method) == (Outcome.SUCCESS, Method.PASSWORD)
    assert event.address == HOME
    assert event.network == "203.0.113.0/24"
    assert event.device == "Firefox 133 on Linux"
    assert event.user_agent == FIREFOX


def test_a_wrong_password_is_recorded_for_that_account(owner):
    response = sign_in(browser(), owner.email.upper(), "not the password")
    assert response.status_code == 200
    assert events(owner) == [(Outcome.WRONG_PASSWORD, Method.PASSWORD)]


def test_an_unknown_email_records_nothing_and_answers_the_same(owner):
    known = sign_in(browser(), owner.email, "not the password")
    unknown = sign_in(browser(), "nobody@example.test", "not the password")
    assert SignInEvent.objects.count() == 1
    assert unknown.status_code == known.status_code == 200
    assert unknown.context["form"].non_field_errors() == known.context["form"].non_field_errors()


def test_a_very_long_user_agent_is_cut_and_a_bad_one_still_records(owner):
    client = browser(user_agent="x" * 5000)
    assert sign_in(client, owner.email).status_code == 302
    event = SignInEvent.objects.get(user=owner)
    assert len(event.user_agent) == 512
    assert event.device == "an unknown device"


def test_signing_up_is_the_first_sign_in(client):
    response = client.post(
        reverse("signup"),
        {
            "company_name": "Acme History",
            "slug": "acme-history",
            "hub": "uk",
            "email": "founder@example.test",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    event = SignInEvent.objects.get(user__email="founder@example.test")
    assert (event.outcome, event.method) == (Outcome.SUCCESS, Method.SIGNUP)


def test_the_code_step_records_wrong_codes_then_the_app_code(owner):
    device, _ = enrol(owner)
    client = browser()
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        sign_in(client, owner.email)
        assert events(owner) == [], "the password alone is no sign-in"
        client.post(reverse("login_code"), {"code": other_code(code_for(device))})
        client.post(reverse("login_code"), {"code": code_for(device)})
        assert is_signed_in(client)
    assert events(owner) == [(Outcome.WRONG_CODE, ""), (Outcome.SUCCESS, Method.PASSWORD_CODE)]


def test_a_backup_code_sign_in_says_so(owner):
    _, backup_codes = enrol(owner)
    client = browser()
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        sign_in(client, owner.email)
        client.post(reverse("login_code"), {"code": backup_codes[0]})
        assert is_signed_in(client)
    assert events(owner) == [(Outcome.SUCCESS, Method.BACKUP_CODE)]


def test_a_slowed_down_attempt_is_recorded(owner, settings):
    settings.HUBPORT_SIGN_IN_FAILURES_PER_ACCOUNT_ADDRESS = 2
    client = browser(address="198.51.100.66")
    with time_machine.travel(T0, tick=False):
        sign_in(client, owner.email, "wrong 1")
        sign_in(client, owner.email, "wrong 2")
        assert sign_in(client, owner.email, "wrong 3").status_code == 429
    assert [outcome for outcome, _ in events(owner)] == [
        Outcome.WRONG_PASSWORD,
        Outcome.WRONG_PASSWORD,
        Outcome.SLOWED_DOWN,
    ]


def test_force_login_is_no_sign_in_from_anywhere(client, owner):
    client.force_login(owner)
    assert not SignInEvent.objects.filter(user=owner).exists()


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("203.0.113.77", "203.0.113.0/24"),
        ("2001:db8:1234:5678::1", "2001:db8:1234::/48"),
        ("::ffff:198.51.100.9", "198.51.100.0/24"),
        ("", ""),
        ("not an address", ""),
    ],
)
def test_address_network(address, network):
    assert address_network(address) == network


# SECTION: the page


def test_the_page_needs_sign_in(client):
    response = client.get(reverse("account_security"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_page_shows_the_persons_own_events_only_in_their_zone(owner, make_tenant):
    stranger = make_tenant(password=PASSWORD).user
    owner.time_zone = "Asia/Tokyo"
    owner.save(update_fields=["time_zone"])
    client = browser()
    sign_in(client, owner.email)
    sign_in(browser(address="198.51.100.250"), stranger.email, "wrong")
    sign_in(browser(address="198.51.100.251"), stranger.email)
    html = client.get(reverse("account_security")).content.decode()
    assert HOME in html
    assert "Firefox 133 on Linux" in html
    assert "Signed in" in html
    assert "JST" in html
    assert "198.51.100.25" not in html, "another person's sign-ins are never shown"
    assert "Wrong password" not in html


def test_the_page_is_newest_first_and_paginated(owner):
    client = browser()
    client.force_login(owner)
    base = timezone.now() - timedelta(days=1)
    for n in range(30):
        event = sign_in_event_record(user=owner, request=None, outcome=Outcome.WRONG_PASSWORD, moment=base)
        event.address = f"198.51.100.{n + 1}"
        event.created_at = base + timedelta(minutes=n)
        event.save()
    first = client.get(reverse("account_security"))
    rows = list(first.context["history"])
    assert len(rows) == 25
    assert rows[0].address == "198.51.100.30" and rows[-1].address == "198.51.100.6"
    second = client.get(reverse("account_security"), {"page": 2})
    assert [row.address for row in second.context["history"]] == [f"198.51.100.{n}" for n in range(5, 0, -1)]
    for junk in ("abc", "-1", "99999999999999999999", "\x00"):
        assert client.get(reverse("account_security"), {"page": junk}).status_code == 200


def test_the_profile_and_the_account_menu_link_to_the_page(owner):
    client = browser()
    client.force_login(owner)
    html = client.get(reverse("profile")).content.decode()
    assert html.count(f'href="{reverse("account_security")}"') == 2


# SECTION: 90 days, then gone


def test_events_past_90_days_expire_in_batches(owner):
    now = timezone.now()
    for days in (91, 95, 120, 89, 1):
        event = sign_in_event_record(user=owner, request=None, outcome=Outcome.SUCCESS)
        event.created_at = now - timedelta(days=days)
        event.save()
    assert sign_in_events_expire(now=now, batch_rows=2) == 3
    left = sorted((now - event.created_at).days for event in SignInEvent.objects.filter(user=owner))
    assert left == [1, 89]


def test_the_expiry_runs_hourly_on_beat(owner):
    entry = settings.CELERY_BEAT_SCHEDULE["sign-in-history-expire"]
    assert entry["task"] == sign_in_history_expire_task.name
    assert entry["schedule"] <= 3600
    event = sign_in_event_record(user=owner, request=None, outcome=Outcome.SUCCESS)
    event.created_at = timezone.now() - timedelta(days=100)
    event.save()
    assert sign_in_history_expire_task.apply().get()["sign_in_events"] == 1
    assert not SignInEvent.objects.exists()


# SECTION: the admin


def test_staff_see_the_list_read_only(client, owner):
    from portal.tests.admin.test_accounts import login_verified

    sign_in(browser(), owner.email)
    login_verified(client)
    listing = client.get(reverse("admin:portal_signinevent_changelist"))
    assert listing.status_code == 200
    assert owner.email in listing.content.decode()
    assert client.get(reverse("admin:portal_signinevent_add")).status_code == 403
    staff_sign_in = SignInEvent.objects.exclude(user=owner).get()
    assert (staff_sign_in.outcome, staff_sign_in.method) == (Outcome.SUCCESS, Method.PASSWORD_CODE)


@given(st.ip_addresses())
def test_every_address_lies_in_its_network(address):
    import ipaddress

    plain = getattr(address, "ipv4_mapped", None) or address
    network = ipaddress.ip_network(address_network(str(address)))
    assert network.prefixlen == (24 if plain.version == 4 else 48)
    assert plain in network


@given(st.text(max_size=100))
def test_address_network_never_fails(text):
    assert isinstance(address_network(text), str)


def test_a_sign_in_by_emailed_link_says_so(owner, settings, eager_tasks, django_capture_on_commit_callbacks):
    import re

    from django.core import mail

    settings.HUBPORT_SIGN_IN_ACCOUNT_LINK_THRESHOLD = 2
    for n in range(2):
        sign_in(browser(address=f"198.51.100.{n + 1}"), owner.email, "wrong")
    with django_capture_on_commit_callbacks(execute=True):
        response = sign_in(browser(), owner.email)
    assert b"We emailed you a link" in response.content
    match = re.search(r"https?://\S+(/login/link/\S+/)", mail.outbox[-1].body)
    assert match is not None
    client = browser()
    client.post(match.group(1))
    assert is_signed_in(client)
    assert events(owner)[-1] == (Outcome.SUCCESS, Method.EMAIL_LINK)
