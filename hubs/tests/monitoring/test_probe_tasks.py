"""Probe rounds through a real worker, on the hub's queue and on control; beat
schedules one round a minute for every hub, the control plane and the heartbeat."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from hubs.models import MaintenanceWindow, ProbeResult
from hubs.monitoring.probes import probes_for
from hubs.selectors import hub_unavailable_until
from hubs.tasks import control_probe_round_task, probe_round_task, scheduler_heartbeat_task

# The worker's threads read and write the hub databases too.
pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


def test_a_hub_round_runs_once_on_the_hubs_own_queue_through_the_real_worker(celery_worker) -> None:
    result = probe_round_task.delay(hub_code="hk")

    outcome = celery_worker.wait_for(result.id)

    assert outcome["queue"] == "hub.hk"
    assert outcome["retval"]["count"] == len(probes_for("hk")) == ProbeResult.objects.filter(hub_id="hk").count()
    assert not ProbeResult.objects.exclude(hub_id="hk").exists()
    assert not ProbeResult.objects.filter(hub_id="hk", ok=False).exclude(name__contains=".space.").exists()


def test_the_heartbeat_task_keeps_the_control_rounds_scheduler_probe_green(celery_worker, settings) -> None:
    settings.HUBPORT_PROBE_WORKER_WAIT_SECONDS = 15.0
    celery_worker.wait_for(scheduler_heartbeat_task.delay().id)
    outcome = celery_worker.wait_for(control_probe_round_task.delay().id)

    assert outcome["queue"] == "control"
    assert outcome["retval"] == {"count": len(probes_for(None)), "failed": 0}
    assert ProbeResult.objects.get(hub=None, name="scheduler.heartbeat").ok
    # The control round speaks for each hub's workers, under that hub.
    assert set(ProbeResult.objects.filter(name="workers.round_trip", ok=True).values_list("hub_id", flat=True)) == set(
        settings.HUB_CODES
    )


def test_beat_schedules_a_round_a_minute_for_every_hub_and_the_control_plane() -> None:
    schedule = settings.CELERY_BEAT_SCHEDULE
    for code in settings.HUB_CODES:
        entry = schedule[f"probe-round-{code}"]
        assert (entry["task"], entry["schedule"], entry["kwargs"]) == (
            "hubs.tasks.probe_round_task",
            60.0,
            {"hub_code": code},
        )
    assert schedule["probe-round-control"]["schedule"] == schedule["scheduler-heartbeat"]["schedule"] == 60.0


def test_probes_keep_running_while_the_hub_is_down_for_maintenance(celery_worker) -> None:
    now = timezone.now()
    window = MaintenanceWindow.objects.create(
        title="Storage upgrade",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1),
        announced_at=now - timedelta(days=6),
        state=MaintenanceWindow.State.IN_PROGRESS,
        impact=MaintenanceWindow.Impact.UNAVAILABLE,
    )
    window.hubs.set(["de"])
    assert hub_unavailable_until(hub_code="de") is not None

    outcome = celery_worker.wait_for(probe_round_task.delay(hub_code="de").id, timeout=20)

    assert outcome["queue"] == "hub.de"
    assert outcome["retval"]["count"] == len(probes_for("de")) == ProbeResult.objects.filter(hub_id="de").count()
