"""A recorded round is weighed for incidents in the same transaction: a facility
that fails two rounds opens one incident, and two good rounds resolve it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hubs.models import Incident, ProbeResult
from hubs.services.probes import probe_round_run
from hubs.storage import facility_storage

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


def storage_incidents() -> list[Incident]:
    return list(Incident.objects.filter(hub_id="de", component="storage.primary"))


def test_two_failed_rounds_open_an_incident_and_two_good_rounds_resolve_it() -> None:
    folder = Path(facility_storage("de", "primary").location)
    if folder.exists():
        shutil.rmtree(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.write_bytes(b"not a folder")

    probe_round_run(hub_code="de")
    assert storage_incidents() == [], "one failed round is not an incident"
    probe_round_run(hub_code="de")
    [incident] = storage_incidents()
    assert incident.state == Incident.State.INVESTIGATING and incident.automatic
    assert "storage.primary.round_trip" in incident.affected
    assert ProbeResult.objects.filter(hub_id="de", name="storage.primary.round_trip", ok=False).count() == 2

    folder.unlink()
    probe_round_run(hub_code="de")
    probe_round_run(hub_code="de")
    [incident] = storage_incidents()
    assert incident.state == Incident.State.RESOLVED and incident.resolved_at is not None
