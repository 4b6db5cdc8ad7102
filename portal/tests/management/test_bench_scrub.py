"""bench_scrub runs small and prints every figure it promises, consistent
with the files it made."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from conftest import all_databases
from hubs.models import Tenant
from portal.management.commands.bench_scrub import LARGEST_FILE, file_sizes
from snapshots.models import Blob

pytestmark = all_databases


def test_the_scrub_benchmark_prints_both_throughputs_over_the_same_bytes(make_tenant):
    make_tenant()  # the hubs are seeded
    out = StringIO()
    call_command("bench_scrub", "--json", files=6, mib=1, runs=1, hub="nz", stdout=out)
    figures = json.loads(out.getvalue())
    assert set(figures) == {"scrub_mib_s", "sha256sum_mib_s", "ratio", "files", "bytes", "database"}
    tenant = Tenant.objects.get(slug__startswith="bench-", hub_id="nz")
    stored = sum(Blob.objects.for_tenant(tenant).values_list("size", flat=True))
    assert figures["files"] == 6 and figures["bytes"] == 2 * stored, "both copies of every file"
    assert figures["scrub_mib_s"] > 0 and figures["sha256sum_mib_s"] > 0
    assert figures["ratio"] == pytest.approx(figures["scrub_mib_s"] / figures["sha256sum_mib_s"], rel=0.05)
    assert figures["database"].startswith("django.db.backends.")


def test_the_sizes_are_a_long_tail_that_adds_up():
    sizes = file_sizes(files=400, total=512 * 1024 * 1024)
    assert len(sizes) == 400 and all(1 <= size <= LARGEST_FILE for size in sizes)
    assert abs(sum(sizes) - 512 * 1024 * 1024) < 0.2 * 512 * 1024 * 1024
    ordered = sorted(sizes)
    assert ordered[len(ordered) // 2] * 5 < ordered[-1], "a few files much larger than the median"
