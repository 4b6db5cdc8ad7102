"""/metrics: Prometheus text with Hubport's probe and hub gauges, open to
loopback or the bearer token only (X-Forwarded-For is not believed)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.test import Client

from hubs.models import Incident, ProbeResult
from hubs.services.probes import heartbeat_record

pytestmark = pytest.mark.django_db(databases="__all__")

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def scrape(remote_addr: str = "127.0.0.1", **headers: str):  # type: ignore[no-untyped-def]
    return Client(REMOTE_ADDR=remote_addr, **headers).get("/metrics")


def test_loopback_reads_the_probe_gauges_after_a_round(settings):
    heartbeat_record(name="scheduler")
    call_command("probes_run", "--hub", "uk", "--json", stdout=open("/dev/null", "w"))  # noqa: SIM115
    response = scrape()
    assert response.status_code == 200
    text = response.content.decode()
    result = ProbeResult.objects.filter(hub_id="uk", name="database.read").latest("at")
    line = re.search(r'^hubport_probe_ok\{[^}]*hub="uk"[^}]*name="database.read"[^}]*\} (\S+)$', text, re.M)
    assert line is not None and float(line.group(1)) == (1.0 if result.ok else 0.0)
    assert re.search(r'^hubport_probe_latency_ms\{[^}]*hub="uk"[^}]*name="database.read"', text, re.M)
    assert 'hubport_hub_up{hub="uk"} 1.0' in text
    assert "django_http_requests_total_by_method_total" in text
    # Queue lengths only where they are cheap and true: a Redis broker (the CI's second run).
    redis_broker = settings.CELERY_BROKER_URL.startswith("redis")
    assert ('hubport_celery_queue_length{queue="hub.uk"}' in text) == redis_broker


def test_a_hub_with_an_open_critical_incident_is_down():
    Incident.objects.create(hub_id="de", component="database", title="de: database failing", opened_at=T0)
    text = scrape().content.decode()
    assert 'hubport_hub_up{hub="de"} 0.0' in text
    assert 'hubport_hub_open_critical_incidents{hub="de"} 1.0' in text
    assert 'hubport_hub_up{hub="uk"} 1.0' in text


def test_other_clients_need_the_bearer_token(settings):
    settings.HUBPORT_METRICS_TOKEN = "s3cret-token-for-tests"
    assert scrape("203.0.113.9").status_code == 403
    assert scrape("203.0.113.9", HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 403
    assert scrape("203.0.113.9", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert scrape("203.0.113.9", HTTP_AUTHORIZATION="Bearer s3cret-token-for-tests").status_code == 200
    assert scrape("::1").status_code == 200


def test_without_a_token_only_loopback_reads(settings):
    settings.HUBPORT_METRICS_TOKEN = ""
    assert scrape("203.0.113.9", HTTP_AUTHORIZATION="Bearer ").status_code == 403
