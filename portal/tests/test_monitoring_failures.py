"""Real failures, end to end (issue 9, "Tests"): a facility made unwritable, the
hub database made unreachable, a hub's workers gone and beat silent each open
the right incident from real probe rounds; the duty engineer's email reaches a
real SMTP server and the webhook a real HTTP receiver with a valid signature,
both sent by the real worker; escalation waits its 15 minutes; the signed
link acknowledges and stops it; recovery resolves the incident and says so."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.db import connections
from django.test import Client

from hubs.alerts import incident_timeline
from hubs.models import Heartbeat, Incident
from hubs.routing import hub_database_alias
from hubs.services.probes import probe_round_run
from hubs.storage import facility_storage
from hubs.tasks import alerts_advance_task
from hubs.tests.alerting import T0
from hubs.tests.test_tasks import body_of

pytestmark = [pytest.mark.django_db(databases="__all__", transaction=True), pytest.mark.worker]

ARRIVAL_S = 60


def arrived(receiver, count: int = 1) -> None:  # type: ignore[no-untyped-def]
    for _ in range(count):
        assert receiver.arrived.acquire(timeout=ARRIVAL_S), "nothing arrived from the worker"


def rounds(hub_code: str | None, clock, start, count: int = 2) -> None:  # type: ignore[no-untyped-def]
    for minute in range(count):
        clock.move_to(start + timedelta(minutes=minute))
        probe_round_run(hub_code=hub_code)


@pytest.fixture
def fast_file_transaction(settings) -> None:
    settings.HUBPORT_PROBE_FILE_TRANSACTION_SECONDS = 20.0


def test_an_unwritable_facility_pages_escalates_is_acknowledged_and_resolves(
    celery_worker, duty, smtp_receiver, webhook_receiver, fast_file_transaction
) -> None:
    folder = Path(facility_storage("de", "primary").location)
    if folder.exists():
        shutil.rmtree(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.write_bytes(b"a file where the facility's folder was")
    with time_machine.travel(T0, tick=True) as clock:
        rounds("de", clock, T0)
        incident = Incident.objects.get(hub_id="de", component="storage.primary")
        assert incident.state == "investigating" and incident.automatic
        # One page for the cause: the file transaction that needs the facility joined it.
        assert not Incident.objects.filter(component="file_transaction").exists()
        arrived(smtp_receiver)
        arrived(webhook_receiver)
        [email] = smtp_receiver.messages
        assert email["To"] == duty.first.email
        assert "storage.primary" in email["Subject"] and "hub de" in email["Subject"]
        [hook] = webhook_receiver.received
        assert hook.signature_valid()
        assert hook.payload["event"] == "incident.opened"
        assert (hook.payload["incident"]["hub"], hook.payload["incident"]["component"]) == ("de", "storage.primary")

        # Unacknowledged for 15 minutes (opened by the second round, at 12:01):
        # the next step is paged, not a minute before.
        clock.move_to(T0 + timedelta(minutes=15, seconds=30))
        alerts_advance_task.apply()
        assert len(smtp_receiver.messages) == 1
        clock.move_to(T0 + timedelta(minutes=16, seconds=30))
        alerts_advance_task.apply()
        arrived(smtp_receiver)
        arrived(webhook_receiver)
        assert [m["To"] for m in smtp_receiver.messages] == [duty.first.email, duty.second.email]

        # The signed link in the second page acknowledges, without a session.
        link = re.search(r"https?://\S+/ops/incidents/\S+/acknowledge/", body_of(smtp_receiver.messages[1]))
        assert link is not None
        path = "/" + link.group(0).split("/", 3)[3]
        client = Client()
        assert client.get(path).status_code == 200
        assert client.post(path, {"note": "on it"}).status_code in (200, 302)
        incident.refresh_from_db()
        assert incident.acknowledged_at is not None and incident.acknowledged_by == duty.second
        arrived(webhook_receiver)  # incident.acknowledged
        clock.move_to(T0 + timedelta(minutes=46))
        alerts_advance_task.apply()  # acknowledged: nobody else is paged

        # The folder back: two good rounds resolve it, and the resolution is announced.
        folder.unlink()
        rounds("de", clock, T0 + timedelta(minutes=47))
        incident.refresh_from_db()
        assert incident.state == "resolved"
        arrived(webhook_receiver)
    events = [item.payload["event"] for item in webhook_receiver.received]
    assert events == ["incident.opened", "incident.escalated", "incident.acknowledged", "incident.resolved"]
    assert all(item.signature_valid() for item in webhook_receiver.received)
    # The admin's timeline tells the whole night: flips, pages, acknowledgement, resolution.
    timeline = [(entry.kind, entry.text) for entry in incident_timeline(incident)]
    assert ("flip", "storage.primary.round_trip failing") in timeline
    assert ("flip", "storage.primary.round_trip passing") in timeline
    assert [kind for kind, _ in timeline].count("alert") >= 6
    assert ("acknowledged", f"Acknowledged by {duty.second.email}") in timeline


@pytest.fixture
def hub_database_unreachable() -> Iterator[str]:
    """The ae hub's database pointed where nothing answers, for every thread's
    next connection: a folder that does not exist (SQLite) or a closed port."""
    alias = hub_database_alias("ae")
    handler = connections[alias]
    saved = dict(handler.settings_dict)
    handler.close()
    if handler.vendor == "sqlite":
        handler.settings_dict["NAME"] = "/nonexistent-hubport-folder/hub_ae.sqlite3"
    else:
        handler.settings_dict.update(HOST="127.0.0.1", PORT="1")
    try:
        yield alias
    finally:
        handler.close()
        handler.settings_dict.clear()
        handler.settings_dict.update(saved)


def test_an_unreachable_hub_database_opens_one_database_incident(
    celery_worker, duty, smtp_receiver, hub_database_unreachable, fast_file_transaction
) -> None:
    with time_machine.travel(T0, tick=True) as clock:
        rounds("ae", clock, T0)
    incident = Incident.objects.get(hub_id="ae", component="database")
    assert "database.read" in incident.affected and "database.write" in incident.affected
    # What needs the database joins its incident instead of paging again.
    assert set(Incident.objects.filter(hub_id="ae").values_list("component", flat=True)) == {"database"}
    assert "file_transaction" in incident.affected
    arrived(smtp_receiver)
    assert "hub ae" in smtp_receiver.messages[0]["Subject"] and "database" in smtp_receiver.messages[0]["Subject"]


def test_a_hub_whose_workers_are_gone_opens_a_workers_incident_from_the_control_round(
    celery_worker, duty, smtp_receiver, settings
) -> None:
    # Long enough for the served hubs' workers to answer while busy with the others' pings.
    settings.HUBPORT_PROBE_WORKER_WAIT_SECONDS = 10.0
    with celery_worker.queue_unserved("hub.au"), time_machine.travel(T0, tick=True) as clock:
        Heartbeat.objects.update_or_create(name="scheduler", defaults={"at": T0})
        rounds(None, clock, T0)
    incident = Incident.objects.get(hub_id="au", component="workers")
    assert incident.affected == ["workers.round_trip"]
    arrived(smtp_receiver, Incident.objects.count())
    assert any("hub au" in message["Subject"] for message in smtp_receiver.messages)


def test_a_silent_scheduler_opens_a_control_plane_incident(celery_worker, duty, smtp_receiver, settings) -> None:
    settings.HUBPORT_PROBE_WORKER_WAIT_SECONDS = 10.0
    with time_machine.travel(T0, tick=True) as clock:
        Heartbeat.objects.update_or_create(name="scheduler", defaults={"at": T0 - timedelta(minutes=5)})
        rounds(None, clock, T0)
    incident = Incident.objects.get(hub__isnull=True, component="scheduler")
    assert incident.severity == "critical"
    arrived(smtp_receiver, Incident.objects.count())
    assert any("scheduler" in message["Subject"] for message in smtp_receiver.messages)
