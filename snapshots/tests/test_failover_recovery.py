"""A hub failed over by its probes and recovered through the real file
transaction: the primary facility broken for real (its folder is a file), the
hub's probe rounds run as beat runs them, the automatic rule fails it over,
and the first passing file transaction after that ends the recovery time.
Failing back is refused while a blob the outage left behind misses the
primary facility."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from hubs.errors import HubFailoverError
from hubs.models import Facility, FailoverEvent, Hub, Incident
from hubs.services import facility_set_availability, hub_fail_over
from hubs.services.probes import probe_round_run
from hubs.storage import facility_storage
from snapshots.replication import replication_backlog, replication_repair

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)

T0 = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


def break_primary(hub: str) -> Path:
    folder = Path(facility_storage(hub, "primary").location)
    if folder.exists():
        shutil.rmtree(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.write_bytes(b"not a folder")
    return folder


def round_ok(rows, name: str) -> bool:
    return next(row for row in rows if row.name == name).ok


def test_the_probes_fail_the_hub_over_and_measure_its_recovery(celery_worker, settings) -> None:
    settings.HUBPORT_PROBE_FILE_TRANSACTION_SECONDS = 20.0
    Hub.objects.filter(code="de").update(auto_failover_after_minutes=3)
    folder = break_primary("de")

    with time_machine.travel(T0, tick=True) as clock:
        first = probe_round_run(hub_code="de")
        assert not round_ok(first, "storage.primary.round_trip")
        assert round_ok(first, "storage.alternate.round_trip")
        outage_began = next(row.at for row in first if row.name == "storage.primary.round_trip")
        clock.shift(timedelta(minutes=2))
        probe_round_run(hub_code="de")
        assert Hub.objects.get(code="de").serving_facility == "primary"  # two minutes: not yet

        clock.shift(timedelta(minutes=2))
        probe_round_run(hub_code="de")  # four minutes: over the rule's three

        hub = Hub.objects.get(code="de")
        assert hub.serving_facility == "alternate"
        event = FailoverEvent.objects.get(hub_id="de")
        assert event.automatic and event.reason.startswith("automatic: storage.primary.round_trip failing since")
        assert event.outage_started_at == outage_began
        assert event.recovered_at is None
        assert Incident.objects.filter(hub_id="de", component="failover").exists()

        clock.shift(timedelta(minutes=1))
        recovered = probe_round_run(hub_code="de")

    transaction_row = next(row for row in recovered if row.name == "file_transaction")
    assert transaction_row.ok, transaction_row.detail
    event.refresh_from_db()
    assert event.recovered_at == transaction_row.at
    assert event.recovery_seconds == pytest.approx((transaction_row.at - outage_began).total_seconds(), abs=0.01)
    assert 5 * 60 <= event.recovery_seconds < 6 * 60

    # The probe's upload missed the broken primary: failing back now would lose it.
    assert replication_backlog(hub_code="de").blobs >= 1
    with pytest.raises(HubFailoverError, match=r"not yet in both facilities"):
        hub_fail_over(hub=Hub.objects.get(code="de"), to_role="primary", acting_user=None, reason="repaired")
    assert Hub.objects.get(code="de").serving_facility == "alternate"

    # Repaired and copied: the backlog toward the primary is zero, and failing back is allowed.
    folder.unlink()
    primary = Facility.objects.get(hub_id="de", role="primary")
    facility_set_availability(facility=primary, is_available=True, acting_user=None)
    replication_repair(hub_code="de")
    assert replication_backlog(hub_code="de").blobs == 0
    back = hub_fail_over(hub=Hub.objects.get(code="de"), to_role="primary", acting_user=None, reason="repaired")
    assert back is not None and back.direction == "to_primary"
    assert Hub.objects.get(code="de").serving_facility == "primary"
