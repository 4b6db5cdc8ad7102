"""Failing a hub over to its alternate facility and back: the service and the admin action."""

from __future__ import annotations

import pytest

from conftest import all_databases
from hubs.models import Facility, Hub
from hubs.services import HubFailoverError, hub_fail_over
from portal.models import StaffAuditEntry, User
from portal.tests.test_admin import login_verified

pytestmark = all_databases


@pytest.fixture
def staff_client(client):
    client.staff_user = login_verified(client)
    return client


@pytest.fixture
def actor(db):
    return User.objects.create_user(username="duty@hubport.test", email="duty@hubport.test", password="x-long-pass")


def test_fail_over_and_back_is_audited_with_reason(actor):
    hub = Hub.objects.get(code="uk")
    assert hub.serving_facility == "primary"

    hub_fail_over(hub=hub, to_role="alternate", acting_user=actor, reason="London 1 power failure")

    assert Hub.objects.get(code="uk").serving_facility == "alternate"
    assert hub.serving_facility == "alternate", "the caller's instance is kept current"
    entry = StaffAuditEntry.objects.get(action="hub.fail_over")
    assert entry.actor == actor
    assert entry.target_type == "hubs.Hub" and entry.target_id == "uk"
    assert entry.before["serving_facility"] == "primary"
    assert entry.after["serving_facility"] == "alternate"
    assert entry.reason == "London 1 power failure"

    hub_fail_over(hub=hub, to_role="primary", acting_user=actor, reason="Power restored")

    assert Hub.objects.get(code="uk").serving_facility == "primary"
    back = StaffAuditEntry.objects.get(action="hub.fail_back")
    assert (back.before["serving_facility"], back.after["serving_facility"]) == ("alternate", "primary")


def test_failing_over_to_an_unavailable_facility_is_refused(actor):
    Facility.objects.filter(hub_id="de", role="alternate").update(is_available=False)
    hub = Hub.objects.get(code="de")

    with pytest.raises(HubFailoverError, match=r"Frankfurt 2.*unavailable"):
        hub_fail_over(hub=hub, to_role="alternate", acting_user=actor, reason="drill")

    assert Hub.objects.get(code="de").serving_facility == "primary"
    assert not StaffAuditEntry.objects.filter(action__startswith="hub.").exists()


def test_a_failover_needs_a_reason_and_a_known_role(actor):
    hub = Hub.objects.get(code="us")
    with pytest.raises(HubFailoverError, match="reason"):
        hub_fail_over(hub=hub, to_role="alternate", acting_user=actor, reason="  ")
    with pytest.raises(HubFailoverError, match="role"):
        hub_fail_over(hub=hub, to_role="tertiary", acting_user=actor, reason="drill")
    assert Hub.objects.get(code="us").serving_facility == "primary"


def test_failing_over_to_the_serving_facility_changes_nothing(actor):
    hub = Hub.objects.get(code="hk")
    hub_fail_over(hub=hub, to_role="primary", acting_user=actor, reason="no-op")
    assert Hub.objects.get(code="hk").serving_facility == "primary"
    assert not StaffAuditEntry.objects.exists()


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


def test_a_failed_audit_write_rolls_the_failover_back(actor, monkeypatch):
    def refuse(**kwargs):
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr("hubs.services.audit_record", refuse)
    with pytest.raises(RuntimeError):
        hub_fail_over(hub=Hub.objects.get(code="uk"), to_role="alternate", acting_user=actor, reason="drill")
    assert Hub.objects.get(code="uk").serving_facility == "primary"
