"""The maintenance window admin: the earliest allowed start shown, schedules and
changes saved through the service, emergencies, filters."""

from __future__ import annotations

import pytest

from conftest import all_databases
from hubs.models import MaintenanceWindow, NoticeDelivery, StaffAuditEntry
from hubs.tests.windows import NOW, frozen, schedule, utc  # noqa: F401 - frozen is a fixture
from portal.tests.admin.test_accounts import changeform_data, login_verified

pytestmark = all_databases


# SECTION: the admin


@pytest.fixture
def staff_client(client, frozen):  # noqa: F811 - the imported fixture
    client.staff_user = login_verified(client)
    return client


def admin_form(**values: str | list[str]) -> dict:
    data = {
        "hubs": ["uk"],
        "title": "Storage upgrade",
        "description": "New disks",
        "impact": "unavailable",
        "starts_at_0": "2026-12-12",
        "starts_at_1": "09:00:00",
        "ends_at_0": "2026-12-12",
        "ends_at_1": "13:00:00",
        "emergency_reason": "",
        "deliveries-TOTAL_FORMS": "0",
        "deliveries-INITIAL_FORMS": "0",
    }
    data.update(values)
    return data


def test_admin_add_form_shows_the_earliest_allowed_start(staff_client):
    page = staff_client.get("/admin/hubs/maintenancewindow/add/").content.decode()
    assert "Earliest allowed start per hub" in page
    assert "ae: Fri 4 Dec 2026 20:00 UTC (ae Sat 5 Dec 2026 00:00 +04)" in page

    refused = staff_client.post(
        "/admin/hubs/maintenancewindow/add/",
        admin_form(hubs=["nz", "us"], starts_at_0="2026-12-02", ends_at_0="2026-12-02"),
    )
    assert refused.status_code == 200
    page = refused.content.decode()
    assert "Earliest allowed start for the chosen hubs (us, nz): Sat 5 Dec 2026 05:00 UTC" in page
    assert "to give 5 days&#x27; notice" in page
    assert not MaintenanceWindow.objects.exists()


def test_admin_schedules_through_the_service_once_audited(staff_client):
    response = staff_client.post("/admin/hubs/maintenancewindow/add/", admin_form(hubs=["uk", "de"]))
    assert response.status_code == 302, response.context["adminform"].form.errors
    window = MaintenanceWindow.objects.get()
    assert {hub.code for hub in window.hubs.all()} == {"uk", "de"}
    assert window.created_by == staff_client.staff_user
    assert window.announced_at == NOW
    assert StaffAuditEntry.objects.filter(target_type="hubs.MaintenanceWindow").count() == 1


def test_admin_emergency_without_reason_is_refused_and_with_reason_is_flagged(staff_client):
    form = admin_form(starts_at_0="2026-11-30", ends_at_0="2026-11-30", is_emergency="on")
    refused = staff_client.post("/admin/hubs/maintenancewindow/add/", form)
    assert refused.status_code == 200 and "only with a written reason" in refused.content.decode()
    form["emergency_reason"] = "Security patch for the storage gateway"
    assert staff_client.post("/admin/hubs/maintenancewindow/add/", form).status_code == 302
    listing = staff_client.get("/admin/hubs/maintenancewindow/").content.decode()
    assert "EMERGENCY" in listing


def test_admin_change_moves_later_shows_deliveries_and_cancels(staff_client, make_tenant):
    make_tenant(hub="uk", email="owner@acme.test")
    window = schedule("uk")
    NoticeDelivery.objects.filter(window=window).update(state="sent")
    url = f"/admin/hubs/maintenancewindow/{window.pk}/change/"
    page = staff_client.get(url)
    assert "who was told what, and when" in page.content.decode()
    assert "owner@acme.test" in page.content.decode()
    data = changeform_data(page)
    del data["starts_at"], data["ends_at"]  # split into date and time by the admin widget
    data.update({"starts_at_0": "2026-12-12", "starts_at_1": "10:00", "ends_at_0": "2026-12-12", "ends_at_1": "14:00"})
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    window.refresh_from_db()
    assert (window.starts_at, window.revision) == (utc(2026, 12, 12, 10), 2)
    assert StaffAuditEntry.objects.filter(action="maintenancewindow.change").count() == 1
    assert not StaffAuditEntry.objects.filter(action="maintenancewindow.change", actor=None).exists()

    response = staff_client.post(
        "/admin/hubs/maintenancewindow/",
        {"action": "cancel_windows", "_selected_action": [window.pk], "reason": "Supplier delay"},
    )
    assert response.status_code == 302
    window.refresh_from_db()
    assert (window.state, window.cancel_reason) == ("cancelled", "Supplier delay")
    assert staff_client.get(url).status_code == 200, "a cancelled window can still be viewed"
    assert staff_client.post(url, data).status_code == 403, "but no longer changed"


def test_admin_list_filters_by_hub_and_state(staff_client):
    schedule("uk")
    schedule("ae", utc(2026, 12, 12, 6), utc(2026, 12, 12, 8))
    response = staff_client.get("/admin/hubs/maintenancewindow/?hubs__code__exact=ae&state__exact=scheduled")
    assert [window.hubs.get().code for window in response.context["cl"].result_list] == ["ae"]
