"""The public status page (no sign-in), the per-hub calendar feed, the Atom
feed, and GET /api/v1/maintenance/ for the caller's hub."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest
import time_machine
from django.test import Client

from conftest import all_databases
from hubs.models import Hub, MaintenanceWindow
from hubs.services.advance import maintenance_advance
from hubs.services.maintenance import maintenance_cancel, maintenance_schedule
from hubs.tests.windows import ics_values, parse_ics
from portal.tokens import api_token_create

pytestmark = all_databases

NOW = datetime(2026, 11, 29, 16, 0, tzinfo=UTC)
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def frozen() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def schedule(codes: tuple[str, ...], start: datetime, end: datetime, **kw) -> MaintenanceWindow:
    return maintenance_schedule(
        hubs=list(Hub.objects.filter(code__in=codes)),
        title=kw.pop("title", "Storage upgrade"),
        starts_at=start,
        ends_at=end,
        **kw,
    )


@pytest.fixture
def windows(frozen) -> dict[str, MaintenanceWindow]:
    """uk: one past (emergency), one running (read-only), one upcoming, one cancelled; ae: one upcoming."""
    frozen.move_to(NOW - timedelta(days=4))
    past = schedule(
        ("uk",),
        NOW - timedelta(days=3),
        NOW - timedelta(days=3) + timedelta(hours=1),
        title="Gateway patch",
        emergency_reason="Security fix for the storage gateway",
    )
    frozen.move_to(NOW)
    maintenance_advance()
    running = schedule(
        ("uk",),
        NOW - timedelta(minutes=30),
        NOW + timedelta(hours=1),
        title="Index rebuild",
        impact="read_only",
        emergency_reason="Index corruption found by scrub",
    )
    upcoming = schedule(("uk", "ae"), datetime(2026, 12, 12, 6, tzinfo=UTC), datetime(2026, 12, 12, 8, tzinfo=UTC))
    cancelled = schedule(
        ("uk",),
        datetime(2026, 12, 19, 9, tzinfo=UTC),
        datetime(2026, 12, 19, 10, tzinfo=UTC),
        title="Switch replacement",
    )
    maintenance_cancel(window=cancelled, reason="Not needed")
    return {"past": past, "running": running, "upcoming": upcoming, "cancelled": cancelled}


# SECTION: the page


def test_status_page_needs_no_sign_in_and_shows_every_hub(frozen):
    response = Client().get("/status/")
    assert response.status_code == 200
    html = response.content.decode()
    for hub in Hub.objects.all():
        assert f'id="hub-{hub.code}"' in html
    assert html.count('data-hub-state="operational"') == 7
    assert "No maintenance planned." in html
    assert 'href="/status/feed.atom"' in html


def test_status_page_shows_state_running_upcoming_and_recent_with_emergencies_flagged(windows):
    html = Client().get("/status/").content.decode()
    uk_section = html[html.index('id="hub-uk"') : html.index('id="hub-de"')]
    assert 'data-hub-state="read_only"' in uk_section
    assert "Read-only: maintenance in progress" in uk_section
    in_progress = uk_section[uk_section.index("In progress") : uk_section.index("Upcoming")]
    assert "Index rebuild" in in_progress and "EMERGENCY" in in_progress
    upcoming = uk_section[uk_section.index("Upcoming") : uk_section.index("Recent")]
    assert "Storage upgrade" in upcoming and "Sat 12 Dec 2026 06:00 to Sat 12 Dec 2026 08:00 GMT" in upcoming
    recent = uk_section[uk_section.index("Recent") :]
    assert "Gateway patch" in recent and "EMERGENCY" in recent
    assert "Switch replacement" in recent and "cancelled" in recent

    ae_section = html[html.index('id="hub-ae"') : html.index('id="hub-hk"')]
    assert 'data-hub-state="operational"' in ae_section
    assert "Sat 12 Dec 2026 10:00 to Sat 12 Dec 2026 12:00 +04" in ae_section
    assert "Index rebuild" not in ae_section


# SECTION: feeds


def test_calendar_feed_per_hub(windows):
    response = Client().get("/status/uk.ics")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    ics = response.content.decode()
    parse_ics(ics)
    assert ics_values(ics, "X-WR-CALNAME") == ["Hubport maintenance: London\\, United Kingdom"]
    uids = ics_values(ics, "UID")
    assert len(uids) == 4 and len(set(uids)) == 4
    assert "STATUS:CANCELLED" in ics and "Emergency maintenance: Index rebuild" in ics
    ae = Client().get("/status/ae.ics").content.decode()
    assert ics_values(ae, "SUMMARY") == ["Maintenance: Storage upgrade"]
    assert ics_values(ae, "DTSTART") == ["20261212T060000Z"]
    assert Client().get("/status/xx.ics").status_code == 404


def test_atom_feed_lists_windows_with_emergencies_flagged(windows):
    response = Client().get("/status/feed.atom")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = ElementTree.fromstring(response.content)
    entries = feed.findall(f"{ATOM}entry")
    titles = [entry.find(f"{ATOM}title").text for entry in entries]
    assert "[EMERGENCY] Index rebuild (hubs uk; in progress)" in titles
    assert "Storage upgrade (hubs uk, ae; scheduled)" in titles
    assert "Switch replacement (hubs uk; cancelled)" in titles
    ids = {entry.find(f"{ATOM}id").text for entry in entries}
    assert f"urn:hubport:maintenance:{windows['upcoming'].pk}" in ids


# SECTION: the API


def test_api_lists_the_callers_hub_windows_in_utc_and_local_time(make_tenant, windows):
    signup = make_tenant(hub="ae")
    _, raw = api_token_create(user=signup.user, tenant=signup.tenant, name="tests")
    response = Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/maintenance/")
    assert response.status_code == 200
    body = response.json()
    assert body["hub"] == {"code": "ae", "city": "Dubai", "time_zone": "Asia/Dubai"}
    assert body["in_progress"] == [] and body["recent"] == []
    [item] = body["upcoming"]
    assert item["id"] == windows["upcoming"].pk
    assert (item["starts_at"], item["ends_at"]) == ("2026-12-12T06:00:00Z", "2026-12-12T08:00:00Z")
    assert (item["starts_at_local"], item["ends_at_local"]) == (
        "2026-12-12T10:00:00+04:00",
        "2026-12-12T12:00:00+04:00",
    )
    assert item["hubs"] == ["uk", "ae"] and item["state"] == "scheduled" and item["is_emergency"] is False


def test_api_lists_running_and_recent_windows_with_emergency_flags(make_tenant, windows):
    signup = make_tenant(hub="uk")
    _, raw = api_token_create(user=signup.user, tenant=signup.tenant, name="tests")
    body = Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/maintenance/").json()
    assert [(w["title"], w["is_emergency"], w["impact"]) for w in body["in_progress"]] == [
        ("Index rebuild", True, "read_only")
    ]
    assert [w["title"] for w in body["upcoming"]] == ["Storage upgrade"]
    assert {(w["title"], w["state"]) for w in body["recent"]} == {
        ("Gateway patch", "completed"),
        ("Switch replacement", "cancelled"),
    }


def test_api_needs_authentication(client):
    response = client.get("/api/v1/maintenance/")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
