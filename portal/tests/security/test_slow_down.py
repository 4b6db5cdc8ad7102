"""Password, code and token guessing slowed down per address and account, and
never turned against the account's owner (ASVS 6.1.1): through the real
views, the real cache and real TOTP codes, with time frozen."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from conftest import all_databases
from portal.tests.views.test_two_factor import PASSWORD, code_for, enrol, is_signed_in
from portal.tokens import api_token_create

pytestmark = all_databases

T0 = datetime(2026, 11, 30, 3, 0, 0, tzinfo=UTC)
ATTACKER = "198.51.100.66"
OWNER_HOME = "203.0.113.10"


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def owner(make_tenant):
    return make_tenant(password=PASSWORD)


def sign_in(address: str, email: str, password: str):
    client = Client(REMOTE_ADDR=address)
    return client, client.post(reverse("login"), {"email": email, "password": password})


def test_five_wrong_passwords_slow_that_address_down_for_that_account_only(owner) -> None:
    email = owner.user.email
    with time_machine.travel(T0, tick=False):
        for _ in range(5):
            _, response = sign_in(ATTACKER, email, "wrong password")
            assert response.status_code == 200
        _, slowed = sign_in(ATTACKER, email, PASSWORD)
        assert slowed.status_code == 429
        assert slowed["Retry-After"] == "30"
        assert b"Wait 30 seconds" in slowed.content
        # The owner, from home, with the right password: in at once.
        client, response = sign_in(OWNER_HOME, email, PASSWORD)
        assert response.status_code == 302 and is_signed_in(client)
    with time_machine.travel(T0 + timedelta(seconds=31), tick=False):
        # The tier waited out, the attacker's next try is looked at again (and
        # a sixth failure climbs to the next tier).
        _, response = sign_in(ATTACKER, email, "wrong again")
        assert response.status_code == 200
        _, slowed = sign_in(ATTACKER, email, "wrong again")
        assert slowed.status_code == 429 and slowed["Retry-After"] == "60"


def test_spraying_one_password_across_accounts_slows_the_address(make_tenant) -> None:
    with time_machine.travel(T0, tick=False):
        for number in range(20):
            _, response = sign_in(ATTACKER, f"person{number}@example.test", "Summer2026!")
            assert response.status_code == 200
        victim = make_tenant(password=PASSWORD)
        _, slowed = sign_in(ATTACKER, victim.user.email, PASSWORD)
        assert slowed.status_code == 429
        client, response = sign_in(OWNER_HOME, victim.user.email, PASSWORD)
        assert response.status_code == 302 and is_signed_in(client)


def test_a_success_clears_the_accounts_count_from_that_address(owner) -> None:
    with time_machine.travel(T0, tick=False):
        for _ in range(4):
            sign_in(OWNER_HOME, owner.user.email, "typo")
        client, response = sign_in(OWNER_HOME, owner.user.email, PASSWORD)
        assert response.status_code == 302
        client.post(reverse("logout"))
        for _ in range(4):
            _, response = sign_in(OWNER_HOME, owner.user.email, "typo")
            assert response.status_code == 200


def test_wrong_codes_from_an_attacker_never_lock_the_owners_own_sign_in(owner) -> None:
    device, _ = enrol(owner.user)
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        attacker, response = sign_in(ATTACKER, owner.user.email, PASSWORD)
        assert response.status_code == 302  # to the code step
        for _ in range(5):
            assert attacker.post(reverse("login_code"), {"code": "000000"}).status_code == 200
        slowed = attacker.post(reverse("login_code"), {"code": code_for(device)})
        assert slowed.status_code == 429 and int(slowed["Retry-After"]) > 0
        assert not is_signed_in(attacker)
        # The owner, at the same moment, from home: the device is not locked.
        home, response = sign_in(OWNER_HOME, owner.user.email, PASSWORD)
        assert home.post(reverse("login_code"), {"code": code_for(device)}).status_code == 302
        assert is_signed_in(home)


def test_guessing_tokens_earns_429_with_retry_after_and_spares_other_addresses(owner) -> None:
    _, raw = api_token_create(user=owner.user, tenant=owner.tenant, name="sync")
    with time_machine.travel(T0, tick=False):
        guesser = Client(REMOTE_ADDR=ATTACKER)
        for _ in range(20):
            response = guesser.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer hp_{secrets.token_hex(8)}_x")
            assert response.status_code == 401
        throttled = guesser.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {raw}")
        assert throttled.status_code == 429
        assert throttled["Retry-After"] == "60"
        assert throttled.json()["type"] == "urn:hubport:problem:too_many_requests"
        assert Client(REMOTE_ADDR=OWNER_HOME).get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    with time_machine.travel(T0 + timedelta(seconds=61), tick=False):
        assert guesser.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200


def test_a_forged_forwarded_for_from_an_untrusted_peer_does_not_dodge_the_count(owner) -> None:
    with time_machine.travel(T0, tick=False):
        for number in range(5):
            client = Client(REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR=f"192.0.2.{number}")
            client.post(reverse("login"), {"email": owner.user.email, "password": "wrong"})
        client = Client(REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR="192.0.2.200")
        assert client.post(reverse("login"), {"email": owner.user.email, "password": PASSWORD}).status_code == 429
