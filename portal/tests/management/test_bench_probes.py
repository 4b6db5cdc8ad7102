"""bench_probes runs a full round of every hub and the control plane, measures
uptime's storage inside a rolled-back transaction, and prints every figure."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from hubs.models import HubUptimeDay, ProbeFlip, ProbeResult

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


def test_bench_probes_prints_its_figures_and_leaves_no_simulated_rows(make_tenant) -> None:
    make_tenant()  # the hubs are seeded
    out = StringIO()
    call_command("bench_probes", "--json", days=2, flips=4, stdout=out)
    figures = json.loads(out.getvalue())
    assert {"round_s", "probes", "bytes_per_hub_day", "per_year_7_hubs_mb"} <= set(figures)
    assert figures["probes"] == ProbeResult.objects.count() >= 100
    assert set(figures["rounds_s"]) == {"uk", "de", "us", "ae", "hk", "au", "nz", "control"}
    assert figures["bytes_per_hub_day"] > 360, "two 180-byte bitmaps at least"
    assert figures["per_year_7_hubs_mb"] == round(figures["bytes_per_hub_day"] * 7 * 365 / 1e6, 2)
    # The rounds left today's minute for each hub; the simulated days were rolled back.
    assert 7 <= HubUptimeDay.objects.count() <= 14  # 14 if the rounds straddle midnight UTC
    assert not ProbeFlip.objects.filter(at__year=2000).exists()
