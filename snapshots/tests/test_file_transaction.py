"""The emulated file transaction through the real worker: the restore runs on
the hub's queue, the bytes read back are hashed and compared, and a broken
facility or corrupted bytes fail it with the step named."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hubs.models import Tenant
from hubs.monitoring.probes import Probe, probes_for
from hubs.storage import facility_storage
from snapshots.models import Blob, NodeVersion, RestoreJob
from snapshots.services.file_transaction import file_transaction_check, transaction_begin, transaction_pending
from snapshots.services.probe_tenant import probe_tenant_ensure

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


@pytest.fixture
def worker_time(settings) -> None:
    settings.HUBPORT_PROBE_FILE_TRANSACTION_SECONDS = 20.0


def transaction_probe(hub_code: str) -> Probe:
    return next(probe for probe in probes_for(hub_code) if probe.name == "file_transaction")


def test_the_transaction_runs_through_the_real_restore_task_and_compares_the_bytes(celery_worker, worker_time) -> None:
    probe = transaction_probe("hk")
    assert (probe.component, probe.severity, probe.timeout_seconds) == ("file_transaction", "critical", 60.0)

    first = probe.run()

    assert first.ok, first.detail
    tenant = Tenant.objects.get(hub_id="hk", is_probe=True)
    jobs = list(RestoreJob.objects.for_tenant(tenant).order_by("pk"))
    assert len(jobs) == 2  # the one finished now, the next one queued for the next round
    assert first.detail.startswith(f"job {jobs[0].pk} restored in ")
    assert "4096 bytes read back, sha256 matched" in first.detail
    assert first.detail.endswith(f"job {jobs[1].pk} queued for the next round")
    assert "probe-" not in first.detail  # ids only, never the file's name
    assert any(finished.get("queue") == "hub.hk" for finished in celery_worker.finished.values())
    assert RestoreJob.objects.for_tenant(tenant).get(pk=jobs[0].pk).state == RestoreJob.State.SUCCEEDED

    second = probe.run()  # finishes the job the first call queued

    assert second.ok, second.detail
    assert second.detail.startswith(f"job {jobs[1].pk} restored in ")
    # Cleaned up: only the transaction now queued has a file (in Recently deleted, waiting for its restore).
    files = NodeVersion.objects.for_tenant(tenant).exclude(name="").values_list("node_id", flat=True).distinct()
    assert len(set(files)) == 1
    assert Blob.objects.for_tenant(tenant).count() == 1


def test_corrupted_bytes_fail_the_compare_step(celery_worker, worker_time) -> None:
    tenant = probe_tenant_ensure(hub_code="ae")
    begun = transaction_begin(tenant=tenant)
    # The restore brings back the same blob, so bytes corrupted now are what it reads.
    blob = Blob.objects.for_tenant(tenant).get()
    for role in ("primary", "alternate"):
        Path(facility_storage("ae", role).path(blob.storage_key)).write_bytes(b"x" * blob.size)

    found = file_transaction_check("ae")

    assert not found.ok
    # blob_open verifies a whole read: the read that would complete wrong bytes fails.
    assert found.detail.startswith("step download: BlobCopyMismatch")
    assert transaction_pending(tenant=tenant).job.pk != begun.job.pk  # purged, and the next one begun


def test_a_primary_facility_that_is_a_file_fails_the_upload_step(celery_worker, worker_time) -> None:
    folder = Path(facility_storage("de", "primary").location)
    if folder.exists():
        shutil.rmtree(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.write_bytes(b"not a folder")

    outcome = transaction_probe("de").run()

    assert not outcome.ok
    assert outcome.detail == "step upload: FacilityUnavailable"


def test_without_a_worker_on_the_hubs_queue_the_restore_step_fails_saying_so(celery_worker) -> None:
    # The test settings allow 3 s.
    with celery_worker.queue_unserved("hub.us"):
        outcome = transaction_probe("us").run()

    assert not outcome.ok
    assert outcome.detail.startswith("step restore: job ")
    assert "(no worker of hub.us ran it in 3 s)" in outcome.detail


def test_a_restore_committing_between_the_two_reads_still_finds_the_transaction(celery_worker, monkeypatch) -> None:
    """The race CI met: the worker's restore committed between the prober's read of
    the tree and its read of Recently deleted, so the file was in neither and a
    transaction whose restore had succeeded was abandoned. The restore is run
    here right after the first of the two reads, whichever it is."""
    from snapshots import selectors
    from snapshots.services import file_transaction
    from snapshots.services.restore_runs import restore_run

    tenant = probe_tenant_ensure(hub_code="au")
    ran: list[int] = []

    def restore_after(read):  # type: ignore[no-untyped-def]
        def wrapped(**kwargs):  # type: ignore[no-untyped-def]
            try:
                return read(**kwargs)
            finally:
                if not ran:
                    ran.append(begun.job.pk)
                    restore_run(tenant=tenant, job_id=begun.job.pk)

        return wrapped

    monkeypatch.setattr(selectors, "node_at_path", restore_after(selectors.node_at_path))
    monkeypatch.setattr(file_transaction, "trash_item_at_path", restore_after(file_transaction.trash_item_at_path))

    with celery_worker.queue_unserved("hub.au"):  # the restore runs where the test says, not before
        begun = transaction_begin(tenant=tenant)
        pending = transaction_pending(tenant=tenant)

    assert ran == [begun.job.pk]
    assert RestoreJob.objects.for_tenant(tenant).get(pk=begun.job.pk).state == RestoreJob.State.SUCCEEDED
    assert pending is not None and pending.job.pk == begun.job.pk
