"""The drill's writers against a real store: every call that returned is in the
ledger, the one that failed is in doubt and ends its thread, and what they
acknowledged reads back. The failure here is the serving facility marked
unavailable (the drill's own is the primary cluster stopped, `make dr-drill`)."""

from __future__ import annotations

import time

import pytest

from hubs.models import Facility, Tenant
from hubs.services.hubs import facility_set_availability
from portal.drill.ledger import Ledger
from portal.drill.verify import ledger_verify
from portal.drill.workload import _Shared, _Writer

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


def _wait_for(condition, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the writer made no progress"
        time.sleep(0.02)


def _writer(tenant: Tenant) -> tuple[_Writer, Ledger, _Shared]:
    ledger, shared = Ledger(), _Shared()
    return _Writer(index=0, tenant=tenant, ledger=ledger, seed=5, shared=shared), ledger, shared


def _serving_unavailable(tenant: Tenant) -> None:
    facility = Facility.objects.get(hub_id=tenant.hub_id, role=Facility.Role.PRIMARY)
    facility_set_availability(facility=facility, is_available=False, acting_user=None, reason="test")


def test_a_writer_records_each_acknowledged_call_and_stops_at_its_first_failure(make_tenant):
    tenant = make_tenant().tenant
    writer, ledger, shared = _writer(tenant)
    writer.start()
    _wait_for(lambda: shared.calls >= 20)
    shared.disaster.set()
    _serving_unavailable(tenant)
    writer.join(timeout=60)

    assert not writer.is_alive()
    assert shared.errors == []
    assert ledger.in_doubt_calls == 1
    assert ledger.acknowledged_writes + ledger.acknowledged_deletes == shared.calls >= 20
    verdict = ledger_verify(tenant=tenant, ledger=ledger)
    assert verdict.verified == ledger.acknowledged_writes
    assert (verdict.lost, verdict.wrong_paths) == ([], [])


def test_a_failure_before_the_disaster_is_reported_as_the_drills_error(make_tenant):
    tenant = make_tenant().tenant
    writer, ledger, shared = _writer(tenant)
    _serving_unavailable(tenant)
    writer.start()
    writer.join(timeout=60)

    assert shared.errors == ["drill-writer-0: FacilityUnavailable before the disaster"]
    assert (shared.calls, ledger.in_doubt_calls) == (0, 1)
