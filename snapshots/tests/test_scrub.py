"""Scrub: every copy of every blob re-read and re-hashed in real facility
folders; a missing or corrupt copy is rewritten from the good one and
recorded in the hub, a blob bad everywhere is lost (a staff-only critical
probe that names tenant and blob ids), and a later good copy closes it."""

from __future__ import annotations

import hashlib
import io
import json
import logging
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import all_databases
from hubs.models import Facility
from hubs.monitoring.probes import STAFF_ONLY_COMPONENTS, probes_for
from hubs.storage import facility_storage
from snapshots import services
from snapshots.models import Blob, ScrubFinding
from snapshots.monitoring import integrity_check
from snapshots.scrub import scrub_lost_open, scrub_pass

pytestmark = all_databases

PAYLOAD = b"the board minutes, scrubbed"


def write(made, path: str, content: bytes):
    return services.file_write(
        tenant=made.tenant, path=path, stream=io.BytesIO(content), content_length=len(content), acting_user=made.user
    )


def copy_of(hub: str, role: str, blob: Blob) -> Path:
    return Path(facility_storage(hub, role).path(blob.storage_key))


@pytest.fixture
def stored(make_tenant):
    made = make_tenant(hub="de")
    version = write(made, "/Board/minutes.pdf", PAYLOAD)
    return SimpleNamespace(tenant=made.tenant, user=made.user, blob=version.blob)


def integrity(hub: str):
    [probe] = [probe for probe in probes_for(hub) if probe.name == "storage.integrity"]
    return probe


def test_a_healthy_hub_is_checked_in_every_facility_and_nothing_is_found(stored):
    result = scrub_pass(hub_code="de", tenant_id=stored.tenant.pk)
    assert (result.checked, result.repaired, result.lost, result.findings) == (1, 0, 0, [])
    assert result.bytes == 2 * len(PAYLOAD)  # both copies were read
    assert Blob.objects.for_tenant(stored.tenant).get().verified_at is not None


@pytest.mark.parametrize(
    ("role", "damage", "kind"), [("primary", "corrupt", "corrupt"), ("alternate", "delete", "missing")]
)
def test_a_bad_copy_is_rewritten_from_the_good_one_and_recorded(stored, role, damage, kind, caplog):
    copy = copy_of("de", role, stored.blob)
    if damage == "corrupt":
        copy.write_bytes(b"bit rot of the same size!!!")
    else:
        copy.unlink()
    with caplog.at_level(logging.INFO):
        result = scrub_pass(hub_code="de", tenant_id=stored.tenant.pk)
    assert (result.checked, result.repaired, result.lost) == (1, 1, 0)
    assert copy.read_bytes() == PAYLOAD
    [finding] = ScrubFinding.objects.for_tenant(stored.tenant)
    assert (finding.blob_id, finding.facility, finding.kind) == (stored.blob.pk, role, kind)
    assert finding.repaired_at is not None and finding.sha256 == stored.blob.sha256
    assert result.findings == [
        {"finding": finding.pk, "tenant": stored.tenant.pk, "blob": stored.blob.pk, "facility": role,
         "kind": kind, "repaired": True}
    ]  # fmt: skip
    assert "minutes.pdf" not in caplog.text and "Board" not in caplog.text
    again = scrub_pass(hub_code="de", tenant_id=stored.tenant.pk)
    assert again.findings == [], "a repaired copy is found good on the next pass"


