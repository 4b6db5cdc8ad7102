"""Expiry keeps exactly the retention period and the collector never deletes
bytes that are still referenced, even racing an upload of the same content."""

from __future__ import annotations

import hashlib
import io
import threading
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.db import InterfaceError, OperationalError, connections
from django.utils import timezone

from conftest import all_databases
from hubs.storage import facility_storage
from snapshots import expiry, selectors, services
from snapshots.blobs import blob_open
from snapshots.errors import NotFound
from snapshots.models import Blob, Node, NodeVersion, Snapshot
from snapshots.services import files

pytestmark = all_databases
RETENTION = timedelta(days=28)


def write(made, path, content: bytes):
    return services.file_write(
        tenant=made.tenant, path=path, stream=io.BytesIO(content), content_length=len(content), acting_user=made.user
    )


def blob_files(hub="uk") -> list[Path]:
    found = []
    for role in ("primary", "alternate"):
        root = Path(facility_storage(hub, role).location)
        found += [p for p in root.rglob("*") if p.is_file() and "blobs" in p.parts]
    return found


def test_expiry_keeps_exactly_the_retention_period(make_tenant):
    made = make_tenant()
    now = timezone.now()
    with time_machine.travel(now - RETENTION - timedelta(minutes=1), tick=False):
        write(made, "/old.txt", b"v1")
        write(made, "/old.txt", b"v2")  # closes v1 just outside the retention
        old_snapshot = services.snapshot_create(tenant=made.tenant)
    with time_machine.travel(now - RETENTION + timedelta(minutes=1), tick=False):
        edge_seq = selectors.clock_now(tenant=made.tenant)
        write(made, "/old.txt", b"v3")  # closes v2 just inside the retention
        kept_snapshot = services.snapshot_create(tenant=made.tenant)

    report = expiry.expiry_run(hub_code="uk", now=now)

    assert report.snapshots == 1 and report.versions == 1
    assert not Snapshot.objects.for_tenant(made.tenant).filter(pk=old_snapshot.pk).exists()
    assert Snapshot.objects.for_tenant(made.tenant).filter(pk=kept_snapshot.pk).exists()
    # v2 is still readable as of the moment just inside the retention.
    with blob_open(
        tenant=made.tenant, blob=selectors.node_at_path(tenant=made.tenant, path="/old.txt", seq=edge_seq).blob
    ) as f:
        assert f.read() == b"v2"
    # v1's bytes are gone from both facilities; v2 and v3 are in both.
    shas = {p.name.split(".")[0] for p in blob_files()}
    assert shas == {hashlib.sha256(b"v2").hexdigest(), hashlib.sha256(b"v3").hexdigest()}
    assert report.blobs == 1 and report.blob_bytes == 2
    assert expiry.expiry_run(hub_code="uk", now=now).as_dict() == expiry.ExpiryReport().as_dict(), "idempotent"


def test_a_folder_deleted_before_the_retention_goes_with_its_contents_but_not_what_left_it(make_tenant):
    made = make_tenant()
    now = timezone.now()
    with time_machine.travel(now - RETENTION - timedelta(days=1), tick=False):
        write(made, "/Old/a/deep.txt", b"deep")
        write(made, "/Old/moved-out.txt", b"moved")
        services.node_move(
            tenant=made.tenant, from_path="/Old/moved-out.txt", to_path="/moved-out.txt", acting_user=None
        )
        services.node_delete(tenant=made.tenant, path="/Old", acting_user=None)
    write(made, "/new.txt", b"new")

    expiry.expiry_run(hub_code="uk", now=now, batch_rows=2)

    assert selectors.tree_as_of(tenant=made.tenant) == {
        "/moved-out.txt": hashlib.sha256(b"moved").hexdigest(),
        "/new.txt": hashlib.sha256(b"new").hexdigest(),
    }
    assert selectors.trash_items(tenant=made.tenant).items == []
    # Only the root, the moved file and the new file are left as nodes.
    assert Node.objects.for_tenant(made.tenant).count() == 3
    assert {p.name.split(".")[0] for p in blob_files()} == {
        hashlib.sha256(b"moved").hexdigest(),
        hashlib.sha256(b"new").hexdigest(),
    }
    with pytest.raises(NotFound):
        selectors.node_at_path(tenant=made.tenant, path="/Old")


