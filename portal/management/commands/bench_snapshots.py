"""Benchmark of snapshots, restores and expiry. Prints one JSON object.

Run it on a scratch data folder: it makes tenants named bench-<hex> and leaves
them there. ``--quick`` runs every part at a reduced size (CI runs it on
PostgreSQL): the figures keep their names, and ``quick`` says so.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from hubs.models import Tenant
from hubs.routing import hub_database_alias
from hubs.storage import facility_storage
from portal.benchmarks import SNAPSHOT_TARGETS, bench_tenant, bulk_tree, distinct_blobs, emit, median, targets_check
from snapshots import expiry, selectors, services
from snapshots.models import NodeVersion, RestoreJob, Snapshot, TenantClock
from snapshots.services import RestoreRequest
from snapshots.statistics import hub_statistics_refresh

PARTS = ("preview", "restore_file", "restore_one_job", "restore_folder", "restore_distinct", "rewind", "expiry")

# The full run and --quick (seconds, still every part): option -> (full, quick);
# a value given on the command line wins.
SIZES = {
    "sizes": ("1000,10000,100000", "1000,10000"),
    "folder_files": (10_000, 2_000),
    "runs": (20, 5),
}


def stored_bytes(hub_code: str) -> int:
    total = 0
    for role in settings.FACILITY_ROLES:
        storage = facility_storage(hub_code, role)
        assert isinstance(storage, FileSystemStorage)  # the benchmark runs on the embedded default's folders
        root = Path(storage.location)
        if root.exists():
            total += sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    return total


class Command(BaseCommand):
    help = "Measure snapshots, restores and expiry at several tenant sizes; prints JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true")
        parser.add_argument("--quick", action="store_true", help="Every part at a reduced size (seconds).")
        parser.add_argument(
            "--gross-factor",
            type=float,
            default=None,
            help="Exit non-zero when a figure misses its target by more than this factor (CI: a gross regression).",
        )
        parser.add_argument("--sizes")
        parser.add_argument("--folder-files", type=int)
        parser.add_argument("--runs", type=int)
        parser.add_argument(
            "--parts",
            default=",".join(PARTS),
            help=f"Comma-separated parts to measure, of {', '.join(PARTS)} (default: all). The snapshot "
            "sizes are always built: every other part measures the largest tenant.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        for option, sizes in SIZES.items():
            if options[option] is None:
                options[option] = sizes[1] if options["quick"] else sizes[0]
        # The restores' "finished" emails would land on stdout with the console backend.
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
            self._measure(options)

    def _measure(self, options: dict) -> None:
        sizes = [int(size) for size in options["sizes"].split(",")]
        parts = set(options["parts"].split(","))
        if unknown := parts - set(PARTS):
            raise CommandError(f"Unknown part(s): {', '.join(sorted(unknown))}; use {', '.join(PARTS)}.")
        figures: dict = {"database": settings.DATABASES["hub_uk"]["ENGINE"], "snapshot_ms": {}}
        largest = None
        bytes_before = stored_bytes("uk")
        for size in sizes:
            tenant, user = bench_tenant()
            bulk_tree(tenant=tenant, user=user, folder="/data", files=size)
            # A real tenant this size has had its statistics refreshed (hourly, or by autovacuum) since it
            # grew; right after a bulk load PostgreSQL's planner scans (a one-file restore: 880 ms, not 150).
            hub_statistics_refresh(hub_code=tenant.hub_id)
            samples = []
            for _ in range(options["runs"]):
                started = time.perf_counter()
                snapshot = services.snapshot_create(tenant=tenant, acting_user=user)
                samples.append((time.perf_counter() - started) * 1000)
            assert snapshot.file_count == size + 1  # the files and the seed file
            figures["snapshot_ms"][str(size)] = round(median(samples), 3)
            largest = (tenant, user, snapshot)
        # bulk_tree wrote one 1 KiB seed file per tenant in both facilities; snapshots wrote nothing.
        figures["snapshot_bytes_written"] = stored_bytes("uk") - bytes_before - 2 * 1024 * len(sizes)
        smallest, biggest = figures["snapshot_ms"][str(sizes[0])], figures["snapshot_ms"][str(sizes[-1])]
        figures["snapshot_ratio_largest_to_smallest"] = round(biggest / smallest, 2) if smallest else None
        figures["snapshot_ms_max"] = max(figures["snapshot_ms"].values())

        assert largest is not None  # --sizes names at least one size
        tenant, user, snapshot = largest
        if "preview" in parts:
            figures["preview_everything_ms"], figures["preview_items"] = self._preview_everything(tenant, snapshot)
        if "restore_file" in parts:
            # The median of 5 deleted files (restore_one_job takes files 1 to 10 of the same folder):
            # one sample was mostly the first statement's cold cache on PostgreSQL.
            samples = []
            for number in (0, 11, 12, 13, 14):
                path = f"/data/part00000/file00000-{number:06d}.bin"
                services.node_delete(tenant=tenant, path=path, acting_user=user)
                started = time.perf_counter()
                job = services.restore_start(
                    tenant=tenant, acting_user=user, request=RestoreRequest(snapshot_id=snapshot.pk, paths=(path,))
                )
                services.restore_run(tenant=tenant, job_id=job.pk)
                samples.append((time.perf_counter() - started) * 1000)
            figures["restore_file_ms"] = round(median(samples), 2)
        if "restore_one_job" in parts:
            figures.update(self._restore_one_job(tenant, user, snapshot))
        if "restore_folder" in parts:
            figures["restore_folder_files_per_s"] = self._restore_folder_through_worker(options["folder_files"])
        if "restore_distinct" in parts:
            figures.update(self._restore_distinct_through_worker(options["folder_files"]))
        if "rewind" in parts:
            figures.update(self._rewind_folder_through_worker(options["folder_files"]))
        if "expiry" in parts:
            figures["expiry_rows_per_s"], figures["expiry_rows"] = self._expiry(tenant)
        figures["quick"] = options["quick"]
        gross = targets_check(figures, SNAPSHOT_TARGETS, gross_factor=options["gross_factor"] or float("inf"))
        emit(figures, options["json"], self.stdout)
        if gross:
            raise CommandError(f"Far off target (over {options['gross_factor']:g} times): {', '.join(gross)}")

    def _preview_everything(self, tenant: Tenant, snapshot: Snapshot) -> tuple[float, int]:
        """The restore dialog's preview of "restore everything" from the largest
        snapshot: read only, so the median of 5 runs (each reads every item)."""
        samples = []
        for _ in range(5):
            started = time.perf_counter()
            preview = services.restore_preview(tenant=tenant, request=RestoreRequest(snapshot_id=snapshot.pk))
            samples.append((time.perf_counter() - started) * 1000)
        return round(median(samples), 1), preview.total_items

    def _rewind_folder_through_worker(self, files: int) -> dict[str, float]:
        """A folder of ``files`` files rewound ("exactly as it was") through a real
        worker: a tenth of them made since (they go to Recently deleted) and a
        part of 1,000 deleted since (it comes back); its preview first."""
        tenant, user = bench_tenant()
        bulk_tree(tenant=tenant, user=user, folder="/folder", files=files)
        snapshot = services.snapshot_create(tenant=tenant, acting_user=user)
        bulk_tree(tenant=tenant, user=user, folder="/made-since", files=files // 10)  # top level only: moved in
        services.node_move(tenant=tenant, from_path="/made-since", to_path="/folder/made-since", acting_user=user)
        services.node_delete(tenant=tenant, path="/folder/part00000", acting_user=user)
        request = RestoreRequest(snapshot_id=snapshot.pk, paths=("/folder",), mode=RestoreJob.Mode.EXACT)
        started = time.perf_counter()
        preview = services.restore_preview(tenant=tenant, request=request)
        preview_ms = (time.perf_counter() - started) * 1000
        job, elapsed = self._through_worker(tenant, user, request)
        if job.state != RestoreJob.State.SUCCEEDED or job.removed != preview.counts["removed"]:
            raise RuntimeError(f"rewind ended {job.state} with {job.removed} removed")
        return {
            "rewind_preview_ms": round(preview_ms, 1),
            "rewind_items": job.total_items,
            "rewind_removed_files": preview.totals["removed"]["files"],
            "rewind_items_per_s": round(job.total_items / elapsed, 1),
        }

    def _through_worker(self, tenant: Tenant, user: Any, request: RestoreRequest) -> tuple[RestoreJob, float]:
        """Start a restore and wait for a real worker to end it: the job and the seconds it took."""
        from celery.contrib.testing.worker import start_worker

        from portal.celery import all_queue_names, app

        jobs = RestoreJob.objects.for_tenant(tenant)
        with start_worker(app, queues=all_queue_names(), pool="solo", perform_ping_check=False, loglevel="WARNING"):
            started = time.perf_counter()
            with transaction.atomic(using=hub_database_alias(tenant.hub_id)):
                job = services.restore_start(tenant=tenant, acting_user=user, request=request)
            deadline = time.monotonic() + 600
            while not jobs.get(pk=job.pk).is_finished:
                if time.monotonic() > deadline:
                    raise RuntimeError("the restore did not finish in 10 minutes")
                time.sleep(0.005)
            elapsed = time.perf_counter() - started
        return jobs.get(pk=job.pk), elapsed

    def _restore_one_job(self, tenant: Tenant, user: Any, snapshot: Snapshot, runs: int = 10) -> dict[str, float]:
        """One deleted file restored through the API (Django's test client):
        from the request to the job finished as the job's API shows it (the
        answer to the request, else polling its URL), with a real worker running
        in case the job is queued. Median and slowest of ``runs`` files."""
        from celery.contrib.testing.worker import start_worker
        from django.test import Client

        from portal.celery import all_queue_names, app
        from portal.tokens import api_token_create

        _, token = api_token_create(user=user, tenant=tenant, name="bench")
        client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
        samples = []
        with start_worker(app, queues=all_queue_names(), pool="solo", perform_ping_check=False, loglevel="WARNING"):
            for run in range(runs):
                path = f"/data/part00000/file00000-{run + 1:06d}.bin"
                services.node_delete(tenant=tenant, path=path, acting_user=user)
                started = time.perf_counter()
                response = client.post(
                    "/api/v1/restores/", {"snapshot": snapshot.pk, "paths": [path]}, content_type="application/json"
                )
                if response.status_code != 202:
                    raise RuntimeError(f"the restore was refused: {response.status_code}")
                job = response.json()
                deadline = time.monotonic() + 60
                while job["finished_at"] is None:
                    if time.monotonic() > deadline:
                        raise RuntimeError("the one-file restore did not finish in a minute")
                    time.sleep(0.002)
                    job = client.get(f"/api/v1/restores/{job['id']}").json()
                samples.append((time.perf_counter() - started) * 1000)
                if job["state"] != RestoreJob.State.SUCCEEDED or job["summary"]["restored"] != 1:
                    raise RuntimeError(f"the one-file restore ended {job['state']}")
        return {"restore_one_job_ms": round(median(samples), 1), "restore_one_job_max_ms": round(max(samples), 1)}

    def _restore_distinct_through_worker(self, files: int) -> dict[str, float]:
        """A folder of ``files`` files of 1 KiB, each its own content, restored
        through a real worker (every blob's presence is checked), beside
        ``cp -a`` of the same files' bytes on the same disk."""
        tenant, user = bench_tenant()
        bulk_tree(
            tenant=tenant, user=user, folder="/folder", files=files, contents=distinct_blobs(tenant=tenant, count=files)
        )
        hub_statistics_refresh(hub_code=tenant.hub_id)
        snapshot = services.snapshot_create(tenant=tenant, acting_user=user)
        services.node_delete(tenant=tenant, path="/folder", acting_user=user)
        request = RestoreRequest(snapshot_id=snapshot.pk, paths=("/folder",))
        job, elapsed = self._through_worker(tenant, user, request)
        if job.state != RestoreJob.State.SUCCEEDED or job.restored < files:
            raise RuntimeError(f"restore ended {job.state} with {job.restored} restored")
        storage = facility_storage(tenant.hub_id, "primary")
        assert isinstance(storage, FileSystemStorage)  # the benchmark runs on the embedded default's folders
        source = Path(storage.path(f"t{tenant.pk}/blobs"))
        with tempfile.TemporaryDirectory(dir=settings.DATA_DIR) as scratch:
            started = time.perf_counter()
            subprocess.run(["cp", "-a", str(source), str(Path(scratch) / "copy")], check=True)  # noqa: S603, S607
            cp_seconds = time.perf_counter() - started
        return {
            "restore_folder_distinct_files_per_s": round(files / elapsed, 1),
            "cp_a_distinct_files_per_s": round(files / cp_seconds, 1),
        }

    def _restore_folder_through_worker(self, files: int) -> float:
        tenant, user = bench_tenant()
        bulk_tree(tenant=tenant, user=user, folder="/folder", files=files)
        hub_statistics_refresh(hub_code=tenant.hub_id)
        snapshot = services.snapshot_create(tenant=tenant, acting_user=user)
        services.node_delete(tenant=tenant, path="/folder", acting_user=user)
        request = RestoreRequest(snapshot_id=snapshot.pk, paths=("/folder",))
        job, elapsed = self._through_worker(tenant, user, request)
        if job.state != RestoreJob.State.SUCCEEDED or job.restored < files:
            raise RuntimeError(f"restore ended {job.state} with {job.restored} restored")
        assert selectors.live_usage(tenant=tenant).live_files >= files
        return round(files / elapsed, 1)

    def _expiry(self, tenant: Tenant) -> tuple[float, int]:
        """Every live row of the largest tenant replaced once (bulk), then expired."""
        versions = NodeVersion.objects.for_tenant(tenant)
        now = timezone.now()
        with transaction.atomic(using=hub_database_alias(tenant.hub_id)):
            clock = TenantClock.objects.for_tenant(tenant).select_for_update().get()
            seq = clock.seq + 1
            live = list(versions.filter(valid_to__isnull=True, kind="file"))
            versions.filter(pk__in=[v.pk for v in live]).update(valid_to=seq, closed_at=now, closed_by_action="replace")
            for row in live:
                row.pk = None
                row.valid_from = seq
            versions.bulk_create(live, batch_size=5000)
            TenantClock.objects.for_tenant(tenant).filter(pk=clock.pk).update(seq=seq)
        started = time.perf_counter()
        report = expiry.expiry_run(
            hub_code=tenant.hub_id, now=now + timedelta(days=settings.SNAPSHOT_RETENTION_DAYS, minutes=1)
        )
        elapsed = time.perf_counter() - started
        return round(report.versions / elapsed, 1), report.versions
