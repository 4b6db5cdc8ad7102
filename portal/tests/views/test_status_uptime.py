"""The status page shows each hub's health, month and year availability, 90 days
of bars as SVG (one rect a day with its figures and incidents in a title), the
incidents with their public updates, and the definition."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest
import time_machine
from django.test import Client
from django.utils.html import escape

from conftest import all_databases
from hubs.models import Incident, IncidentUpdate
from hubs.services.uptime import uptime_minute_record
from hubs.uptime import AVAILABILITY_DEFINITION

pytestmark = all_databases

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def page(make_tenant) -> str:
    make_tenant()  # the hubs are seeded
    for minute in range(60):
        uptime_minute_record(
            hub_code="uk", at=NOW - timedelta(hours=2) + timedelta(minutes=minute), critical_failing=minute < 3
        )
    storage = Incident.objects.create(
        hub_id="uk",
        component="storage.primary",
        title="London: storage.primary failing",
        opened_at=NOW - timedelta(hours=2),
    )
    IncidentUpdate.objects.create(
        incident=storage, at=NOW - timedelta(hours=1), state="identified", body="A disk shelf failed.", public=True
    )
    IncidentUpdate.objects.create(
        incident=storage,
        at=NOW - timedelta(hours=1),
        state="identified",
        body="Internal: shelf 7, rack B",
        public=False,
    )
    Incident.objects.create(
        hub_id="de",
        component="database",
        title="Frankfurt: database failing",
        state="resolved",
        opened_at=NOW - timedelta(days=3),
        resolved_at=NOW - timedelta(days=3) + timedelta(minutes=20),
    )
    Incident.objects.create(
        hub_id="de",
        component="broker",
        title="Frankfurt: an old one",
        state="resolved",
        opened_at=NOW - timedelta(days=30),
        resolved_at=NOW - timedelta(days=29),
    )
    with time_machine.travel(NOW, tick=False):
        response = Client().get("/status/")
    assert response.status_code == 200
    return response.content.decode()


def hub_section(html: str, code: str) -> str:
    return html.split(f'id="hub-{code}"')[1].split("</section>")[0]


def test_every_hub_has_90_bars_with_a_title_each(page: str) -> None:
    svgs = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    assert len(svgs) == 7
    for svg in svgs:
        root = ElementTree.fromstring(svg.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1))
        rects = root.findall(f"{SVG}rect")
        assert len(rects) == 90
        assert all(rect.find(f"{SVG}title") is not None for rect in rects)
        assert root.get("viewBox") == "0 0 360 30"
    uk = hub_section(page, "uk")
    # Today in London, counted from uk's first round at 10:00: 57 minutes up,
    # 3 down and 60 unknown of the 120 so far: 47.50 %, coverage 50.00 %.
    assert (
        "Mon 30 Nov 2026: 47.50 % up, 3 min down, 0 min maintenance, coverage 50.00 %; "
        "incidents: London: storage.primary failing" in uk
    )
    assert "uptime-bar--poor" in uk and "uptime-bar--nodata" in uk
    assert "Sun 29 Nov 2026: not measured (before monitoring began)" in uk
    de = hub_section(page, "de")
    assert "Fri 27 Nov 2026: not measured (before monitoring began); incidents: Frankfurt: database failing" in de


def test_health_figures_incidents_and_definition(page: str) -> None:
    assert 'data-hub-status="partial_outage"' in hub_section(page, "uk")
    assert 'data-hub-status="operational"' in hub_section(page, "de")
    # November so far in London, from uk's first round: 57 up of 120 minutes.
    assert '<dd data-uptime="month">47.50 %</dd>' in hub_section(page, "uk")
    assert '<dd data-uptime="month">n/a</dd>' in hub_section(page, "de")  # never probed
    incidents = page.split('id="incidents"')[1].split("</section>")[0]
    assert "London: storage.primary failing" in incidents and "A disk shelf failed." in incidents
    assert "shelf 7" not in page, "a private update stays private"
    assert "Frankfurt: database failing" in incidents.split("Resolved in the last 14 days")[1]
    assert "an old one" not in incidents and "an old one" in hub_section(page, "de"), "in the bars, not the list"
    assert escape(AVAILABILITY_DEFINITION) in page
    assert "css/status.css" in page and "@media" not in page
