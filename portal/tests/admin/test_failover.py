"""The admin action that fails a hub over to its alternate facility and back."""

from __future__ import annotations

import pytest

from conftest import all_databases
from hubs.models import Facility, Hub, StaffAuditEntry
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
