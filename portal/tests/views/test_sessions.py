"""Active sessions on Settings → Sign-ins and sessions, through the real pages
and Django's database session store: listed with this one marked, ended one
at a time or "everywhere else", gone at sign-out and expiry, seen at most
once a minute, and never another person's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from conftest import all_databases
from portal.models import UserSession
from portal.services.sessions import session_key_hash, user_sessions_expire
from portal.tasks import sign_in_history_expire_task
from portal.tests.security.test_account_notices import CHROME_ON_WINDOWS
from portal.tests.views.test_two_factor import PASSWORD, is_signed_in

pytestmark = all_databases

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
T0 = datetime(2026, 12, 1, 9, 0, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def owner(make_tenant):
    return make_tenant(password=PASSWORD).user


@pytest.fixture
def stranger(make_tenant):
    return make_tenant(password=PASSWORD).user


def signed_in(user, address: str = "203.0.113.10", user_agent: str = FIREFOX) -> Client:
    client = Client(REMOTE_ADDR=address, HTTP_USER_AGENT=user_agent)
    response = client.post(reverse("login"), {"email": user.email, "password": PASSWORD})
    assert response.status_code == 302 and is_signed_in(client)
    return client


def key_hash_of(client: Client) -> str:
    return session_key_hash(client.session.session_key)


def can_open_a_page(client: Client) -> bool:
    return client.get(reverse("account_security")).status_code == 200


def test_the_list_shows_each_session_and_marks_this_one(owner):
    laptop = signed_in(owner)
    signed_in(owner, address="198.51.100.7", user_agent=CHROME_ON_WINDOWS)
    response = laptop.get(reverse("account_security"))
    sessions = response.context["sessions"]
    assert len(sessions) == 2
    assert response.context["current_session"] == key_hash_of(laptop)
    html = response.content.decode()
    assert "Chrome 131 on Windows" in html and "198.51.100.7" in html
    assert html.count("This device") == 1
    assert 'id="sign-out-everywhere-else"' in html
    assert laptop.session.session_key not in html, "only the key's hash is ever shown"


def test_sign_out_everywhere_else_ends_every_other_session(owner):
    laptop = signed_in(owner)
    phone = signed_in(owner, address="198.51.100.7", user_agent=CHROME_ON_WINDOWS)
    tablet = signed_in(owner, address="198.51.100.8")
    response = laptop.post(reverse("sessions_end_others"), follow=True)
    assert "Signed out everywhere else (2 other sessions)" in response.content.decode()
    assert can_open_a_page(laptop)
    for other in (phone, tablet):
        assert other.get(reverse("account_security"))["Location"].startswith(reverse("login"))
    assert list(UserSession.objects.filter(user=owner).values_list("key_hash", flat=True)) == [key_hash_of(laptop)]
    assert Session.objects.count() == 1


def test_one_session_can_be_ended(owner):
    laptop = signed_in(owner)
    phone = signed_in(owner, address="198.51.100.7", user_agent=CHROME_ON_WINDOWS)
    tablet = signed_in(owner, address="198.51.100.8")
    response = laptop.post(reverse("session_end", args=[key_hash_of(phone)]))
    assert response.status_code == 302
    assert not can_open_a_page(phone)
    assert can_open_a_page(tablet) and can_open_a_page(laptop)


def test_this_session_is_not_ended_from_the_list(owner):
    laptop = signed_in(owner)
    response = laptop.post(reverse("session_end", args=[key_hash_of(laptop)]), follow=True)
    assert "use Sign out" in response.content.decode()
    assert can_open_a_page(laptop)


def test_another_persons_sessions_are_never_shown_or_ended(owner, stranger):
    mine = signed_in(owner)
    theirs = signed_in(stranger, address="192.0.2.99", user_agent=CHROME_ON_WINDOWS)
    html = mine.get(reverse("account_security")).content.decode()
    assert "192.0.2.99" not in html and "Chrome 131" not in html
    assert key_hash_of(theirs) not in html
    assert mine.post(reverse("session_end", args=[key_hash_of(theirs)])).status_code == 404
    mine.post(reverse("sessions_end_others"))
    assert can_open_a_page(theirs), "ending my other sessions leaves everyone else's alone"


@pytest.mark.parametrize("key_hash", ["0" * 64, "ZZ", "a" * 65, "%00", "../../admin"])
def test_an_unknown_or_malformed_session_is_a_404(owner, key_hash):
    client = signed_in(owner)
    response = client.post(f"/account/security/sessions/{key_hash}/end/")
    assert response.status_code == 404
    assert can_open_a_page(client)


def test_ending_needs_post(owner):
    client = signed_in(owner)
    assert client.get(reverse("sessions_end_others")).status_code == 405


def test_signing_out_drops_the_row(owner):
    laptop = signed_in(owner)
    phone = signed_in(owner, address="198.51.100.7")
    phone.post(reverse("logout"))
    assert len(laptop.get(reverse("account_security")).context["sessions"]) == 1
    assert UserSession.objects.filter(user=owner).count() == 1


def test_an_expired_session_disappears(owner):
    laptop = signed_in(owner)
    phone = signed_in(owner, address="198.51.100.7")
    Session.objects.filter(session_key=phone.session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    assert [s.key_hash for s in laptop.get(reverse("account_security")).context["sessions"]] == [key_hash_of(laptop)]
    assert not UserSession.objects.filter(key_hash=key_hash_of(phone)).exists()


def test_the_hourly_task_drops_rows_of_sessions_that_are_gone_in_batches(owner, stranger):
    alive = [signed_in(owner), signed_in(stranger)]
    gone = [signed_in(owner, address=f"198.51.100.{n}") for n in range(1, 4)]
    Session.objects.filter(session_key__in=[client.session.session_key for client in gone[:2]]).delete()
    Session.objects.filter(session_key=gone[2].session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    assert user_sessions_expire(batch_rows=2) == 3
    assert set(UserSession.objects.values_list("key_hash", flat=True)) == {key_hash_of(c) for c in alive}
    assert sign_in_history_expire_task.apply().get()["user_sessions"] == 0


def test_last_seen_is_written_at_most_once_a_minute(owner):
    with time_machine.travel(T0, tick=False):
        client = signed_in(owner)
    row = UserSession.objects.get(user=owner)
    assert row.created_at == row.last_seen_at == T0
    with time_machine.travel(T0 + timedelta(seconds=30), tick=False), CaptureQueriesContext(connection) as queries:
        client.get(reverse("home"), REMOTE_ADDR="198.51.100.44")
    assert not [q for q in queries.captured_queries if "portal_usersession" in q["sql"]], "no query within the minute"
    row.refresh_from_db()
    assert row.last_seen_at == T0 and row.address == "203.0.113.10"
    with time_machine.travel(T0 + timedelta(seconds=61), tick=False):
        client.get(reverse("account_security"), REMOTE_ADDR="198.51.100.44")
    row.refresh_from_db()
    assert row.last_seen_at == T0 + timedelta(seconds=61)
    assert row.address == "198.51.100.44"
    assert row.created_at == T0


def test_a_session_without_a_row_gets_one_on_its_next_request(owner):
    client = Client(REMOTE_ADDR="203.0.113.10", HTTP_USER_AGENT=FIREFOX)
    client.force_login(owner)
    assert not UserSession.objects.exists()
    sessions = client.get(reverse("account_security")).context["sessions"]
    assert [s.device for s in sessions] == ["Firefox 133 on Linux"]


def test_the_page_has_no_inline_script_style_or_handlers(owner):
    import re

    laptop = signed_in(owner)
    signed_in(owner, address="198.51.100.7")
    html = laptop.get(reverse("account_security")).content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert "<style" not in html
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html)


def test_changing_the_password_drops_the_other_sessions_from_the_list(owner):
    laptop = signed_in(owner)
    phone = signed_in(owner, address="198.51.100.7", user_agent=CHROME_ON_WINDOWS)
    new_password = "an entirely new passphrase 42"
    response = laptop.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": new_password, "new_password2": new_password},
    )
    assert response.status_code == 302
    sessions = laptop.get(reverse("account_security")).context["sessions"]
    assert [s.key_hash for s in sessions] == [key_hash_of(laptop)], "the kept session, under its new key"
    assert not can_open_a_page(phone)
    assert user_sessions_expire() == 0
