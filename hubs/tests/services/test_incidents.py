"""Incidents from probe observations: open after consecutive failures, one per hub
and component, resolved on recovery, quiet for flaps, warnings and dependencies."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connections
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import all_databases, ensure_hubs_seeded
from hubs.errors import IncidentRefused
from hubs.models import Incident, IncidentUpdate, StaffAuditEntry
from hubs.services.incidents import (
    Observation,
    incident_acknowledge,
    incident_resolve,
    incident_update_add,
    incidents_observe,
)
from hubs.tests.windows import person

pytestmark = all_databases

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def seen(
    ok: bool,
    *,
    round_no: int = 0,
    hub: str | None = "uk",
    name: str = "primary_rt",
    component: str = "storage.primary",
    severity: str = "critical",
) -> Observation:
    return Observation(
        hub_code=hub, name=name, component=component, severity=severity, ok=ok,
        detail="timeout after 5 s" if not ok else "", at=T0 + timedelta(minutes=round_no),
    )  # fmt: skip


def rounds(*oks: bool, **kwargs: object) -> list:
    return [
        incidents_observe(observations=[seen(ok, round_no=i, **kwargs)], now=T0 + timedelta(minutes=i))
        for i, ok in enumerate(oks)
    ]  # type: ignore[arg-type]  # noqa: E501


def unresolved() -> list[Incident]:
    return list(Incident.objects.exclude(state=Incident.State.RESOLVED))


def test_one_failure_opens_nothing_and_two_open_an_incident() -> None:
    first = incidents_observe(observations=[seen(False)], now=T0)
    assert first.opened == [] and Incident.objects.count() == 0
    second = incidents_observe(observations=[seen(False, round_no=1)], now=T0 + timedelta(minutes=1))
    [incident] = second.opened
    assert (incident.hub_id, incident.component, incident.state) == ("uk", "storage.primary", "investigating")
    assert incident.automatic and incident.affected == ["primary_rt"]
    assert "storage.primary" in incident.title and "London" in incident.title
    [update] = IncidentUpdate.objects.filter(incident=incident)
    assert "timeout after 5 s" in update.body


def test_two_passes_resolve_it_and_one_does_not() -> None:
    results = rounds(False, False, True, True)
    [incident] = results[1].opened
    assert results[2].resolved == []
    assert results[3].resolved == [incident]
    incident.refresh_from_db()
    assert incident.state == "resolved" and incident.resolved_at == T0 + timedelta(minutes=3)
    assert list(incident.updates.values_list("state", flat=True)) == ["investigating", "resolved"]


def test_a_flapping_probe_opens_nothing() -> None:
    rounds(False, True, False, True, False, True, False)
    assert Incident.objects.count() == 0


def test_several_failing_probes_of_one_component_share_one_incident() -> None:
    for i in range(3):
        incidents_observe(
            observations=[seen(False, round_no=i), seen(False, round_no=i, name="primary_list")],
            now=T0 + timedelta(minutes=i),
        )
    [incident] = Incident.objects.all()
    assert incident.affected == ["primary_rt", "primary_list"]


def test_resolution_waits_for_every_probe_of_the_component() -> None:
    for i in range(2):
        incidents_observe(observations=[seen(False, round_no=i), seen(False, round_no=i, name="b")], now=T0)
    for i in range(2, 4):
        incidents_observe(observations=[seen(True, round_no=i), seen(False, round_no=i, name="b")], now=T0)
    assert len(unresolved()) == 1


def test_warning_probes_open_nothing() -> None:
    rounds(False, False, False, severity="warning")
    assert Incident.objects.count() == 0


def test_probes_that_need_a_failing_storage_join_its_incident() -> None:
    for i in range(3):
        incidents_observe(
            observations=[
                seen(False, round_no=i),
                seen(False, round_no=i, name="file_tx", component="file_transaction"),
                seen(False, round_no=i, name="replication", component="replication"),
            ],
            now=T0 + timedelta(minutes=i),
        )
    [incident] = Incident.objects.all()
    assert incident.component == "storage.primary"
    assert set(incident.affected) == {"primary_rt", "file_tx", "replication"}


def test_a_dependent_probe_failing_alone_opens_its_own_incident() -> None:
    rounds(False, False, name="file_tx", component="file_transaction")
    [incident] = Incident.objects.all()
    assert incident.component == "file_transaction"


def test_hubs_and_the_control_plane_are_apart() -> None:
    rounds(False, False, hub="de")
    rounds(False, False, hub=None, name="db", component="control.database")
    assert sorted((i.hub_id or "-", i.component) for i in Incident.objects.all()) == [
        ("-", "control.database"),
        ("de", "storage.primary"),
    ]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.booleans(), max_size=12))
def test_open_exactly_when_the_last_failures_say_so(oks: list[bool]) -> None:
    Incident.objects.all().delete()
    from hubs.models import ProbeStreak

    ProbeStreak.objects.all().delete()
    rounds(*oks)
    assert len(unresolved()) <= 1
    # Exact invariant: after any history, an incident is open iff, since the last
    # run of 2 passes (or the start), there was a run of 2 failures.
    expected, fails, passes = False, 0, 0
    for ok in oks:
        fails, passes = (0, passes + 1) if ok else (fails + 1, 0)
        if fails >= 2:
            expected = True
        if passes >= 2:
            expected = False
    assert bool(unresolved()) == expected


def test_acknowledge_update_and_resolve_are_audited() -> None:
    rounds(False, False)
    [incident] = Incident.objects.all()
    staff = person("duty@hubport.test")
    incident_acknowledge(incident=incident, acting_user=staff, note="On it")
    incident.refresh_from_db()
    assert incident.acknowledged_by == staff and incident.acknowledged_at is not None
    with pytest.raises(IncidentRefused):
        incident_acknowledge(incident=incident, acting_user=staff)
    incident_update_add(incident=incident, state="identified", body="A failed disk", public=True, acting_user=staff)
    incident_resolve(incident=incident, acting_user=staff, body="Disk replaced")
    incident.refresh_from_db()
    assert incident.state == "resolved" and incident.resolved_at is not None
    actions = list(
        StaffAuditEntry.objects.filter(target_type="hubs.Incident", target_id=str(incident.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["incident.acknowledge", "incident.update", "incident.update"]
    with pytest.raises(IncidentRefused):
        incident_resolve(incident=incident, acting_user=staff)
    with pytest.raises(IncidentRefused):
        incident_update_add(incident=incident, state="nonsense", body="x", public=False, acting_user=staff)
    incident_update_add(incident=incident, state="investigating", body="Back", public=True, acting_user=staff)
    incident.refresh_from_db()
    assert incident.state == "investigating" and incident.resolved_at is None


def test_a_staff_incident_once_resolved_is_not_reopened() -> None:
    staff = person("duty@hubport.test")
    incident = Incident.objects.create(hub_id="uk", component="web", title="Slow pages", opened_at=T0)
    incident_resolve(incident=incident, acting_user=staff)
    with pytest.raises(IncidentRefused):
        incident_update_add(incident=incident, state="monitoring", body="Again", public=True, acting_user=staff)


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_two_observers_racing_open_exactly_one_incident() -> None:
    ensure_hubs_seeded()
    incidents_observe(observations=[seen(False), seen(False, name="b")], now=T0)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def observe(name: str) -> None:
        try:
            barrier.wait()
            incidents_observe(observations=[seen(False, round_no=1, name=name)], now=T0 + timedelta(minutes=1))
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=observe, args=(name,)) for name in ("primary_rt", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    [incident] = Incident.objects.all()
    assert sorted(incident.affected) == ["b", "primary_rt"]


def test_a_dependent_probe_listed_first_still_joins_the_storage_incident() -> None:
    for i in range(2):
        incidents_observe(
            observations=[
                seen(False, round_no=i, name="file_tx", component="file_transaction"),
                seen(False, round_no=i),
            ],
            now=T0 + timedelta(minutes=i),
        )
    [incident] = Incident.objects.all()
    assert incident.component == "storage.primary" and set(incident.affected) == {"primary_rt", "file_tx"}


def test_a_reopened_automatic_incident_is_not_resolved_again_by_passes_alone() -> None:
    rounds(False, False, True, True)
    [incident] = Incident.objects.all()
    staff = person("duty@hubport.test")
    incident_update_add(incident=incident, state="monitoring", body="Still slow", public=True, acting_user=staff)
    incidents_observe(observations=[seen(True, round_no=5)], now=T0 + timedelta(minutes=5))
    incident.refresh_from_db()
    assert incident.state == "monitoring"
    rounds(False, True, True)
    incident.refresh_from_db()
    assert incident.state == "resolved"


@pytest.mark.parametrize("hub", [None, "uk"])
def test_the_database_keeps_one_unresolved_incident_per_hub_and_component(hub) -> None:
    """For a hub and for the control plane (no hub) alike, on SQLite and PostgreSQL."""
    from django.db import IntegrityError, transaction

    Incident.objects.create(hub_id=hub, component="web", title="first", opened_at=T0)
    with pytest.raises(IntegrityError), transaction.atomic():
        Incident.objects.create(hub_id=hub, component="web", title="second", opened_at=T0)
    Incident.objects.filter(component="web").update(state="resolved")
    Incident.objects.create(hub_id=hub, component="web", title="third", opened_at=T0)
    assert Incident.objects.filter(component="web").exclude(state="resolved").count() == 1