def test_a_blob_bad_everywhere_is_lost_once_and_the_probe_names_it_until_a_good_copy_returns(stored):
    good = copy_of("de", "primary", stored.blob).read_bytes()
    copy_of("de", "primary", stored.blob).write_bytes(b"rotten")
    copy_of("de", "alternate", stored.blob).unlink()
    first = scrub_pass(hub_code="de", tenant_id=stored.tenant.pk)
    assert (first.lost, first.repaired) == (1, 0)
    assert not copy_of("de", "alternate", stored.blob).exists(), "bad bytes are never spread"
    second = scrub_pass(hub_code="de", tenant_id=stored.tenant.pk)
    assert second.lost == 1 and second.findings == [], "one open finding, not one per pass"
    [lost] = scrub_lost_open(hub_code="de")
    assert lost.kind == "lost" and lost.facility == ""
    probe = integrity("de")
    assert probe.severity == "critical" and probe.component in STAFF_ONLY_COMPONENTS
    outcome = integrity_check("de")()  # in this thread: the test's data is not committed
    assert not outcome.ok
    assert f"tenant {stored.tenant.pk} blob {stored.blob.pk}" in outcome.detail
    assert integrity_check("uk")().ok
    # A good copy comes back (a facility restored from a backup): the next pass closes it and repairs the other.
    copy_of("de", "primary", stored.blob).write_bytes(good)
    third = scrub_pass(hub_code="de", tenant_id=stored.tenant.pk)
    assert (third.lost, third.repaired) == (0, 1)
    assert scrub_lost_open(hub_code="de") == []
    assert integrity_check("de")().ok


def test_nothing_is_judged_while_a_facility_is_unavailable(stored):
    copy_of("de", "alternate", stored.blob).unlink()
    Facility.objects.filter(hub_id="de", role="alternate").update(is_available=False)
    result = scrub_pass(hub_code="de", tenant_id=stored.tenant.pk)
    assert result.checked == 0 and result.skipped
    assert not ScrubFinding.objects.for_hub("de").exists()


def test_the_command_prints_the_figures_and_fails_on_a_lost_blob(stored, make_tenant, capsys):
    # One tenant at a time: on PostgreSQL, rows committed by other
    # (transactional) tests may lie in the hubs without their bytes.
    other = make_tenant(hub="nz")
    write(other, "/a.txt", b"nz bytes")
    call_command("scrub", "--hub", "nz", "--tenant", str(other.tenant.pk), "--json")
    figures = json.loads(capsys.readouterr().out)
    assert {"checked", "repaired", "lost", "bytes", "seconds", "findings"} <= set(figures)
    assert (figures["checked"], figures["lost"], figures["bytes"]) == (1, 0, 2 * len(b"nz bytes"))
    assert list(figures["hubs"]) == ["nz"]
    call_command("scrub", "--hub", "de", "--tenant", str(stored.tenant.pk))
    assert capsys.readouterr().out.startswith("de: 1 checked, 0 repaired, 0 lost")
    copy_of("de", "primary", stored.blob).unlink()
    copy_of("de", "alternate", stored.blob).unlink()
    with pytest.raises(CommandError, match="no good copy"):
        call_command("scrub", "--hub", "de", "--tenant", str(stored.tenant.pk), "--json")
    figures = json.loads(capsys.readouterr().out)
    assert figures["lost"] == 1 and figures["findings"][0]["hub"] == "de"
    assert figures["findings"][0]["blob"] == stored.blob.pk


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    damage=st.lists(
        st.tuples(st.sampled_from(["primary", "alternate"]), st.sampled_from(["keep", "corrupt", "delete"])),
        min_size=3,
        max_size=3,
    )
)
def test_after_a_pass_every_blob_with_a_good_copy_is_whole_and_the_rest_are_lost(make_tenant, damage):
    """Whatever is damaged, a pass leaves each blob either whole in both
    facilities with the right hash, or counted lost; never half-repaired."""
    made = make_tenant(hub="au")
    blobs = [write(made, f"/f{n}.bin", f"content {n} {made.tenant.pk}".encode()).blob for n in range(3)]
    for blob, (role, action) in zip(blobs, damage, strict=True):
        if action == "corrupt":
            copy_of("au", role, blob).write_bytes(b"x")
        elif action == "delete":
            copy_of("au", role, blob).unlink()
    result = scrub_pass(hub_code="au", tenant_id=made.tenant.pk)
    for blob in blobs:
        copies = [copy_of("au", role, blob) for role in ("primary", "alternate")]
        assert all(hashlib.sha256(copy.read_bytes()).hexdigest() == blob.sha256 for copy in copies)
    assert result.lost == 0 and result.repaired == sum(1 for _, action in damage if action != "keep")
