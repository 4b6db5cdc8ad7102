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
