"""bench_snapshots runs, on tiny sizes, and prints every figure it promises."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from conftest import all_databases

pytestmark = all_databases


def test_the_snapshot_benchmark_prints_the_preview_of_restoring_everything(make_tenant):
    make_tenant()  # the hubs are seeded
    out = StringIO()
    # The worker-driven folder restore is left out: it starts a Celery worker of its own.
    call_command("bench_snapshots", "--json", sizes="5,20", runs=1, parts="preview,restore_file,expiry", stdout=out)
    figures = json.loads(out.getvalue())
    assert figures["preview_items"] == 20 + 1 + 1 + 1  # the files, their folder, /data, the seed file
    assert figures["preview_everything_ms"] > 0
    assert {"snapshot_ms", "restore_file_ms", "expiry_rows_per_s"} <= set(figures)
    assert "restore_folder_files_per_s" not in figures


def test_an_unknown_part_is_refused(make_tenant):
    with pytest.raises(CommandError, match="Unknown part"):
        call_command("bench_snapshots", "--json", sizes="5", runs=1, parts="preview,guesswork", stdout=StringIO())


def test_every_measured_figure_is_printed_with_its_target(make_tenant):
    make_tenant()
    out = StringIO()
    call_command("bench_snapshots", "--json", sizes="5,20", runs=1, parts="preview,expiry", stdout=out)
    figures = json.loads(out.getvalue())
    assert figures["quick"] is False
    assert set(figures["targets"]) == {
        "snapshot_ms_max",
        "snapshot_ratio_largest_to_smallest",
        "snapshot_bytes_written",
        "preview_everything_ms",
        "expiry_rows_per_s",
    }
    assert figures["targets"]["expiry_rows_per_s"] == {
        "value": figures["expiry_rows_per_s"],
        "target": ">= 50000",
        "met": figures["expiry_rows_per_s"] >= 50000,
    }
    assert figures["targets_missed"] == sorted(k for k, v in figures["targets"].items() if not v["met"])


def test_a_figure_far_off_its_target_fails_the_run_after_printing_it(make_tenant):
    make_tenant()
    out = StringIO()
    # A factor this small makes every figure above zero "far off".
    with pytest.raises(CommandError, match="Far off target"):
        call_command("bench_snapshots", "--json", sizes="5", runs=1, parts="preview", gross_factor=1e-9, stdout=out)
    assert "preview_everything_ms" in json.loads(out.getvalue())["targets"]
