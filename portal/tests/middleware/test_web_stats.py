"""Real requests through the middleware count for the hub of the request's
tenant (else the control plane); the web probes judge the counts."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from hubs.monitoring.probes import Probe, probes_for
from hubs.monitoring.web_stats import web_request_record, web_stats_read

pytestmark = [
    pytest.mark.django_db(databases="__all__", transaction=True),
    pytest.mark.urls("portal.tests.middleware.web_stats_urls"),
]


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    cache.clear()


def probe(hub_code: str | None, name: str) -> Probe:
    return next(found for found in probes_for(hub_code) if found.name == name and found.hub_code == hub_code)


def test_requests_count_for_the_tenants_hub_and_anonymous_ones_for_control(make_tenant) -> None:
    owner = make_tenant(hub="de")
    signed_in = Client()
    signed_in.force_login(owner.user)

    for _ in range(3):
        assert signed_in.get(reverse("files")).status_code == 200
    assert Client().get(reverse("login")).status_code == 200

    de = web_stats_read(hub_code="de", minutes=5)
    control = web_stats_read(hub_code=None, minutes=5)
    assert (de.requests, de.server_errors) == (3, 0)
    assert (control.requests, control.server_errors) == (1, 0)
    assert sum(de.latency_counts) == 3
    assert web_stats_read(hub_code="uk", minutes=5).requests == 0


def test_an_api_request_with_a_token_counts_for_the_tokens_hub(make_tenant) -> None:
    # The token's tenant is found by DRF, after the middleware has passed it
    # down; the count is made on the way back, when the request knows it.
    from portal.tokens import api_token_create

    owner = make_tenant(hub="hk")
    _, raw = api_token_create(user=owner.user, tenant=owner.tenant, name="sync")
    assert Client().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    assert web_stats_read(hub_code="hk", minutes=5).requests == 1
    assert web_stats_read(hub_code=None, minutes=5).requests == 0


def test_server_errors_over_the_rate_fail_the_probe_from_twenty_requests(settings) -> None:
    client = Client(raise_request_exception=False)
    for _ in range(18):
        client.get(reverse("login"))
    for _ in range(2):
        assert client.get("/broken/").status_code == 500

    judged = probe(None, "web.error_rate").run()
    assert not judged.ok
    assert judged.detail == "2 of 20 requests failed in 5 min (fails above 5%)"

    settings.HUBPORT_PROBE_WEB_MIN_REQUESTS = 21
    too_few = probe(None, "web.error_rate").run()
    assert too_few.ok and too_few.detail.endswith("too few requests to judge")


def test_the_p95_latency_fails_above_its_threshold() -> None:
    for _ in range(18):
        web_request_record(hub_code="uk", status=200, latency_ms=40)
    for _ in range(2):
        web_request_record(hub_code="uk", status=200, latency_ms=1500)
    fast = probe("uk", "web.latency_p95").run()
    for _ in range(2):
        web_request_record(hub_code="uk", status=200, latency_ms=4000)
    slow = probe("uk", "web.latency_p95").run()

    assert fast.ok and fast.detail == "p95 at most 2000 ms over 20 requests in 5 min (fails above 2000 ms)"
    assert not slow.ok and slow.detail == "p95 at most 5000 ms over 22 requests in 5 min (fails above 2000 ms)"
    assert probe("uk", "web.latency_p95").component == "web"
