"""Failing a hub over to its alternate facility and back, and a facility's name
and availability: the services (their admin: portal/tests)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from conftest import all_databases
from hubs.errors import FacilityChangeError, HubFailoverError
from hubs.models import Facility, Hub, StaffAuditEntry
from hubs.services import facility_change, hub_fail_over
from hubs.signals import facility_became_available

pytestmark = all_databases


@pytest.fixture
def actor(db):
    return get_user_model().objects.create_user(
        username="duty@hubport.test", email="duty@hubport.test", password="x-long-pass"
    )


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


def test_a_failed_audit_write_rolls_the_failover_back(actor, monkeypatch):
    def refuse(**kwargs):
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr("hubs.services.hubs.audit_record", refuse)
    with pytest.raises(RuntimeError):
        hub_fail_over(hub=Hub.objects.get(code="uk"), to_role="alternate", acting_user=actor, reason="drill")
    assert Hub.objects.get(code="uk").serving_facility == "primary"


# SECTION: a facility's name and availability


@pytest.fixture
def became_available():
    received: list[dict] = []

    def receiver(sender, **kwargs):
        received.append(kwargs)

    facility_became_available.connect(receiver, dispatch_uid="test-became-available")
    yield received
    facility_became_available.disconnect(dispatch_uid="test-became-available")


def test_a_facility_made_available_is_audited_once_and_announced_after_commit(
    actor, became_available, django_capture_on_commit_callbacks
):
    facility = Facility.objects.get(hub_id="de", role="alternate")
    facility_change(facility=facility, is_available=False, acting_user=actor, reason="Fibre cut")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        facility_change(facility=facility, name="Frankfurt 2b", is_available=True, acting_user=actor)
    assert became_available == [], "not before the commit"
    for callback in callbacks:
        callback()
    assert became_available == [{"signal": facility_became_available, "hub_code": "de", "facility_id": facility.pk}]

    off, on = StaffAuditEntry.objects.order_by("at", "id")
    assert (off.action, off.reason, off.after["is_available"]) == ("facility.mark_unavailable", "Fibre cut", False)
    assert on.action == "facility.mark_available"
    assert (on.before["name"], on.after["name"], on.after["is_available"]) == ("Frankfurt 2", "Frankfurt 2b", True)
    assert facility.name == "Frankfurt 2b" and facility.is_available, "the caller's instance is kept current"


def test_a_rename_alone_is_a_change_and_setting_what_is_there_writes_nothing(actor, became_available):
    facility = Facility.objects.get(hub_id="uk", role="primary")
    facility_change(facility=facility, name=facility.name, is_available=True, acting_user=actor)
    assert not StaffAuditEntry.objects.exists()

    facility_change(facility=facility, name="  London North  ", acting_user=actor)
    entry = StaffAuditEntry.objects.get()
    assert (entry.action, entry.after["name"]) == ("facility.change", "London North")
    assert became_available == []
    with pytest.raises(FacilityChangeError, match="name"):
        facility_change(facility=facility, name="   ", acting_user=actor)
