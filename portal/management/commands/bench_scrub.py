"""Benchmark of scrub against ``sha256sum`` over the same files. Prints one
JSON object: ``{"scrub_mib_s", "sha256sum_mib_s", "ratio", "files", "bytes",
"database"}``; the target is a ratio of at least 0.8.

A bench tenant gets ``--files`` files of realistic sizes (log-normal around
256 KiB, a few of several MiB, none over 64 MiB; ``--mib`` in all) uploaded
through the store, so both facilities hold a copy of each. The copies are read
once first, so both measurements find them in the page cache and compare
hashing and reading, not the disk; then an unbounded scrub pass of that tenant
and ``sha256sum`` over the same copies run ``--runs`` times in turn, and the
best run of each counts. Run it on a scratch data folder: it leaves the tenant
(``bench-<hex>``) there.
"""

from __future__ import annotations

import io
import random
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.core.management.base import BaseCommand, CommandError, CommandParser

from hubs.storage import facility_storage
from portal.benchmarks import bench_tenant, emit
from snapshots import services
from snapshots.models import Blob
from snapshots.scrub import MIB, scrub_pass

LARGEST_FILE = 64 * MIB
# Paths handed to one sha256sum: well under any argument-length limit.
PATHS_PER_CALL = 500


def file_sizes(*, files: int, total: int, seed: int = 11) -> list[int]:
    """``files`` sizes adding up to about ``total``, log-normal like a file
    server's (most small, a long tail), none over LARGEST_FILE, none empty."""
    draw = random.Random(seed)  # noqa: S311 - sizes for a benchmark, not secrets
    raw = [draw.lognormvariate(0, 1.6) for _ in range(files)]
    scale = total / sum(raw)
    return [max(1, min(LARGEST_FILE, int(value * scale))) for value in raw]


def sha256sum_seconds(program: str, paths: list[Path]) -> float:
    started = time.perf_counter()
    for first in range(0, len(paths), PATHS_PER_CALL):
        subprocess.run(  # noqa: S603 - a fixed program over our own files
            [program, *map(str, paths[first : first + PATHS_PER_CALL])],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return time.perf_counter() - started


class Command(BaseCommand):
    help = "Measure scrub's throughput beside sha256sum over the same copies; prints JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true")
        parser.add_argument("--hub", default="uk", choices=settings.HUB_CODES)
        parser.add_argument("--files", type=int, default=400)
        parser.add_argument("--mib", type=int, default=512, help="Total size of the files (each is stored twice).")
        parser.add_argument("--runs", type=int, default=3)

    def handle(self, *args: Any, **options: Any) -> None:
        program = shutil.which("sha256sum")
        if program is None:
            raise CommandError("sha256sum is not installed; the benchmark compares scrub with it.")
        hub = options["hub"]
        tenant, user = bench_tenant(hub_code=hub)
        draw = random.Random(7)  # noqa: S311 - file contents for a benchmark
        for number, size in enumerate(file_sizes(files=options["files"], total=options["mib"] * MIB)):
            services.file_write(
                tenant=tenant,
                path=f"/bench/f{number:05d}.bin",
                stream=io.BytesIO(draw.randbytes(size)),
                content_length=size,
                acting_user=user,
            )
        copies = []
        for role in settings.FACILITY_ROLES:
            storage = facility_storage(hub, role)
            if not isinstance(storage, FileSystemStorage):
                raise CommandError("The benchmark runs on facility folders (the embedded default's storage).")
            copies += [Path(storage.path(blob.storage_key)) for blob in Blob.objects.for_tenant(tenant)]
        total = sum(path.stat().st_size for path in copies)
        sha256sum_seconds(program, copies)  # into the page cache, for both
        scrub_best = sha256sum_best = float("inf")
        for _ in range(options["runs"]):
            result = scrub_pass(hub_code=hub, tenant_id=tenant.pk)
            if result.bytes != total or result.findings:
                raise CommandError(f"The scrub read {result.bytes} of {total} bytes, with findings: not a clean run.")
            scrub_best = min(scrub_best, result.seconds)
            sha256sum_best = min(sha256sum_best, sha256sum_seconds(program, copies))
        scrub_mib_s = total / MIB / scrub_best
        sha256sum_mib_s = total / MIB / sha256sum_best
        figures = {
            "scrub_mib_s": round(scrub_mib_s, 1),
            "sha256sum_mib_s": round(sha256sum_mib_s, 1),
            "ratio": round(scrub_mib_s / sha256sum_mib_s, 3),
            "files": len(copies) // len(settings.FACILITY_ROLES),
            "bytes": total,
            "database": settings.DATABASES[f"hub_{hub}"]["ENGINE"],
        }
        emit(figures, options["json"], self.stdout)
