"""The drill's hard limit: past it the drill stops, says in which stage, fails,
and leaves no cluster running and only its logs behind. Needs the machine's
PostgreSQL binaries (the whole drill runs as CI's own stage, `make dr-drill`)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from hubs.testing.pg_clusters import binaries_available
from portal.drill.runner import DrillOptions, run_drill

needs_binaries = pytest.mark.skipif(not binaries_available(), reason="needs PostgreSQL 15 binaries (HUBPORT_PG_BIN)")


@needs_binaries
def test_past_its_hard_limit_the_drill_fails_naming_the_stage_and_stops_its_clusters():
    said: list[str] = []
    # One second: the clusters stage starts in time and outlasts it.
    report = run_drill(DrillOptions(timeout_s=1.0), progress=said.append)

    assert report["ok"] is False
    assert report["error"] == "the drill passed its hard limit of 1 s in stage migrate"
    json.dumps(report)  # the command prints it as JSON
    folder = Path(report["folder"])
    assert not (folder / "pg").exists() and not (folder / "data").exists()
    running = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout  # noqa: S607
    assert str(folder) not in running
    assert any("clusters done" in line for line in said)
    shutil.rmtree(folder)


def test_a_stage_without_its_drills_folder_is_refused_with_what_it_needs():
    with pytest.raises(CommandError, match="needs that drill's --workdir"):
        call_command("dr_drill", "--stage", "verify")


def test_a_failed_drill_reports_the_workers_last_lines_past_its_banner(tmp_path):
    from portal.drill.runner import _log_tail

    log = tmp_path / "worker.log"
    assert _log_tail(log) == []  # the worker never started
    log.write_text(
        " -------------- celery@vm v5.7.0\n"
        " -------------- [queues]\n"
        "                .> hub.uk           exchange=control(direct) key=hub.uk\n"
        "\n"
        "[tasks]\n"
        "  . snapshots.tasks.restore_run_task\n"
        + "".join(f"2026-12-01 16:17:{second:02d},000 INFO celery.app.trace Task ok {second}\n" for second in range(50))
        + "2026-12-01 16:17:55,000 ERROR celery.app.trace Task restore_run_task raised RestoreInterrupted\n"
        + "Traceback (most recent call last):\n"
    )
    tail = _log_tail(log, lines=3)
    assert tail == [
        "2026-12-01 16:17:49,000 INFO celery.app.trace Task ok 49",
        "2026-12-01 16:17:55,000 ERROR celery.app.trace Task restore_run_task raised RestoreInterrupted",
        "Traceback (most recent call last):",
    ]
    assert not any(
        word in line for line in _log_tail(log, lines=100) for word in ("[queues]", "exchange=", "[tasks]", "  . ")
    )
