"""GET /api/v1/status/: public, the exact shape the issue names, percentages as
strings with two decimals, only public updates, a bounded number of queries."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client

from conftest import all_databases
from hubs.models import Incident, IncidentUpdate
from hubs.services.maintenance import maintenance_schedule
from hubs.services.uptime import uptime_minute_record
from hubs.tests.windows import END, START, hubs

pytestmark = all_databases

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
TWO_DECIMALS = re.compile(r"^\d{1,3}\.\d\d$")


@pytest.fixture
def status(make_tenant) -> dict:
    make_tenant()
    with time_machine.travel(NOW - timedelta(days=1), tick=False):
        maintenance_schedule(hubs=hubs("uk", "ae"), title="Storage upgrade", starts_at=START, ends_at=END)
    for minute in range(10):
        uptime_minute_record(hub_code="nz", at=NOW - timedelta(minutes=10 - minute), critical_failing=minute == 0)
    incident = Incident.objects.create(
        hub_id="nz", component="database", title="Auckland: database failing", opened_at=NOW
    )
    IncidentUpdate.objects.create(
        incident=incident, at=NOW, state="investigating", body="Looking into it.", public=True
    )
    IncidentUpdate.objects.create(incident=incident, at=NOW, state="investigating", body="private note", public=False)
    with time_machine.travel(NOW, tick=False):
        response = Client().get("/api/v1/status/")
    assert response.status_code == 200, response.content
    return response.json()


def test_the_shape_is_exactly_the_one_promised(status: dict) -> None:
    assert set(status) == {"hubs", "incidents", "maintenance"}
    assert [hub["code"] for hub in status["hubs"]] == ["uk", "de", "us", "ae", "hk", "au", "nz"]
    for hub in status["hubs"]:
        assert set(hub) == {"code", "status", "uptime", "coverage", "components"}
        assert set(hub["uptime"]) == set(hub["coverage"]) == {"day", "month", "year"}
        for value in [*hub["uptime"].values(), *hub["coverage"].values()]:
            # null: nothing measured yet (only nz has had probe rounds here).
            if hub["code"] == "nz":
                assert isinstance(value, str) and TWO_DECIMALS.match(value), value
            else:
                assert value is None
        assert all(set(c) == {"name", "status"} for c in hub["components"])
        assert {"database", "storage.primary", "storage.alternate", "broker"} <= {c["name"] for c in hub["components"]}
    [incident] = status["incidents"]
    assert set(incident) == {
        "id",
        "hub",
        "component",
        "severity",
        "state",
        "title",
        "opened_at",
        "resolved_at",
        "updates",
    }
    assert incident["updates"] == [{"at": "2026-11-30T12:00:00Z", "state": "investigating", "body": "Looking into it."}]
    [window] = status["maintenance"]
    assert window["title"] == "Storage upgrade" and window["hubs"] == ["uk", "ae"] and window["state"] == "scheduled"


def test_figures_status_and_components(status: dict) -> None:
    nz = next(hub for hub in status["hubs"] if hub["code"] == "nz")
    assert nz["status"] == "major_outage"
    assert {"name": "database", "status": "major_outage"} in nz["components"]
    # Auckland's first round was at 11:50 UTC: 10 minutes measured so far, 9 up, 1 down
    # (the hour of its local day before monitoring began is not counted).
    assert nz["uptime"]["day"] == "90.00" and nz["coverage"]["day"] == "100.00"
    assert nz["uptime"]["year"] == "90.00"
    uk = next(hub for hub in status["hubs"] if hub["code"] == "uk")
    assert uk["status"] == "operational" and uk["uptime"]["year"] is None  # never probed: n/a


def test_anonymous_callers_need_no_token_and_a_bad_token_is_not_refused(make_tenant) -> None:
    make_tenant()
    assert Client().get("/api/v1/status/").status_code == 200
    assert Client().get("/api/v1/status/", HTTP_AUTHORIZATION="Bearer nonsense").status_code == 200


def test_anonymous_callers_are_throttled(make_tenant, settings) -> None:
    make_tenant()
    cache.clear()
    from rest_framework.throttling import AnonRateThrottle

    previous = AnonRateThrottle.THROTTLE_RATES
    AnonRateThrottle.THROTTLE_RATES = {**previous, "anon": "3/min"}
    try:
        codes = [Client().get("/api/v1/status/").status_code for _ in range(4)]
    finally:
        AnonRateThrottle.THROTTLE_RATES = previous
        cache.clear()
    assert codes == [200, 200, 200, 429]


def test_the_answer_takes_a_bounded_number_of_queries(status, django_assert_max_num_queries) -> None:
    with django_assert_max_num_queries(14):
        assert Client().get("/api/v1/status/").status_code == 200


def test_the_schema_describes_the_status_endpoint(make_tenant) -> None:
    schema = Client().get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/status/"]["get"]
    assert operation.get("security") in (None, [])
    hub = schema["components"]["schemas"]["StatusHub"]
    assert set(hub["properties"]) == {"code", "status", "uptime", "coverage", "components"}
    day = schema["components"]["schemas"]["StatusPeriods"]["properties"]["day"]
    assert day["type"] == "string" and day["format"] == "decimal" and day.get("nullable") is True
