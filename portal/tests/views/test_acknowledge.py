"""The signed acknowledge link: GET shows and changes nothing, a CSRF-protected
POST acknowledges as the staff user the link names (no session needed), stops
the escalation and tells the others; an altered or expired link, a link of
someone no longer staff, an incident already acknowledged or resolved each get
a clear page, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client

from conftest import all_databases
from hubs.alerts import acknowledge_token_make
from hubs.models import AlertDelivery, Incident, IncidentPaging, StaffAuditEntry
from hubs.services.alerts import alerts_advance
from hubs.services.incidents import incident_acknowledge
from hubs.tests.alerting import T0, open_incident, recover

pytestmark = all_databases


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def opened(duty, clock, eager_tasks, django_capture_on_commit_callbacks) -> Incident:
    with django_capture_on_commit_callbacks(execute=True):
        return open_incident()


def link(incident: Incident, user) -> str:  # type: ignore[no-untyped-def]
    return f"/ops/incidents/{acknowledge_token_make(incident_id=incident.pk, user_id=user.pk)}/acknowledge/"


def test_the_link_in_the_alert_email_opens_the_page_and_get_changes_nothing(opened, duty):
    [message] = mail.outbox
    url = next(line for line in message.body.splitlines() if "/ops/incidents/" in line)
    path = url.split("://", 1)[1].split("/", 1)[1]
    response = Client().get("/" + path)
    assert response.status_code == 200
    page = response.content.decode()
    assert f"Incident {opened.pk}" in page and "storage.primary" in page
    assert "Acknowledge as <strong>first@ops.test</strong>" in page
    assert response["Referrer-Policy"] == "no-referrer"
    opened.refresh_from_db()
    assert opened.acknowledged_at is None


def test_posting_the_form_acknowledges_stops_escalation_and_tells_the_webhooks(
    opened, duty, clock, eager_tasks, django_capture_on_commit_callbacks, webhook_receiver
):
    client = Client(enforce_csrf_checks=True)
    page = client.get(link(opened, duty.first))
    token = page.context["csrf_token"]
    clock.move_to(T0 + timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            link(opened, duty.first), {"note": "Looking at the switch", "csrfmiddlewaretoken": token}
        )
    assert response.status_code == 302
    opened.refresh_from_db()
    assert opened.acknowledged_by == duty.first
    assert opened.acknowledged_at == T0 + timedelta(minutes=5)
    assert opened.updates.filter(body="Looking at the switch", author=duty.first).exists()
    assert StaffAuditEntry.objects.filter(action="incident.acknowledge", actor=duty.first).exists()
    assert webhook_receiver.events == ["incident.acknowledged"]  # opened before the receiver existed
    assert webhook_receiver.received[0].signature_valid()
    assert AlertDelivery.objects.filter(incident=opened, event="incident.acknowledged", channel="webhook").exists()

    done = client.get(response["Location"])
    assert "Acknowledged by you (first@ops.test)" in done.content.decode()
    assert IncidentPaging.objects.get(incident=opened).next_at is None
    assert alerts_advance(now=T0 + timedelta(minutes=15)).escalated == []
    assert [m.to for m in mail.outbox] == [["first@ops.test"]]  # the only one paged acknowledged


def test_a_post_without_the_csrf_token_is_refused(opened, duty):
    response = Client(enforce_csrf_checks=True).post(link(opened, duty.first), {"note": ""})
    assert response.status_code == 403
    opened.refresh_from_db()
    assert opened.acknowledged_at is None


@pytest.mark.parametrize("change", ["tamper", "cut", "other-salt"])
def test_an_altered_link_is_refused(opened, duty, change):
    url = link(opened, duty.first)
    token = url.split("/")[3]
    if change == "tamper":
        token = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    elif change == "cut":
        token = token[:10]
    else:
        from django.core import signing

        token = signing.dumps({"i": opened.pk, "u": duty.first.pk}, salt="another.purpose")
    for method in ("get", "post"):
        response = getattr(Client(), method)(f"/ops/incidents/{token}/acknowledge/")
        assert response.status_code == 403
        assert "This acknowledge link cannot be used" in response.content.decode()
    opened.refresh_from_db()
    assert opened.acknowledged_at is None


def test_an_expired_link_is_refused(opened, duty, clock):
    url = link(opened, duty.first)
    clock.move_to(T0 + timedelta(hours=24, seconds=1))
    response = Client().post(url, {"note": ""})
    assert response.status_code == 403
    assert "has expired" in response.content.decode()
    opened.refresh_from_db()
    assert opened.acknowledged_at is None


def test_a_link_of_someone_no_longer_staff_is_refused(opened, duty):
    duty.first.is_staff = False
    duty.first.save(update_fields=["is_staff"])
    assert Client().post(link(opened, duty.first)).status_code == 403
    opened.refresh_from_db()
    assert opened.acknowledged_at is None


def test_an_incident_acknowledged_already_says_so(opened, duty):
    incident_acknowledge(incident=opened, acting_user=duty.second)
    page = Client().get(link(opened, duty.first))
    assert page.status_code == 200
    assert "acknowledged already by second@ops.test" in page.content.decode()
    assert '<form method="post"' not in page.content.decode()
    response = Client().post(link(opened, duty.first), {"note": "me too"})
    assert response.status_code == 409
    assert "was acknowledged already" in response.content.decode()


def test_a_resolved_incident_says_so(opened, duty, clock):
    recover(at=T0 + timedelta(minutes=1))
    page = Client().get(link(opened, duty.first))
    assert page.status_code == 200
    assert "resolved already" in page.content.decode()
    assert Client().post(link(opened, duty.first)).status_code == 409
