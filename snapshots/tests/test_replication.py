"""Replication repair: a blob that missed its second facility is copied there,
checked by its hash, within minutes and as soon as the facility comes back."""

from __future__ import annotations

import hashlib
import io
import logging
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import all_databases
from hubs.models import Facility
from hubs.services import facility_set_availability
from hubs.storage import facility_storage
from snapshots import services
from snapshots.models import Blob
from snapshots.replication import ReplicationBacklog, replication_backlog, replication_repair

pytestmark = all_databases

PAYLOAD = b"quarterly figures, replicated"


def write(made, path: str, content: bytes):
    return services.file_write(
        tenant=made.tenant, path=path, stream=io.BytesIO(content), content_length=len(content), acting_user=made.user
    )


def blob_file(hub: str, role: str, blob: Blob) -> Path:
    return Path(facility_storage(hub, role).path(blob.storage_key))


def set_alternate(hub: str, *, available: bool) -> None:
    Facility.objects.filter(hub_id=hub, role="alternate").update(is_available=available)


@pytest.fixture
def missed(make_tenant):
    """A tenant whose upload reached only the primary facility of hub hk."""
    made = make_tenant(hub="hk")
    set_alternate("hk", available=False)
    version = write(made, "/Finance/figures.xlsx", PAYLOAD)
    assert version.blob.needs_replication
    return SimpleNamespace(tenant=made.tenant, user=made.user, blob=version.blob)


def test_the_backlog_counts_blobs_and_bytes_waiting_for_their_second_facility(missed):
    write(missed, "/Finance/more.xlsx", b"12345")
    assert replication_backlog(hub_code="hk") == ReplicationBacklog(blobs=2, bytes=len(PAYLOAD) + 5)
    assert replication_backlog(hub_code="uk") == ReplicationBacklog(blobs=0, bytes=0)


def test_nothing_is_copied_while_the_facility_is_still_down(missed):
    result = replication_repair(hub_code="hk")
    assert result.copied == 0 and result.waiting == 1
    assert not blob_file("hk", "alternate", missed.blob).exists()
    assert Blob.objects.for_tenant(missed.tenant).get().needs_replication


def test_the_copy_is_made_checked_and_the_mark_cleared_once(missed):
    set_alternate("hk", available=True)
    result = replication_repair(hub_code="hk")
    assert (result.checked, result.copied) == (1, 1)
    copy = blob_file("hk", "alternate", missed.blob)
    assert hashlib.sha256(copy.read_bytes()).hexdigest() == missed.blob.sha256
    blob = Blob.objects.for_tenant(missed.tenant).get()
    assert not blob.needs_replication and blob.verified_at is not None
    assert replication_backlog(hub_code="hk").blobs == 0
    again = replication_repair(hub_code="hk")
    assert (again.checked, again.copied) == (0, 0), "a repaired blob is not copied again"


def test_a_blob_present_only_in_the_alternate_is_copied_to_the_primary(missed):
    set_alternate("hk", available=True)
    source = blob_file("hk", "primary", missed.blob)
    target = blob_file("hk", "alternate", missed.blob)
    target.parent.mkdir(parents=True, exist_ok=True)
    source.rename(target)
    assert replication_repair(hub_code="hk").copied == 1
    assert source.read_bytes() == PAYLOAD


def test_a_corrupt_only_copy_is_not_spread_and_stays_marked(missed, caplog):
    set_alternate("hk", available=True)
    blob_file("hk", "primary", missed.blob).write_bytes(b"rotten bytes of the same length!!")
    with caplog.at_level(logging.INFO):
        result = replication_repair(hub_code="hk")
    assert result.unrecoverable == 1 and result.copied == 0
    assert not blob_file("hk", "alternate", missed.blob).exists(), "bad bytes are never copied"
    assert Blob.objects.for_tenant(missed.tenant).get().needs_replication
    assert str(missed.blob.pk) in caplog.text
    assert "figures.xlsx" not in caplog.text and "Finance" not in caplog.text, "logs carry ids, never names"


def test_repair_resumes_in_batches(make_tenant):
    made = make_tenant(hub="au")
    set_alternate("au", available=False)
    for n in range(5):
        write(made, f"/f{n}.txt", f"content {n}".encode())
    set_alternate("au", available=True)
    first = replication_repair(hub_code="au", batch_blobs=2, max_batches=1)
    assert first.copied == 2 and replication_backlog(hub_code="au").blobs == 3
    rest = replication_repair(hub_code="au", batch_blobs=2)
    assert rest.copied == 3 and replication_backlog(hub_code="au").blobs == 0


@pytest.mark.worker
def test_marking_the_facility_available_repairs_on_a_real_worker(make_tenant, celery_worker):
    made = make_tenant(hub="hk")
    set_alternate("hk", available=False)
    blob = write(made, "/Finance/figures.xlsx", PAYLOAD).blob
    alternate = Facility.objects.get(hub_id="hk", role="alternate")

    facility_set_availability(facility=alternate, is_available=True, acting_user=None, reason="disks replaced")

    with celery_worker.condition:
        repaired = celery_worker.condition.wait_for(lambda: replication_backlog(hub_code="hk").blobs == 0, timeout=30)
    assert repaired, "the facility's return queued a repair on the hub's queue"
    assert blob_file("hk", "alternate", blob).read_bytes() == PAYLOAD
