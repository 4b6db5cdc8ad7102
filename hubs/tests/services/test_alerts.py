"""Paging the duty engineer: an opened incident pages step 1 by email and every
webhook (signed over the exact body), escalates while unacknowledged after the
step's wait and no sooner, repeats the policy at most K times, stops when
acknowledged, and announces its resolution. Webhook receivers on loopback are
real; so is the retry of one that answers 500."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.core import mail
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from conftest import all_databases
from hubs.alerts import acknowledge_token_read
from hubs.models import AlertDelivery, EscalationStep, Incident, IncidentPaging, RotaOverride, RotaParticipant
from hubs.services.alerts import alert_deliveries_lost, alert_deliveries_retry, alerts_advance
from hubs.services.incidents import incident_acknowledge, incident_open, incident_update_add, incidents_observe
from hubs.services.oncall import on_call_user_id
from hubs.tasks import ALERT_MAX_RETRIES, alert_deliver_task, alerts_advance_task
from hubs.tests.alerting import T0, failing, open_incident, recover
from hubs.tests.windows import person

pytestmark = all_databases


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def sending(eager_tasks, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """Run ``action`` and send what it queued after commit, in this thread."""

    def run(action):  # type: ignore[no-untyped-def]
        with django_capture_on_commit_callbacks(execute=True):
            return action()

    return run


def emails_to(address: str) -> list[mail.EmailMessage]:
    return [message for message in mail.outbox if message.to == [address]]


def advance_at(clock, moment, sending):  # type: ignore[no-untyped-def]
    clock.move_to(moment)
    return sending(lambda: alerts_advance_task.apply().get())


# SECTION: opening


def test_opening_pages_the_on_call_by_email_and_every_webhook_signed_over_the_body(
    duty, clock, sending, webhook_receiver, settings
):
    incident = sending(open_incident)

    [message] = mail.outbox
    assert message.to == ["first@ops.test"]
    assert message.subject == "[Hubport] Incident opened: hub de (Frankfurt), storage.primary, Investigating"
    text = message.body
    assert "What broke: storage.primary (critical)" in text
    assert "Where: Hub de, Frankfurt, Germany" in text
    assert "Since: Mon 30 Nov 2026 12:00 UTC (Mon 30 Nov 2026 13:00 +01, Europe/Berlin)" in text
    assert "Affected probes: primary_rt" in text
    assert "Paged: first@ops.test" in text
    assert f"{settings.HUBPORT_BASE_URL}/admin/hubs/incident/{incident.pk}/change/" in text.splitlines()
    [html] = [content for content, kind in message.alternatives if kind == "text/html"]  # type: ignore[attr-defined]
    assert "storage.primary" in str(html)
    ack_link = next(line for line in text.splitlines() if "/ops/incidents/" in line)
    token = ack_link.rsplit("/ops/incidents/", 1)[1].split("/acknowledge/")[0]
    assert acknowledge_token_read(token) == (incident.pk, duty.first.pk)

    [received] = webhook_receiver.received
    assert received.signature_valid()
    assert not received.signature_valid("another-secret")
    assert received.headers["Content-Type"] == "application/json"
    payload = received.payload
    assert payload["event"] == "incident.opened"
    assert payload["incident"] == {
        "id": incident.pk,
        "hub": "de",
        "component": "storage.primary",
        "severity": "critical",
        "state": "investigating",
        "title": incident.title,
        "opened_at": "2026-11-30T12:00:00Z",
        "acknowledged_at": None,
        "resolved_at": None,
        "admin_url": payload["incident"]["admin_url"],
    }
    assert payload["incident"]["admin_url"] == f"{settings.HUBPORT_BASE_URL}/admin/hubs/incident/{incident.pk}/change/"
    assert payload["sent_at"] == "2026-11-30T12:00:00Z"
    rows = AlertDelivery.objects.filter(incident=incident)
    assert sorted(rows.values_list("channel", "recipient", "state")) == [
        ("email", "first@ops.test", "sent"),
        ("webhook", webhook_receiver.url, "sent"),
    ]


def test_a_staff_opened_incident_pages_as_an_automatic_one(duty, clock, sending, webhook_receiver):
    staff = person("lead@ops.test")
    incident = sending(
        lambda: incident_open(
            hub=None, component="web", title="Sign-ins slow", body="Looking into it", acting_user=staff
        )
    )
    assert [m.to for m in mail.outbox] == [["first@ops.test"]]
    assert webhook_receiver.events == ["incident.opened"]
    assert IncidentPaging.objects.get(incident=incident).steps[0]["rota_id"] == duty.rota.pk


def test_a_third_failed_round_joins_the_incident_and_pages_nobody_again(duty, clock, sending, webhook_receiver):
    sending(open_incident)
    # A third failed round joins the open incident: nobody is paged again.
    sending(lambda: incidents_observe(observations=[failing(at=T0 + timedelta(minutes=1))], now=T0))
    assert len(mail.outbox) == 1 and webhook_receiver.events == ["incident.opened"]


def test_a_reopened_incident_is_paged_again_and_must_be_acknowledged_again(duty, clock, sending, webhook_receiver):
    incident = sending(open_incident)
    incident_acknowledge(incident=incident, acting_user=duty.first)
    sending(lambda: recover(at=T0 + timedelta(minutes=2)))
    incident.refresh_from_db()
    assert incident.state == "resolved"
    mail.outbox.clear()
    staff = person("lead@ops.test")
    sending(
        lambda: incident_update_add(
            incident=incident, state="investigating", body="It is back", public=False, acting_user=staff
        )
    )
    incident.refresh_from_db()
    assert incident.state == "investigating" and incident.acknowledged_at is None
    assert [m.to for m in mail.outbox] == [["first@ops.test"]]
    assert webhook_receiver.events[-1] == "incident.opened"
    paging = IncidentPaging.objects.get(incident=incident)
    assert paging.stopped_reason == "" and paging.next_at is not None and (paging.step, paging.cycle) == (0, 0)
    # Unacknowledged, it escalates again after the first step's wait.
    assert advance_at(clock, paging.next_at, sending)["escalated"] == 1
    assert mail.outbox[-1].to == ["second@ops.test"]


# SECTION: webhooks fail and are retried


def test_a_webhook_answering_500_first_is_retried_and_every_attempt_recorded(duty, clock, sending, webhook_receiver):
    webhook_receiver.answers = [500]
    countdowns: list[int] = []
    real_retry = alert_deliver_task.retry

    def spy_retry(*args, **kwargs):  # type: ignore[no-untyped-def]
        countdowns.append(kwargs["countdown"])
        return real_retry(*args, **kwargs)

    with mock.patch.object(alert_deliver_task, "retry", spy_retry):
        incident = sending(open_incident)
    delivery = AlertDelivery.objects.get(incident=incident, channel="webhook")
    assert (delivery.state, delivery.attempts, delivery.last_error) == ("sent", 2, "")
    assert countdowns == [30]  # backoff: 30 s, then 1, 2, 4, 8 minutes
    [received] = webhook_receiver.received
    assert received.signature_valid()


def test_a_receiver_that_never_answers_times_out_and_the_attempt_is_recorded(duty, clock, sending, settings):
    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        settings.HUBPORT_ALERT_WEBHOOK_URLS = [f"http://127.0.0.1:{silent.getsockname()[1]}/hook"]
        settings.HUBPORT_ALERT_WEBHOOK_TIMEOUT_SECONDS = 0.2
        with mock.patch.object(alert_deliver_task, "max_retries", 0):  # one attempt, no waiting
            incident = sending(open_incident)
    delivery = AlertDelivery.objects.get(incident=incident, channel="webhook")
    assert (delivery.state, delivery.attempts) == ("failed", 1)
    assert "timed out" in delivery.last_error


def test_a_webhook_that_keeps_failing_is_marked_failed_and_staff_send_it_again(duty, clock, sending, webhook_receiver):
    webhook_receiver.answers = [500] * (ALERT_MAX_RETRIES + 1)
    incident = sending(open_incident)
    delivery = AlertDelivery.objects.get(incident=incident, channel="webhook")
    assert (delivery.state, delivery.attempts) == ("failed", ALERT_MAX_RETRIES + 1)
    assert "500" in delivery.last_error
    assert webhook_receiver.received == []

    assert sending(lambda: alert_deliveries_retry(delivery_ids=[delivery.pk], acting_user=None)) == [delivery.pk]
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("sent", 1)
    assert webhook_receiver.events == ["incident.opened"]


def test_a_lost_delivery_is_found_by_the_minute_job(duty, clock, settings):
    settings.HUBPORT_ALERT_WEBHOOK_URLS = ["http://127.0.0.1:9/never"]
    incident = open_incident()  # queued after a commit that never comes in this test: never tried
    ids = set(AlertDelivery.objects.filter(incident=incident).values_list("pk", flat=True))
    assert alert_deliveries_lost(now=T0 + timedelta(seconds=59)) == []
    assert set(alert_deliveries_lost(now=T0 + timedelta(minutes=1))) == ids
    AlertDelivery.objects.filter(pk__in=ids).update(state="sending", attempts=1, last_attempt_at=T0)
    assert alert_deliveries_lost(now=T0 + timedelta(minutes=14)) == []
    assert set(alerts_advance(now=T0 + timedelta(minutes=15)).deliveries) >= ids


# SECTION: escalation


def test_escalation_after_15_minutes_not_before_and_the_repeat_limit_holds(duty, clock, sending, webhook_receiver):
    incident = sending(open_incident)
    assert advance_at(clock, T0 + timedelta(minutes=14, seconds=59), sending)["escalated"] == 0
    assert len(mail.outbox) == 1

    assert advance_at(clock, T0 + timedelta(minutes=15), sending)["escalated"] == 1
    assert mail.outbox[-1].to == ["second@ops.test"]
    assert mail.outbox[-1].subject.startswith("[Hubport] ESCALATED, unacknowledged: hub de")
    assert "Paged: first@ops.test, second@ops.test" in mail.outbox[-1].body
    # Running the minute's job again in the same minute changes nothing.
    assert advance_at(clock, T0 + timedelta(minutes=15, seconds=30), sending)["escalated"] == 0

    # The policy runs once more (repeat_limit 1): first, then second again, then it stops.
    assert advance_at(clock, T0 + timedelta(minutes=30), sending)["escalated"] == 1
    assert advance_at(clock, T0 + timedelta(minutes=45), sending)["escalated"] == 1
    assert advance_at(clock, T0 + timedelta(minutes=60), sending) == {"escalated": 0, "stopped": 1, "requeued": 0}
    assert advance_at(clock, T0 + timedelta(hours=5), sending)["escalated"] == 0

    assert [m.to[0] for m in mail.outbox] == [
        "first@ops.test",
        "second@ops.test",
        "first@ops.test",
        "second@ops.test",
    ]
    assert webhook_receiver.events == ["incident.opened"] + ["incident.escalated"] * 3
    assert all(item.signature_valid() for item in webhook_receiver.received)
    paging = IncidentPaging.objects.get(incident=incident)
    assert (paging.escalations, paging.next_at, paging.stopped_reason) == (3, None, "repeat_limit")
    assert incident.updates.filter(body__startswith="Escalated").count() == 3


def test_a_step_waits_its_own_minutes_and_the_setting_is_the_default(duty, clock, sending, settings):
    settings.HUBPORT_ALERT_ESCALATE_AFTER_MINUTES = 5
    EscalationStep.objects.filter(policy=duty.policy, position=1).update(wait_minutes=40)
    sending(open_incident)
    assert advance_at(clock, T0 + timedelta(minutes=4), sending)["escalated"] == 0
    assert advance_at(clock, T0 + timedelta(minutes=5), sending)["escalated"] == 1
    assert advance_at(clock, T0 + timedelta(minutes=44), sending)["escalated"] == 0
    assert advance_at(clock, T0 + timedelta(minutes=45), sending)["escalated"] == 1


def test_the_policy_is_copied_when_the_incident_opens(duty, clock, sending):
    incident = sending(open_incident)
    EscalationStep.objects.filter(policy=duty.policy, position=1).delete()
    advance_at(clock, T0 + timedelta(minutes=15), sending)
    assert mail.outbox[-1].to == ["second@ops.test"]
    assert IncidentPaging.objects.get(incident=incident).policy_name == "Ops policy"


def test_acknowledging_stops_the_escalation_and_tells_the_others(duty, clock, sending, webhook_receiver):
    incident = sending(open_incident)
    advance_at(clock, T0 + timedelta(minutes=15), sending)  # second@ paged too
    clock.move_to(T0 + timedelta(minutes=20))
    sending(lambda: incident_acknowledge(incident=incident, acting_user=duty.second, note="On it"))

    assert mail.outbox[-1].to == ["first@ops.test"]
    assert mail.outbox[-1].subject.startswith("[Hubport] Incident acknowledged: hub de")
    assert "Acknowledged: by second@ops.test at Mon 30 Nov 2026 12:20 UTC" in mail.outbox[-1].body
    assert "/ops/incidents/" not in mail.outbox[-1].body  # nothing left to acknowledge
    assert webhook_receiver.events[-1] == "incident.acknowledged"
    assert webhook_receiver.received[-1].payload["incident"]["acknowledged_at"] == "2026-11-30T12:20:00Z"
    sent = len(mail.outbox)
    assert advance_at(clock, T0 + timedelta(minutes=30), sending)["escalated"] == 0
    assert len(mail.outbox) == sent
    assert IncidentPaging.objects.get(incident=incident).stopped_reason == "acknowledged"


def test_resolution_is_announced_to_whoever_was_paged_and_the_webhooks(duty, clock, sending, webhook_receiver):
    incident = sending(open_incident)
    advance_at(clock, T0 + timedelta(minutes=15), sending)
    clock.move_to(T0 + timedelta(minutes=16))
    sending(lambda: recover(at=T0 + timedelta(minutes=16)))
    incident.refresh_from_db()
    assert incident.state == Incident.State.RESOLVED

    resolved = [m for m in mail.outbox if "Incident resolved" in m.subject]
    assert sorted(m.to[0] for m in resolved) == ["first@ops.test", "second@ops.test"]
    assert "Resolved: Mon 30 Nov 2026 12:17 UTC" in resolved[0].body
    assert webhook_receiver.events[-1] == "incident.resolved"
    assert webhook_receiver.received[-1].payload["incident"]["resolved_at"] == "2026-11-30T12:17:00Z"
    assert advance_at(clock, T0 + timedelta(minutes=30), sending)["escalated"] == 0


def test_with_no_policy_only_the_webhooks_are_told(db, clock, sending, webhook_receiver):
    incident = sending(open_incident)
    assert mail.outbox == [] and webhook_receiver.events == ["incident.opened"]
    assert IncidentPaging.objects.get(incident=incident).stopped_reason == "no_policy"


# SECTION: who is on call


def test_the_rota_hands_over_and_an_override_wins(duty):
    other = person("other@ops.test")
    cover = person("cover@ops.test")
    duty.rota.handoff_hours = 24
    duty.rota.starts_at = T0
    duty.rota.save()
    RotaParticipant.objects.create(rota=duty.rota, user=other, position=1)
    assert on_call_user_id(rota=duty.rota, at=T0) == duty.first.pk
    assert on_call_user_id(rota=duty.rota, at=T0 + timedelta(hours=23, minutes=59)) == duty.first.pk
    assert on_call_user_id(rota=duty.rota, at=T0 + timedelta(hours=24)) == other.pk
    assert on_call_user_id(rota=duty.rota, at=T0 + timedelta(hours=48)) == duty.first.pk
    assert on_call_user_id(rota=duty.rota, at=T0 - timedelta(hours=1)) == other.pk
    RotaOverride.objects.create(
        rota=duty.rota, user=cover, starts_at=T0 + timedelta(hours=2), ends_at=T0 + timedelta(hours=30)
    )
    assert on_call_user_id(rota=duty.rota, at=T0 + timedelta(hours=1)) == duty.first.pk
    assert on_call_user_id(rota=duty.rota, at=T0 + timedelta(hours=2)) == cover.pk
    assert on_call_user_id(rota=duty.rota, at=T0 + timedelta(hours=25)) == cover.pk
    assert on_call_user_id(rota=duty.rota, at=T0 + timedelta(hours=30)) == other.pk


def test_an_override_pages_instead_of_the_rotation(duty, clock, sending):
    cover = person("cover@ops.test")
    RotaOverride.objects.create(
        rota=duty.rota, user=cover, starts_at=T0 - timedelta(hours=1), ends_at=T0 + timedelta(hours=1)
    )
    sending(open_incident)
    assert [m.to for m in mail.outbox] == [["cover@ops.test"]]


@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hours=st.integers(min_value=-2000, max_value=2000), handoff=st.integers(min_value=1, max_value=200))
def test_everyone_in_the_rota_carries_the_pager_in_turn(duty, hours, handoff):
    people = [duty.first, *[person(f"p{i}-{hours}-{handoff}@ops.test") for i in range(2)]]
    for position, user in enumerate(people[1:], start=1):
        RotaParticipant.objects.create(rota=duty.rota, user=user, position=position)
    duty.rota.handoff_hours = handoff
    duty.rota.save()
    start = duty.rota.starts_at + timedelta(hours=hours)
    # Over one full cycle of handoffs, each participant is on call exactly once, in order.
    seen = [on_call_user_id(rota=duty.rota, at=start + timedelta(hours=handoff * n)) for n in range(len(people))]
    assert sorted(seen) == sorted(user.pk for user in people)
    RotaParticipant.objects.filter(rota=duty.rota).exclude(user=duty.first).delete()
