"""bench_scale runs at a smoke-test size and prints every figure it promises,
with the comparison against the smaller tenant."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from portal.management.commands.bench_scale import COMPARED

# Committed for real: the restore's lease thread writes its job row from a connection of its own,
# which a test's open transaction would keep waiting on PostgreSQL.
pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)

FIGURES = {
    "snapshot_ms",
    "list_10k_p95_ms",
    "trash_page_p95_ms",
    "snapshots_page_p95_ms",
    "snapshots_page_bytes",
    "search_p95_ms",
    "restore_everything_files_per_s",
    "expiry_rows_per_s",
    "hub_db_bytes",
}


def test_the_scale_benchmark_prints_every_figure_at_both_sizes(make_tenant):
    make_tenant()  # the hubs are seeded
    out = StringIO()
    call_command("bench_scale", files=2000, compare=200, json=True, runs=3, stdout=out)
    figures = json.loads(out.getvalue())
    small = figures["at_compare"]
    assert FIGURES <= set(figures) and FIGURES <= set(small)
    assert (figures["files"], figures["compare"]) == (2000, 200)
    assert set(figures["ratios"]) == set(COMPARED)
    for row in (figures, small):
        assert all(row[key] > 0 for key in FIGURES)
        # Four weeks of hourly snapshots and the manual ones, and the benchmark's own 20.
        assert 740 <= row["snapshots_in_retention"] <= 800
        # A page of 50, not the 760 of the retention (they were 650-770 KiB).
        assert row["snapshots_page_bytes"] < 150_000
    # 1 % of the files deleted item by item; everything else restored after everything was deleted.
    assert figures["deleted_items"] == (2000 - 1000) // 100
    assert figures["restore_everything_files"] == 2000 - figures["deleted_items"]
    assert figures["expiry_rows"] >= 2000
    assert isinstance(figures["not_flat"], list) and isinstance(figures["pages_over_200ms"], list)
    # Each size in a hub of its own, so expiry (hub by hub) measures one tenant's rows.
    assert (small["hub"], figures["hub"]) == ("de", "uk")


def test_reads_only_leaves_the_restore_and_expiry_out(make_tenant):
    make_tenant()
    out = StringIO()
    call_command("bench_scale", files=400, compare=0, json=True, runs=2, reads_only=True, stdout=out)
    figures = json.loads(out.getvalue())
    assert figures["trash_page_p95_ms"] > 0 and figures["snapshots_page_bytes"] > 0
    assert "restore_everything_files_per_s" not in figures and "expiry_rows_per_s" not in figures
    assert "ratios" not in figures


def test_a_compared_size_must_be_smaller(make_tenant):
    with pytest.raises(CommandError, match="smaller"):
        call_command("bench_scale", files=200, compare=2000, json=True, stdout=StringIO())
