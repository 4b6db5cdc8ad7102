"""The alert tasks: a real SMTP server (aiosmtpd) receives the opened alert and
its escalation from the minute's task; a temporary SMTP refusal is retried;
and one flow runs through a real worker on the control queue (a probe round's
incident opened, the email arrives)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings as django_settings

from conftest import all_databases
from hubs.models import AlertDelivery
from hubs.tasks import alerts_advance_task
from hubs.tests.alerting import T0, open_incident
from hubs.tests.test_tasks import body_of

pytestmark = all_databases


def test_the_opened_alert_and_its_escalation_reach_a_real_smtp_receiver(
    duty, eager_tasks, django_capture_on_commit_callbacks, smtp_receiver, webhook_receiver
):
    with time_machine.travel(T0, tick=False) as clock:
        with django_capture_on_commit_callbacks(execute=True):
            incident = open_incident()
        [message] = smtp_receiver.messages
        assert message["To"] == "first@ops.test"
        subject = message["Subject"].replace("\r", "").replace("\n", "")
        assert subject == "[Hubport] Incident opened: hub de (Frankfurt), storage.primary, Investigating"
        assert message.get_content_type() == "multipart/alternative"
        text = body_of(message)
        assert "Since: Mon 30 Nov 2026 12:00 UTC (Mon 30 Nov 2026 13:00 +01, Europe/Berlin)" in text
        assert "Affected probes: primary_rt" in text
        assert f"{django_settings.HUBPORT_BASE_URL}/ops/incidents/" in text

        clock.move_to(T0 + timedelta(minutes=15))
        with django_capture_on_commit_callbacks(execute=True):
            assert alerts_advance_task.apply().get() == {"escalated": 1, "stopped": 0, "requeued": 0}
        assert [m["To"] for m in smtp_receiver.messages] == ["first@ops.test", "second@ops.test"]
        assert webhook_receiver.events == ["incident.opened", "incident.escalated"]
    assert set(AlertDelivery.objects.filter(incident=incident).values_list("state", flat=True)) == {"sent"}


def test_a_temporary_smtp_refusal_is_retried_and_the_alert_arrives_once(
    duty, eager_tasks, django_capture_on_commit_callbacks, smtp_receiver
):
    smtp_receiver.fail_first = 1
    with time_machine.travel(T0, tick=False), django_capture_on_commit_callbacks(execute=True):
        incident = open_incident()
    delivery = AlertDelivery.objects.get(incident=incident, channel="email")
    assert (delivery.state, delivery.attempts) == ("sent", 2)
    assert [m["To"] for m in smtp_receiver.messages] == ["first@ops.test"]


@pytest.mark.worker
def test_a_probe_round_opens_an_incident_and_a_real_worker_emails_the_on_call(duty, celery_worker, smtp_receiver):
    # Two failed rounds, committed as a probe round commits them; the alert is queued
    # after the commit and sent by the worker on the control queue.
    incident = open_incident(at=T0)
    assert smtp_receiver.arrived.acquire(timeout=60), "no email reached the SMTP server"
    [message] = smtp_receiver.messages
    assert message["To"] == "first@ops.test"
    assert f"/admin/hubs/incident/{incident.pk}/change/" in body_of(message)
    delivery = AlertDelivery.objects.get(incident=incident, channel="email")
    assert delivery.state in ("sending", "sent")  # the worker marks it sent right after the server answers
