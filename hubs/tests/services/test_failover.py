"""A hub's failover as an event: what it records, when the outage began, when
the hub recovered, the automatic rule, and the command (storage only here: the
standby database's promotion is hubs/tests/test_failover_database.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command

from conftest import all_databases
from hubs.models import Facility, FailoverEvent, Hub, Incident, IncidentPaging, ProbeResult
from hubs.services import hub_fail_over
from hubs.services.failover_auto import failover_automatic_consider
from hubs.services.failover_events import failover_recovery_record

pytestmark = all_databases

T0 = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


def result(hub: str, name: str, ok: bool, at: datetime, severity: str = "critical") -> ProbeResult:
    return ProbeResult.objects.create(
        hub_id=hub, name=name, component=name.split(".")[0], severity=severity, ok=ok, latency_ms=1.0, at=at
    )


def rounds(hub: str, *, start: datetime, minutes: int, failing: tuple[str, ...], alternate_ok: bool = True) -> None:
    """One round a minute: the named probes fail, the others pass."""
    for minute in range(minutes + 1):
        at = start + timedelta(minutes=minute)
        for name in ("database.read", "storage.primary.round_trip"):
            result(hub, name, name not in failing, at)
        result(hub, "storage.alternate.round_trip", alternate_ok, at)


def test_a_failover_without_a_standby_moves_the_storage_and_records_the_event():
    hub = Hub.objects.get(code="nz")
    with time_machine.travel(T0, tick=False):
        event = hub_fail_over(hub=hub, to_role="alternate", acting_user=None, reason="Auckland 1 power")

    assert event is not None
    stored = Hub.objects.get(code="nz")
    assert (stored.serving_facility, stored.failover_generation) == ("alternate", 1)
    event = FailoverEvent.objects.get(pk=event.pk)
    assert (event.direction, event.generation, event.automatic, event.promoted) == ("to_alternate", 1, False, False)
    assert event.reason == "Auckland 1 power"
    assert event.database_detail.startswith("no standby database")
    assert (event.lag_bytes, event.lag_seconds) == (None, None)
    assert (event.blobs_not_copied, event.bytes_not_copied) == (0, 0)
    # Nothing was failing: the outage is the failover itself.
    assert event.started_at == event.outage_started_at == T0
    assert event.recovered_at is None

    back = hub_fail_over(hub=stored, to_role="primary", acting_user=None, reason="repaired")
    assert back is not None and back.direction == "to_primary" and back.generation == 2
    assert hub_fail_over(hub=stored, to_role="primary", acting_user=None, reason="again") is None
    assert FailoverEvent.objects.filter(hub_id="nz").count() == 2


def test_the_outage_begins_at_the_first_failure_after_the_last_pass():
    result("uk", "database.read", True, T0)
    result("uk", "database.read", False, T0 + timedelta(minutes=1))  # a blip, then a pass
    result("uk", "database.read", True, T0 + timedelta(minutes=2))
    rounds("uk", start=T0 + timedelta(minutes=3), minutes=4, failing=("database.read",))
    result("uk", "web.latency_p95", False, T0 - timedelta(hours=1), severity="warning")

    with time_machine.travel(T0 + timedelta(minutes=8), tick=False):
        event = hub_fail_over(hub=Hub.objects.get(code="uk"), to_role="alternate", acting_user=None, reason="db down")

    assert event is not None
    assert event.outage_started_at == T0 + timedelta(minutes=3)


def test_the_first_passing_file_transaction_after_the_failover_ends_the_recovery_time():
    rounds("de", start=T0, minutes=2, failing=("storage.primary.round_trip",))
    with time_machine.travel(T0 + timedelta(minutes=2, seconds=30), tick=False):
        event = hub_fail_over(hub=Hub.objects.get(code="de"), to_role="alternate", acting_user=None, reason="x")
    assert event is not None

    before = [result("de", "file_transaction", True, T0 + timedelta(minutes=2))]
    assert failover_recovery_record(results=before, at=T0 + timedelta(minutes=2)) == []
    failed = [result("de", "file_transaction", False, T0 + timedelta(minutes=3))]
    assert failover_recovery_record(results=failed, at=T0 + timedelta(minutes=3)) == []
    other_hub = [result("uk", "file_transaction", True, T0 + timedelta(minutes=4))]
    assert failover_recovery_record(results=other_hub, at=T0 + timedelta(minutes=4)) == []

    passed = [result("de", "file_transaction", True, T0 + timedelta(minutes=5))]
    assert failover_recovery_record(results=passed, at=T0 + timedelta(minutes=5)) == [event]

    event.refresh_from_db()
    assert event.recovered_at == T0 + timedelta(minutes=5)
    assert event.recovery_seconds == 300.0  # from the first failed probe, T0
    later = [result("de", "file_transaction", True, T0 + timedelta(minutes=6))]
    assert failover_recovery_record(results=later, at=T0 + timedelta(minutes=6)) == []  # the first pass only


def test_automatic_failover_is_off_by_default():
    rounds("us", start=T0, minutes=30, failing=("database.read", "storage.primary.round_trip"))
    assert Hub.objects.get(code="us").auto_failover_after_minutes is None
    with time_machine.travel(T0 + timedelta(minutes=30), tick=False):
        assert failover_automatic_consider(hub_code="us") is None
    assert Hub.objects.get(code="us").serving_facility == "primary"


@pytest.mark.parametrize("failing", [("database.read",), ("storage.primary.round_trip",)])
def test_automatic_failover_after_n_minutes_of_primary_failure_records_and_pages(failing):
    Hub.objects.filter(code="us").update(auto_failover_after_minutes=5)
    rounds("us", start=T0, minutes=5, failing=failing)

    with time_machine.travel(T0 + timedelta(minutes=4, seconds=59), tick=False):
        assert failover_automatic_consider(hub_code="us") is None  # not yet five minutes
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        event = failover_automatic_consider(hub_code="us")

    assert event is not None and event.automatic and event.actor is None
    assert event.reason.startswith(f"automatic: {failing[0]} failing since ")
    assert event.reason.endswith("(rule: 5 min)")
    assert event.outage_started_at == T0
    assert Hub.objects.get(code="us").serving_facility == "alternate"
    incident = Incident.objects.get(hub_id="us", component="failover")
    assert incident.state == Incident.State.INVESTIGATING and "failed over automatically" in incident.title
    assert IncidentPaging.objects.filter(incident=incident).exists()  # paged through the default policy
    with time_machine.travel(T0 + timedelta(minutes=6), tick=False):
        assert failover_automatic_consider(hub_code="us") is None  # on the alternate already


def test_automatic_failover_waits_for_a_healthy_alternate_and_an_unbroken_failure():
    Hub.objects.filter(code="ae").update(auto_failover_after_minutes=3)
    rounds("ae", start=T0, minutes=10, failing=("database.read",), alternate_ok=False)
    with time_machine.travel(T0 + timedelta(minutes=10), tick=False):
        assert failover_automatic_consider(hub_code="ae") is None

    rounds("hk", start=T0, minutes=10, failing=("database.read",))
    Hub.objects.filter(code="hk").update(auto_failover_after_minutes=3)
    result("hk", "database.read", True, T0 + timedelta(minutes=9, seconds=30))  # it recovered once
    result("hk", "database.read", False, T0 + timedelta(minutes=10, seconds=30))
    with time_machine.travel(T0 + timedelta(minutes=11), tick=False):
        assert failover_automatic_consider(hub_code="hk") is None  # failing for 30 s only
    assert not FailoverEvent.objects.exists()


def test_automatic_failover_refused_by_an_unavailable_alternate_changes_nothing():
    Hub.objects.filter(code="au").update(auto_failover_after_minutes=1)
    Facility.objects.filter(hub_id="au", role="alternate").update(is_available=False)
    rounds("au", start=T0, minutes=3, failing=("database.read",))
    with time_machine.travel(T0 + timedelta(minutes=3), tick=False):
        assert failover_automatic_consider(hub_code="au") is None
    assert Hub.objects.get(code="au").serving_facility == "primary"
    assert not Incident.objects.filter(component="failover").exists()


def test_the_command_prints_the_event_as_json(capsys):
    call_command("hub_failover", "--hub", "hk", "--to", "alternate", "--reason", "Hong Kong 1 cooling", "--json")
    printed = json.loads(capsys.readouterr().out)
    assert printed["ok"] is True and printed["changed"] is True and printed["serving"] == "alternate"
    event = FailoverEvent.objects.get(hub_id="hk")
    assert printed["event"]["id"] == event.pk
    assert printed["event"]["recovery_point"] == {
        "lag_bytes": None,
        "lag_s": None,
        "blobs_not_copied": 0,
        "bytes_not_copied": 0,
    }
    assert printed["event"]["promoted"] is False and printed["error"] is None

    Facility.objects.filter(hub_id="hk", role="primary").update(is_available=False)
    with pytest.raises(SystemExit) as exited:
        call_command("hub_failover", "--hub", "hk", "--to", "primary", "--reason", "back", "--json")
    assert exited.value.code == 1
    refused = json.loads(capsys.readouterr().out)
    assert refused["ok"] is False and refused["error"]["code"] == "failover_refused"
    assert "marked unavailable" in refused["error"]["detail"]
    assert Hub.objects.get(code="hk").serving_facility == "alternate"