def test_expired_rows_go_in_id_ranges_between_rows_that_stay(make_tenant):
    """Batches of two over ids where expired rows, live rows, rows closed inside
    the retention and another tenant's rows alternate: exactly the expired go."""
    made, other = make_tenant(), make_tenant()
    now = timezone.now()
    with time_machine.travel(now - RETENTION - timedelta(hours=1), tick=False):
        for n in range(5):
            write(made, f"/f{n}.txt", b"old")
            write(other, f"/g{n}.txt", b"kept")
            write(made, f"/f{n}.txt", b"new")  # closes the row above, outside the retention
    with time_machine.travel(now - RETENTION + timedelta(hours=1), tick=False):
        write(made, "/f0.txt", b"newer")  # closes "new" inside the retention: it stays
    versions = NodeVersion.objects.for_tenant(made.tenant)
    assert versions.filter(closed_at__lt=now - RETENTION).count() == 5

    report = expiry.expiry_run(hub_code="uk", now=now, batch_rows=2)

    assert report.versions == 5
    assert not versions.filter(closed_at__lt=now - RETENTION).exists()
    assert versions.filter(closed_at__isnull=False).count() == 1  # f0's "new", inside the retention
    assert len(selectors.tree_as_of(tenant=made.tenant)) == 5
    assert len(selectors.tree_as_of(tenant=other.tenant)) == 5
    assert NodeVersion.objects.for_tenant(other.tenant).count() == 5 + 1  # and its root


def test_a_folder_a_restore_brought_back_leaves_no_rows_behind_once_its_history_expires(make_tenant):
    """What such a folder still held went to Recently deleted, as deleted with
    the folder: it expires with the folder's deletion, and the old folder's
    rows with it; only the live tree is left."""
    made = make_tenant()
    now = timezone.now()
    with time_machine.travel(now - RETENTION - timedelta(days=2), tick=False):
        write(made, "/Old/a/deep.txt", b"deep")
        snapshot = services.snapshot_create(tenant=made.tenant)
        write(made, "/Old/later.txt", b"later")
        services.node_delete(tenant=made.tenant, path="/Old", acting_user=None)
        job = services.restore_start(
            tenant=made.tenant, acting_user=None, request=services.RestoreRequest(snapshot_id=snapshot.pk)
        )
        services.restore_run(tenant=made.tenant, job_id=job.pk)
    assert [item.name for item in selectors.trash_items(tenant=made.tenant).items] == []  # expired by now
    live = selectors.tree_as_of(tenant=made.tenant)

    expiry.expiry_run(hub_code="uk", now=now)

    assert (
        selectors.tree_as_of(tenant=made.tenant)
        == live
        == {
            "/Old": None,
            "/Old/a": None,
            "/Old/a/deep.txt": hashlib.sha256(b"deep").hexdigest(),
        }
    )
    # The root, /Old, /Old/a and deep.txt (which came back as itself): nothing else.
    assert Node.objects.for_tenant(made.tenant).count() == 4
    assert NodeVersion.objects.for_tenant(made.tenant).count() == 4
    assert {p.name.split(".")[0] for p in blob_files()} == {hashlib.sha256(b"deep").hexdigest()}


def test_unreferenced_blobs_wait_for_the_grace_period(make_tenant, settings):
    made = make_tenant()
    settings.BLOB_GRACE_HOURS = 24
    write(made, "/f", b"bytes")
    services.node_delete(tenant=made.tenant, path="/f", acting_user=None)
    with time_machine.travel(timezone.now() + RETENTION + timedelta(hours=1), tick=False):
        expiry.expiry_run(hub_code="uk")
    assert Blob.objects.for_tenant(made.tenant).count() == 0
    assert blob_files() == []


