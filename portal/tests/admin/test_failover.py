"""The admin action that fails a hub over to its alternate facility and back."""

from __future__ import annotations

import pytest

from conftest import all_databases
from hubs.models import Facility, FailoverEvent, Hub, StaffAuditEntry
from portal.tests.admin.test_accounts import login_verified

pytestmark = all_databases


@pytest.fixture
def staff_client(client):
    client.staff_user = login_verified(client)
    return client


def test_admin_action_fails_a_hub_over_and_back(staff_client):
    response = staff_client.post(
        "/admin/hubs/hub/",
        {"action": "fail_over_to_alternate", "_selected_action": ["au"], "reason": "Sydney 1 flood"},
        follow=True,
    )
    assert response.status_code == 200
    assert "now served by its alternate facility" in response.content.decode()
    assert Hub.objects.get(code="au").serving_facility == "alternate"
    entry = StaffAuditEntry.objects.get(action="hub.fail_over")
    assert entry.actor == staff_client.staff_user
    assert entry.reason == "Sydney 1 flood"

    staff_client.post(
        "/admin/hubs/hub/", {"action": "fail_back_to_primary", "_selected_action": ["au"], "reason": "Dry again"}
    )
    assert Hub.objects.get(code="au").serving_facility == "primary"
    assert StaffAuditEntry.objects.filter(action="hub.fail_back", reason="Dry again").count() == 1


def test_admin_action_without_a_reason_changes_nothing(staff_client):
    response = staff_client.post(
        "/admin/hubs/hub/", {"action": "fail_over_to_alternate", "_selected_action": ["nz"]}, follow=True
    )
    assert response.status_code == 200
    assert "Give a reason" in response.content.decode()
    assert Hub.objects.get(code="nz").serving_facility == "primary"
    assert not StaffAuditEntry.objects.filter(action__startswith="hub.").exists()


def test_admin_action_refuses_an_unavailable_facility_with_a_clear_message(staff_client):
    Facility.objects.filter(hub_id="ae", role="alternate").update(is_available=False)

    response = staff_client.post(
        "/admin/hubs/hub/",
        {"action": "fail_over_to_alternate", "_selected_action": ["ae"], "reason": "drill"},
        follow=True,
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "Hub ae was not failed over" in page
    assert "Dubai 2" in page and "marked unavailable" in page
    assert Hub.objects.get(code="ae").serving_facility == "primary"


def test_failover_events_are_listed_read_only_with_their_recovery_point(staff_client):
    staff_client.post(
        "/admin/hubs/hub/",
        {"action": "fail_over_to_alternate", "_selected_action": ["nz"], "reason": "Auckland 1 power"},
    )
    event = FailoverEvent.objects.get(hub_id="nz")
    assert event.actor == staff_client.staff_user

    listing = staff_client.get("/admin/hubs/failoverevent/").content.decode()
    assert "no standby promoted; 0 blob(s) not copied" in listing
    page = staff_client.get(f"/admin/hubs/failoverevent/{event.pk}/change/")
    assert page.status_code == 200
    assert 'name="reason"' not in page.content.decode()  # shown, never editable
    assert staff_client.get("/admin/hubs/failoverevent/add/").status_code == 403
    staff_client.post(f"/admin/hubs/failoverevent/{event.pk}/change/", {"reason": "rewritten"})
    assert FailoverEvent.objects.get(pk=event.pk).reason == "Auckland 1 power"

    hub_page = staff_client.get("/admin/hubs/hub/nz/change/").content.decode()
    assert "failovers (newest first)" in hub_page.lower()
    assert "Auckland 1 power" in hub_page
    assert "one database, no standby" in hub_page


def test_the_automatic_failover_setting_is_saved_from_the_hub_page(staff_client):
    form = staff_client.get("/admin/hubs/hub/de/change/").context["adminform"].form
    data = {key: value for key, value in form.initial.items() if key in form.fields}
    data.update(
        {
            "auto_failover_after_minutes": "10",
            "facilities-TOTAL_FORMS": "2",
            "facilities-INITIAL_FORMS": "2",
        }
    )
    for index, facility in enumerate(Facility.objects.filter(hub_id="de").order_by("role")):
        data.update(
            {
                f"facilities-{index}-id": str(facility.pk),
                f"facilities-{index}-hub": "de",
                f"facilities-{index}-name": facility.name,
                f"facilities-{index}-is_available": "on",
            }
        )
    response = staff_client.post("/admin/hubs/hub/de/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Hub.objects.get(code="de").auto_failover_after_minutes == 10
