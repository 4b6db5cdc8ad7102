"""The duty engineer's admin: rotas with participants and overrides, policies
with steps, alert deliveries (read-only, retried through the service), and the
incident's timeline of updates, alerts, acknowledgement and escalations."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from conftest import all_databases
from hubs.models import AlertDelivery, EscalationPolicy, OnCallRota, RotaOverride, StaffAuditEntry
from hubs.services.alerts import alerts_advance
from hubs.services.incidents import incident_acknowledge
from hubs.tests.alerting import T0, open_incident
from hubs.tests.windows import person
from portal.tests.admin.test_accounts import login_verified

pytestmark = all_databases


@pytest.fixture
def staff_client(client):
    client.staff_user = login_verified(client)
    return client


def test_a_rota_is_made_with_participants_and_an_override_and_shows_who_is_on_call(staff_client):
    first, cover = person("first@ops.test"), person("cover@ops.test")
    now = timezone.now()
    response = staff_client.post(
        "/admin/hubs/oncallrota/add/",
        {
            "name": "Night shift",
            "is_default": "on",
            "starts_at_0": (now - timedelta(days=1)).strftime("%Y-%m-%d"),
            "starts_at_1": "00:00:00",
            "handoff_hours": "168",
            "participants-TOTAL_FORMS": "1",
            "participants-INITIAL_FORMS": "0",
            "participants-0-position": "0",
            "participants-0-user": str(first.pk),
            "overrides-TOTAL_FORMS": "1",
            "overrides-INITIAL_FORMS": "0",
            "overrides-0-user": str(cover.pk),
            "overrides-0-starts_at_0": (now - timedelta(hours=1)).strftime("%Y-%m-%d"),
            "overrides-0-starts_at_1": (now - timedelta(hours=1)).strftime("%H:%M:%S"),
            "overrides-0-ends_at_0": (now + timedelta(hours=2)).strftime("%Y-%m-%d"),
            "overrides-0-ends_at_1": (now + timedelta(hours=2)).strftime("%H:%M:%S"),
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    rota = OnCallRota.objects.get(name="Night shift")
    assert list(rota.participants.values_list("user__email", flat=True)) == ["first@ops.test"]
    assert RotaOverride.objects.filter(rota=rota, user=cover).exists()
    assert StaffAuditEntry.objects.filter(action="oncallrota.add").exists()
    listing = staff_client.get("/admin/hubs/oncallrota/").content.decode()
    assert "cover@ops.test" in listing  # the override wins now


def test_a_policy_is_made_with_steps(staff_client, duty):
    response = staff_client.post(
        "/admin/hubs/escalationpolicy/add/",
        {
            "name": "Storage team",
            "repeat_limit": "3",
            "steps-TOTAL_FORMS": "2",
            "steps-INITIAL_FORMS": "0",
            "steps-0-position": "0",
            "steps-0-rota": str(duty.rota.pk),
            "steps-1-position": "1",
            "steps-1-user": str(duty.second.pk),
            "steps-1-wait_minutes": "30",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    policy = EscalationPolicy.objects.get(name="Storage team")
    assert list(policy.steps.values_list("rota_id", "user_id", "wait_minutes")) == [
        (duty.rota.pk, None, None),
        (None, duty.second.pk, 30),
    ]


def test_failed_deliveries_are_listed_filtered_and_retried_through_the_service(
    staff_client, duty, settings, django_capture_on_commit_callbacks
):
    settings.HUBPORT_ALERT_WEBHOOK_URLS = ["http://127.0.0.1:9/hook"]
    with time_machine.travel(T0, tick=False):
        incident = open_incident()
    AlertDelivery.objects.update(state="failed", attempts=6, last_error="URLError: refused")
    listing = staff_client.get("/admin/hubs/alertdelivery/?state__exact=failed&channel__exact=webhook")
    assert listing.status_code == 200
    assert "http://127.0.0.1:9/hook" in listing.content.decode()
    assert "first@ops.test" not in listing.content.decode()
    ids = list(AlertDelivery.objects.filter(incident=incident).values_list("pk", flat=True))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = staff_client.post(
            "/admin/hubs/alertdelivery/",
            {"action": "retry_failed", "_selected_action": [str(pk) for pk in ids]},
        )
    assert response.status_code == 302
    assert set(AlertDelivery.objects.values_list("state", "attempts")) == {("pending", 0)}
    assert StaffAuditEntry.objects.filter(action="alertdelivery.retry").count() == len(ids)
    assert callbacks  # queued after commit
    assert staff_client.get(f"/admin/hubs/alertdelivery/{ids[0]}/change/").status_code == 200


def test_the_incident_page_shows_its_timeline_of_alerts_escalations_and_acknowledgement(staff_client, duty):
    with time_machine.travel(T0, tick=False):
        incident = open_incident()
    alerts_advance(now=T0 + timedelta(minutes=15))
    with time_machine.travel(T0 + timedelta(minutes=17), tick=False):
        incident_acknowledge(incident=incident, acting_user=duty.second, note="Mine")
    page = staff_client.get(f"/admin/hubs/incident/{incident.pk}/change/").content.decode()
    assert "incident.opened by email to first@ops.test: pending" in page
    assert "incident.escalated by email to second@ops.test" in page
    assert "Escalated (unacknowledged): step 2, pass 1: second@ops.test." in page
    assert "Acknowledged by second@ops.test" in page
    assert "incident.acknowledged by email to first@ops.test" in page
    assert "Ops policy: step 2 of 2, pass 1 of 2; stopped (acknowledged)" in page
