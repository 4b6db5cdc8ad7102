"""The incidents admin: list, timeline, updates and acknowledging go through the services."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core import mail

from conftest import all_databases
from hubs.models import Incident, IncidentUpdate, StaffAuditEntry
from hubs.tests.alerting import duty as duty  # a fixture
from portal.tests.admin.test_accounts import login_verified

pytestmark = all_databases

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def staff_client(client):
    client.staff_user = login_verified(client)
    return client


@pytest.fixture
def incident() -> Incident:
    incident = Incident.objects.create(
        hub_id="uk", component="storage.primary", title="London: storage.primary failing", automatic=True,
        opened_at=T0, affected=["primary_rt"],
    )  # fmt: skip
    IncidentUpdate.objects.create(incident=incident, at=T0, state="investigating", body="Opened: primary_rt: timeout")
    return incident


def test_the_list_filters_by_hub_and_state(staff_client, incident):
    response = staff_client.get("/admin/hubs/incident/?hub__code__exact=uk&state__exact=investigating")
    assert response.status_code == 200
    assert "London: storage.primary failing" in response.content.decode()
    response = staff_client.get("/admin/hubs/incident/?state__exact=resolved")
    assert "London: storage.primary failing" not in response.content.decode()


def test_the_change_page_shows_the_timeline(staff_client, incident):
    response = staff_client.get(f"/admin/hubs/incident/{incident.pk}/change/")
    assert response.status_code == 200
    assert "Opened: primary_rt: timeout" in response.content.decode()


def test_an_update_is_saved_through_the_service(staff_client, incident):
    response = staff_client.post(
        f"/admin/hubs/incident/{incident.pk}/change/",
        {
            "update_state": "identified",
            "update_body": "A failed switch in London 1",
            "update_public": "on",
            "updates-TOTAL_FORMS": "1",
            "updates-INITIAL_FORMS": "1",
            "updates-MIN_NUM_FORMS": "0",
            "updates-MAX_NUM_FORMS": "1000",
            "updates-0-id": str(incident.updates.get().pk),
            "updates-0-incident": str(incident.pk),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    incident.refresh_from_db()
    assert incident.state == "identified"
    update = incident.updates.get(state="identified")
    assert update.public and update.author == staff_client.staff_user
    assert StaffAuditEntry.objects.get(action="incident.update").actor == staff_client.staff_user
    assert StaffAuditEntry.objects.filter(target_type="hubs.Incident").count() == 1


def test_staff_open_an_incident_from_the_add_page_and_it_pages(
    staff_client, duty, eager_tasks, django_capture_on_commit_callbacks
):
    assert staff_client.get("/admin/hubs/incident/add/").status_code == 200
    form = {
        "open_hub": "hk",
        "open_component": "web",
        "open_severity": "critical",
        "open_title": "Hong Kong: uploads fail for some customers",
        "open_body": "Customers report failed uploads; investigating.",
        "open_public": "on",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post("/admin/hubs/incident/add/", form)
    [incident] = Incident.objects.all()
    assert response.status_code == 302 and response["Location"].endswith(f"/admin/hubs/incident/{incident.pk}/change/")
    assert (incident.hub_id, incident.component, incident.automatic) == ("hk", "web", False)
    assert incident.updates.get().public and incident.updates.get().author == staff_client.staff_user
    assert StaffAuditEntry.objects.filter(action="incident.open", target_type="hubs.Incident").count() == 1
    assert StaffAuditEntry.objects.filter(target_type="hubs.Incident").count() == 1
    assert [m.to for m in mail.outbox if "Hong Kong" in m.subject] == [["first@ops.test"]]
    # A second one for the same hub and component is refused on the form, not with an error page.
    again = staff_client.post("/admin/hubs/incident/add/", form)
    assert again.status_code == 200 and "update that one" in again.content.decode()
    assert Incident.objects.count() == 1


def test_the_add_page_refuses_a_malformed_component(staff_client):
    response = staff_client.post(
        "/admin/hubs/incident/add/",
        {"open_component": "Web Tier!", "open_severity": "critical", "open_title": "x", "open_body": "y"},
    )
    assert response.status_code == 200 and "lower-case letters" in response.content.decode()
    assert not Incident.objects.exists()


def test_the_acknowledge_action_goes_through_the_service(staff_client, incident):
    staff_client.post("/admin/hubs/incident/", {"action": "acknowledge", "_selected_action": [str(incident.pk)]})
    incident.refresh_from_db()
    assert incident.acknowledged_by == staff_client.staff_user
    assert StaffAuditEntry.objects.filter(action="incident.acknowledge").count() == 1
    response = staff_client.post(
        "/admin/hubs/incident/", {"action": "acknowledge", "_selected_action": [str(incident.pk)]}, follow=True
    )
    assert "acknowledged already" in response.content.decode()
    assert StaffAuditEntry.objects.filter(action="incident.acknowledge").count() == 1


# SECTION: the probes' overview


def test_the_probe_overview_draws_a_sparkline_of_recent_results(staff_client):
    from datetime import timedelta

    from hubs.models import ProbeResult
    from hubs.services.incidents import Observation, incidents_observe

    for minute in range(5):
        at = T0 + timedelta(minutes=minute)
        ok = minute != 3
        ProbeResult.objects.create(
            hub_id="uk", name="database.read", component="database", severity="critical", ok=ok,
            latency_ms=2.0 + minute, detail="" if ok else "OperationalError", at=at,
        )  # fmt: skip
        incidents_observe(observations=[Observation("uk", "database.read", "database", "critical", ok, "", at)], now=at)
    incidents_observe(observations=[Observation("de", "database.read", "database", "critical", True, "", T0)])
    response = staff_client.get("/admin/hubs/probestreak/?hub__code__exact=uk")
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('<svg class="sparkline"') == 1, "the hub filter leaves one probe"
    assert page.count('class="sparkline__ok"') == 4 and page.count('class="sparkline__fail"') == 1
    assert "<polyline" in page and "6 ms" in page