def test_collector_racing_an_upload_of_the_same_bytes_never_loses_them(make_tenant, settings, monkeypatch):
    """The upload decides to reuse the blob, the collector removes it before the
    upload's transaction: the upload writes the bytes again and the file is whole.
    (A body over WRITE_FIRST_BYTES: a smaller one is written before the question.)"""
    same = b"same content" * 6_000
    assert len(same) > files.WRITE_FIRST_BYTES
    made = make_tenant()
    settings.BLOB_GRACE_HOURS = 0
    write(made, "/a", same)
    services.node_delete(tenant=made.tenant, path="/a", acting_user=None)
    NodeVersion.objects.for_tenant(made.tenant).filter(blob__isnull=False).delete()  # as if expired

    original_exists = files.blob_exists
    calls = []

    def exists_then_collect(**kwargs):
        answer = original_exists(**kwargs)
        calls.append(answer)
        if len(calls) == 1:
            assert answer is True
            assert expiry.blobs_collect(hub_code="uk")[0] == 1  # the collector strikes in between
        return answer

    monkeypatch.setattr(files, "blob_exists", exists_then_collect)
    version = write(made, "/b", same)
    with blob_open(tenant=made.tenant, blob=version.blob) as f:
        assert f.read() == same
    assert calls == [True, False], "the upload noticed and wrote the bytes itself"
    assert len(blob_files()) == 2  # the new generation, in both facilities


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_collector_and_uploads_in_parallel_threads_keep_every_referenced_blob(make_tenant, settings):
    """Each round leaves a blob nothing references (its history expired), then
    uploads the same bytes again while a collector thread sweeps in a loop."""
    made = make_tenant()
    settings.BLOB_GRACE_HOURS = 0
    errors: list[BaseException] = []

    def collect_loop(stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                expiry.blobs_collect(hub_code="uk")
                stop.wait(0.001)  # let the uploading thread take the database between sweeps
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    for round_number in range(15):
        content = f"raced bytes {round_number}".encode()
        first = write(made, f"/r{round_number}", content)
        services.node_delete(tenant=made.tenant, path=f"/r{round_number}", acting_user=None)
        NodeVersion.objects.for_tenant(made.tenant).filter(blob_id=first.blob_id).delete()  # its history expired
        stop = threading.Event()
        collector = threading.Thread(target=collect_loop, args=(stop,))
        collector.start()
        try:
            version = write(made, f"/again{round_number}", content)
        finally:
            stop.set()
            collector.join()
        assert not errors, errors
        blob = Blob.objects.for_tenant(made.tenant).get(pk=version.blob_id)
        with blob_open(tenant=made.tenant, blob=blob) as f:
            assert f.read() == content


@pytest.mark.parametrize(
    ("error", "bytes_stay"),
    [
        (OperationalError("server closed the connection unexpectedly"), True),
        (InterfaceError("connection already closed"), True),
        (RuntimeError("refused before the commit"), False),
    ],
)
def test_a_write_whose_commit_may_have_happened_keeps_its_bytes(make_tenant, monkeypatch, error, bytes_stay):
    """A connection that breaks around COMMIT leaves the outcome unknown (a
    synchronous standby may hold the row): the bytes stay, or a committed row
    would have no content. A failure known to roll back removes them."""
    made = make_tenant()

    def step_fails(**kwargs):
        raise error

    monkeypatch.setattr(files, "_file_write_step", step_fails)
    with pytest.raises(type(error)):
        write(made, "/in-doubt.bin", b"written, then the database went away")
    assert len(blob_files()) == (2 if bytes_stay else 0), "both facilities' copies, or none"
