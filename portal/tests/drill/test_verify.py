"""The drill's read-back against a real store: every acknowledged write is
found as its own version with its hash, and a lost copy or an undone delete
is named (ids and the drill's own paths only)."""

from __future__ import annotations

import hashlib
import io
import secrets

from conftest import all_databases
from hubs.models import Facility
from hubs.storage import facility_storage
from portal.drill.ledger import Absent, Ledger
from portal.drill.verify import ledger_verify
from snapshots import services

pytestmark = all_databases


def _write(ledger: Ledger, tenant, path: str) -> tuple[int, str]:
    body = secrets.token_bytes(3000)
    version = services.file_write(
        tenant=tenant, path=path, stream=io.BytesIO(body), content_length=len(body), acting_user=None
    )
    sha256 = hashlib.sha256(body).hexdigest()
    ledger.acknowledge(path, sha256, node_id=version.node_id, version_id=version.pk)
    return version.pk, version.blob.storage_key


def test_every_acknowledged_write_overwritten_or_not_reads_back_and_a_lost_blob_is_named(make_tenant):
    tenant = make_tenant().tenant
    ledger = Ledger()
    first_version, first_key = _write(ledger, tenant, "/drill/a.bin")
    _write(ledger, tenant, "/drill/a.bin")  # overwrite: the first stays in the history
    _write(ledger, tenant, "/drill/b.bin")
    services.node_delete(tenant=tenant, path="/drill/b.bin", acting_user=None)
    ledger.acknowledge("/drill/b.bin", Absent)

    clean = ledger_verify(tenant=tenant, ledger=ledger)
    assert (clean.verified, clean.lost, clean.paths_verified, clean.wrong_paths) == (3, [], 2, [])

    for role in Facility.Role.values:
        facility_storage(tenant.hub_id, role).delete(first_key)
    broken = ledger_verify(tenant=tenant, ledger=ledger)
    assert broken.verified == 2
    assert [(row["version"], row["found"]) for row in broken.lost] == [(first_version, "bytes missing")]
    assert broken.wrong_paths == []


def test_a_file_the_ledger_says_was_deleted_but_is_live_is_a_wrong_path(make_tenant):
    tenant = make_tenant().tenant
    ledger = Ledger()
    _write(ledger, tenant, "/drill/c.bin")
    ledger.acknowledge("/drill/c.bin", Absent)  # acknowledged, yet the store still has it
    verdict = ledger_verify(tenant=tenant, ledger=ledger)
    assert [row["path"] for row in verdict.wrong_paths] == ["/drill/c.bin"]
    assert verdict.lost == []


def test_the_probe_loop_counts_no_pass_from_another_prober_and_stops_before_a_round_that_cannot_fit(monkeypatch):
    import time

    from django.core.cache import cache

    from hubs.services import probes
    from portal.drill.verify import FILE_TRANSACTION_PROBE, file_transaction_until_passing
    from snapshots.services.file_transaction import ANOTHER_PROBER

    # The round's other probes would wait on the test's own SQLite transaction.
    every_probe = probes.probes_for
    monkeypatch.setattr(
        probes,
        "probes_for",
        lambda hub_code: [probe for probe in every_probe(hub_code) if probe.name == FILE_TRANSACTION_PROBE],
    )
    # A transaction held by another prober (a round of this very stage, still
    # running past its timeout) answers "ok", and must not end the drill's wait.
    lock = "hubport:file_transaction:uk"
    assert cache.add(lock, 1, timeout=60)
    lines: list[str] = []
    try:
        found = file_transaction_until_passing(hub_code="uk", deadline=time.monotonic() + 30, progress=lines.append)
    finally:
        cache.delete(lock)
    # One round (a second could not finish before the deadline), no pass.
    assert (found.passed_at, found.rounds) == (None, 1)
    assert found.last_detail == ANOTHER_PROBER
    assert lines == [f"round 1: file transaction not passed: {ANOTHER_PROBER}"]
