"""manage.py probes_run: one round now, recorded like a scheduled one, and its JSON."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from hubs.models import ProbeResult
from hubs.monitoring.probes import probes_for
from hubs.services.probes import heartbeat_record

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)

KEYS = {"hub", "name", "component", "severity", "ok", "latency_ms", "detail"}


def run(*arguments: str) -> str:
    stdout = StringIO()
    call_command("probes_run", *arguments, stdout=stdout)
    return stdout.getvalue()


def test_a_full_round_covers_every_hub_and_the_control_plane_in_json(celery_worker, settings) -> None:
    # The command runs the round in this process; the worker answers the pings
    # and runs the file transactions' restores on the hubs' queues.
    settings.HUBPORT_PROBE_WORKER_WAIT_SECONDS = 15.0
    settings.HUBPORT_PROBE_FILE_TRANSACTION_SECONDS = 20.0
    heartbeat_record(name="scheduler")

    printed = json.loads(run("--json"))

    expected = sum(len(probes_for(code)) for code in [*settings.HUB_CODES, None])
    assert printed["count"] == expected == len(printed["probes"]) == ProbeResult.objects.count()
    assert printed["count"] > 100
    assert printed["failed"] == sum(1 for probe in printed["probes"] if not probe["ok"])
    assert all(set(probe) == KEYS for probe in printed["probes"])
    assert {probe["hub"] for probe in printed["probes"]} == {*settings.HUB_CODES, None}
    failed = [p["name"] for p in printed["probes"] if not p["ok"] and ".space." not in p["name"]]
    assert failed == []
    assert all(isinstance(probe["latency_ms"], float) and probe["latency_ms"] >= 0 for probe in printed["probes"])


def test_one_hub_in_text(celery_worker) -> None:
    with celery_worker.queue_unserved("hub.ae"):
        printed = run("--hub", "ae").splitlines()

    assert len(printed) == len(probes_for("ae")) + 1
    assert printed[-1].startswith(f"{len(probes_for('ae'))} probes, ")
    assert set(ProbeResult.objects.values_list("hub_id", flat=True)) == {"ae"}
    # Nobody serves hub.ae: the file transaction's restore is queued there and
    # nobody runs it, which the probe says instead of running it inline.
    transaction = ProbeResult.objects.get(name="file_transaction")
    assert not transaction.ok
    assert transaction.detail.startswith("step restore: job ")
    assert "(no worker of hub.ae ran it in 3 s)" in transaction.detail
