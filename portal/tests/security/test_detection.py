"""Attacks detected and reported, end to end: real failures through the real
sign-in page and token authentication, real probe rounds, the incident of
component ``security`` opened with its alert deliveries, and nothing of it on
the public status page, in /api/v1/status/ or in the customers' banner."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from hubs.models import AlertDelivery, Incident
from hubs.monitoring.request_rate import request_rate_check
from hubs.monitoring.web_stats import web_request_record
from hubs.services.probes import probe_round_run

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)

T0 = datetime(2026, 11, 30, 12, 0, 20, tzinfo=UTC)
ATTACKER = "198.51.100.66"


def rounds(hub_code: str | None, clock, start: datetime, count: int = 2) -> None:  # type: ignore[no-untyped-def]
    for minute in range(count):
        clock.move_to(start + timedelta(minutes=minute))
        probe_round_run(hub_code=hub_code)


def security_incident(hub_code: str | None) -> Incident:
    return Incident.objects.get(hub_id=hub_code, component="security")


def assert_not_public(incident: Incident, *, customer: Client | None = None) -> None:
    status = Client().get("/api/v1/status/")
    assert status.status_code == 200
    body = status.json()
    assert incident.pk not in [item["id"] for item in body["incidents"]]
    assert all(item["component"] != "security" for item in body["incidents"])
    assert all(c["name"] != "security" for hub in body["hubs"] for c in hub["components"])
    page = Client().get(reverse("status"))
    assert page.status_code == 200
    assert incident.title not in page.content.decode()
    if customer is not None:
        home = customer.get(reverse("home"))
        assert home.status_code == 200
        assert incident.title not in home.content.decode()


def assert_paged(incident: Incident, duty, webhook_url: str) -> None:  # type: ignore[no-untyped-def]
    alerts = AlertDelivery.objects.filter(incident=incident, event="incident.opened")
    assert {(alert.channel, alert.recipient) for alert in alerts} == {
        ("email", duty.first.email),
        ("webhook", webhook_url),
    }


def test_spraying_and_token_guessing_open_a_staff_only_security_incident(duty, webhook_receiver) -> None:
    with time_machine.travel(T0, tick=True) as clock:
        attacker = Client(REMOTE_ADDR=ATTACKER)
        for number in range(10):
            response = attacker.post(
                reverse("login"), {"email": f"person{number}@example.test", "password": "Winter2026!"}
            )
            assert response.status_code == 200
        # 100 wrong tokens from five addresses (each address slowed after 20).
        for address in range(5):
            guesser = Client(REMOTE_ADDR=f"203.0.113.{address + 1}")
            for _ in range(20):
                answer = guesser.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer hp_{secrets.token_hex(8)}_x")
                assert answer.status_code == 401
        rounds(None, clock, T0 + timedelta(seconds=10))
        incident = security_incident(None)
        assert incident.state == "investigating" and incident.automatic
        assert {"security.password_spraying", "security.token_guessing"} <= set(incident.affected)
        assert "security.credential_stuffing" not in incident.affected
        assert_paged(incident, duty, webhook_receiver.url)
        opened = incident.updates.get()
        assert not opened.public
        assert ATTACKER not in opened.body and "person0" not in opened.body
        assert_not_public(incident)
        listing = StringIO()
        call_command("incidents", "--open", "--json", stdout=listing)
        assert incident.pk in [item["id"] for item in json.loads(listing.getvalue())]

        # The attack stops: once its minutes are behind the detectors' 5, two rounds resolve it.
        rounds(None, clock, T0 + timedelta(minutes=7))
        incident.refresh_from_db()
        assert incident.state == "resolved"


def test_credential_stuffing_opens_the_hubs_security_incident_not_shown_to_its_customers(
    make_tenant, duty, webhook_receiver
) -> None:
    victim = make_tenant(hub="nz")
    customer = Client(REMOTE_ADDR="192.0.2.99")
    customer.force_login(victim.user)
    with time_machine.travel(T0, tick=True) as clock:
        for number in range(10):
            response = Client(REMOTE_ADDR=f"10.9.{number}.1").post(
                reverse("login"), {"email": victim.user.email, "password": f"leaked-{number}"}
            )
            assert response.status_code == 200
        rounds("nz", clock, T0 + timedelta(seconds=10))
        incident = security_incident("nz")
        assert incident.affected == ["security.credential_stuffing"]
        assert_paged(incident, duty, webhook_receiver.url)
        assert_not_public(incident, customer=customer)
        # Spraying needs one address on many accounts: this was not it.
        assert not Incident.objects.filter(hub_id=None, component="security").exists()


def test_a_flood_far_above_the_hubs_baseline_opens_a_security_incident(make_tenant, duty, settings) -> None:
    settings.HUBPORT_DETECT_DOS_FACTOR = 5.0
    settings.HUBPORT_DETECT_DOS_MIN_RATE = 10.0
    owner = make_tenant(hub="uk")
    start = T0 - timedelta(minutes=90)
    check = request_rate_check("uk")
    with time_machine.travel(start, tick=False) as clock:
        # An hour and a half at 8 requests a minute, learnt as the probe runs every 10 minutes.
        for minute in range(90):
            moment = start + timedelta(minutes=minute)
            clock.move_to(moment)
            for _ in range(8):
                web_request_record(hub_code="uk", status=200, latency_ms=20.0, moment=moment)
            if minute % 10 == 9:
                assert check().ok
    with time_machine.travel(T0, tick=True) as clock:
        browser = Client(REMOTE_ADDR=ATTACKER)
        browser.force_login(owner.user)
        for _ in range(60):
            assert browser.get(reverse("home")).status_code == 200
        rounds("uk", clock, T0 + timedelta(seconds=5))
        incident = security_incident("uk")
        assert "security.request_rate" in incident.affected
        assert AlertDelivery.objects.filter(incident=incident, channel="email").exists()
        assert_not_public(incident, customer=browser)
