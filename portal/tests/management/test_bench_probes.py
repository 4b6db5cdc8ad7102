"""bench_probes runs a full round of every hub and the control plane, measures
uptime's storage inside a rolled-back transaction, and prints every figure."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from hubs.models import HubUptimeDay, ProbeFlip, ProbeResult

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


def test_bench_probes_prints_its_figures_and_leaves_no_simulated_rows(make_tenant, celery_worker, settings) -> None:
    # The session's worker consumes every queue (a subprocess worker would not
    # know the test databases), so the worker pings and file transactions pass.
    settings.HUBPORT_PROBE_WORKER_WAIT_SECONDS = 15.0
    settings.HUBPORT_PROBE_FILE_TRANSACTION_SECONDS = 30.0
    make_tenant()  # the hubs are seeded
    out = StringIO()
    call_command("bench_probes", "--json", "--no-worker", days=2, flips=4, stdout=out)
    figures = json.loads(out.getvalue())
    assert {"round_s", "probes", "bytes_per_hub_day", "per_year_7_hubs_mb"} <= set(figures)
    assert figures["probes"] == ProbeResult.objects.count() >= 100
    assert not [name for name in figures["failed_probes"] if "workers" in name or "file_transaction" in name]
    assert set(figures["rounds_s"]) == {"uk", "de", "us", "ae", "hk", "au", "nz", "control"}
    assert figures["bytes_per_hub_day"] > 360, "two 180-byte bitmaps at least"
    assert figures["per_year_7_hubs_mb"] == round(figures["bytes_per_hub_day"] * 7 * 365 / 1e6, 2)
    # The rounds left today's minute for each hub; the simulated days were rolled back.
    assert 7 <= HubUptimeDay.objects.count() <= 14  # 14 if the rounds straddle midnight UTC
    assert not ProbeFlip.objects.filter(at__year=2000).exists()
