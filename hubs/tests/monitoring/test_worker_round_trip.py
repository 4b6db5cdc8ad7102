"""workers.round_trip: the control round pings each hub's own queue; a real
worker answers, and a hub whose queue nobody serves fails after the wait."""

from __future__ import annotations

import pytest
from django.conf import settings

from hubs.models import Heartbeat, ProbeResult
from hubs.monitoring.probes import Probe, probes_for
from hubs.services.probes import probe_round_run

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


def worker_probe(hub_code: str) -> Probe:
    return next(
        probe for probe in probes_for(None) if probe.name == "workers.round_trip" and probe.hub_code == hub_code
    )


def test_every_hub_has_a_critical_worker_probe_in_the_control_round() -> None:
    probes = [probe for probe in probes_for(None) if probe.name == "workers.round_trip"]

    assert sorted(probe.hub_code for probe in probes) == sorted(settings.HUB_CODES)
    assert {(probe.component, probe.severity) for probe in probes} == {("workers", "critical")}
    assert all(probe.timeout_seconds > settings.HUBPORT_PROBE_WORKER_WAIT_SECONDS for probe in probes)
    assert not any(probe.name == "workers.round_trip" for probe in probes_for("uk"))


def test_a_worker_of_the_hub_answers_the_ping_on_the_hubs_queue(celery_worker, settings) -> None:
    settings.HUBPORT_PROBE_WORKER_WAIT_SECONDS = 15.0
    before = set(celery_worker.finished)

    outcome = worker_probe("nz").run()

    assert outcome.ok, outcome.detail
    assert outcome.detail.startswith("a worker of hub.nz answered in ")
    pongs = [done for task_id, done in celery_worker.finished.items() if task_id not in before]
    # The control round's first check sends every hub's ping at once; nz's came back on nz's queue.
    assert [(pong["queue"], pong["retval"]) for pong in pongs if pong["queue"] == "hub.nz"] == [("hub.nz", "pong")]
    assert {pong["queue"] for pong in pongs} <= {f"hub.{code}" for code in settings.HUB_CODES}
    assert Heartbeat.objects.get(name="worker.nz").token


def test_a_hub_whose_queue_nobody_serves_fails_after_the_wait_and_is_recorded_for_that_hub(celery_worker) -> None:
    # The test settings wait 2 s.
    with celery_worker.queue_unserved("hub.au"):
        probe_round_run(hub_code=None)

    failed = ProbeResult.objects.get(name="workers.round_trip", hub_id="au")
    assert not failed.ok
    assert failed.detail == "no worker of hub.au answered within 2 s"
    assert failed.component == "workers"
    assert not Heartbeat.objects.filter(name="worker.au").exists()
    # A hub with no workers runs no round of its own: the control round's
    # failed ping makes its minute down (not unknown).
    from hubs.models import HubUptimeDay, ProbeFlip
    from hubs.services.uptime import minute_of

    day, index = minute_of(failed.at)
    (au_day,) = HubUptimeDay.objects.filter(hub_id="au", day=day)
    assert bytes(au_day.down)[index // 8] & (1 << (index % 8))
    assert ProbeFlip.objects.filter(hub_id="au", name="workers.round_trip", ok=False).exists()
