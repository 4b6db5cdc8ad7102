"""hubs' probes against real faults: a facility folder that is a file, a silent
scheduler, failed notices; and a whole round of a hub on the real databases."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from hubs.models import MaintenanceWindow, NoticeDelivery
from hubs.monitoring.probes import Probe, probes_for
from hubs.services.probes import heartbeat_record, probe_round_run
from hubs.storage import facility_storage
from hubs.tests.windows import person

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


def probe_named(hub_code: str | None, name: str) -> Probe:
    return next(probe for probe in probes_for(hub_code) if probe.name == name)


def test_a_facility_folder_replaced_by_a_file_fails_its_round_trip_and_not_the_others() -> None:
    folder = Path(facility_storage("de", "primary").location)
    if folder.exists():
        shutil.rmtree(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.write_bytes(b"not a folder")

    broken = probe_named("de", "storage.primary.round_trip").run()
    healthy = probe_named("de", "storage.alternate.round_trip").run()

    assert not broken.ok
    assert broken.detail.startswith("put failed on facility de/primary: ")
    assert broken.detail.split(": ")[-1] in {"FileExistsError", "NotADirectoryError"}
    assert healthy.ok, healthy.detail
    assert healthy.detail == "put, get, delete of 64 bytes on de/alternate"
    assert not list(Path(facility_storage("de", "alternate").location).glob("probes/*"))  # cleaned up


def test_free_space_of_a_folder_facility_is_measured() -> None:
    Path(facility_storage("uk", "primary").location).mkdir(parents=True, exist_ok=True)
    usage = shutil.disk_usage(facility_storage("uk", "primary").location)
    used = usage.used / usage.total

    warning = probe_named("uk", "storage.primary.space.warning").run()
    critical = probe_named("uk", "storage.primary.space.critical").run()

    assert warning.ok == (used < 0.80) and critical.ok == (used < 0.95)
    assert warning.detail.endswith("used (fails at 80%)") and critical.detail.endswith("used (fails at 95%)")


def test_free_space_of_a_folder_facility_not_made_yet_is_measured_on_the_folder_above() -> None:
    folder = Path(facility_storage("us", "alternate").location)
    assert not folder.exists()

    outcome = probe_named("us", "storage.alternate.space.critical").run()

    assert outcome.detail.endswith("used (fails at 95%); folder not made yet, measured the one above")
    assert not folder.exists()


def test_the_scheduler_heartbeat_fails_after_two_silent_intervals() -> None:
    beat = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
    probe = probe_named(None, "scheduler.heartbeat")
    assert not probe.run().ok  # never beaten yet
    heartbeat_record(name="scheduler", now=beat)

    with time_machine.travel(beat + timedelta(seconds=119), tick=False):
        assert probe.run().ok
    with time_machine.travel(beat + timedelta(seconds=121), tick=False):
        late = probe.run()
    assert not late.ok
    assert late.detail == "last heartbeat 121 s ago (fails after 120 s)"


def test_a_round_of_a_hub_and_of_the_control_plane_pass_on_healthy_parts(celery_worker, settings) -> None:
    settings.HUBPORT_PROBE_WORKER_WAIT_SECONDS = 15.0
    settings.HUBPORT_PROBE_FILE_TRANSACTION_SECONDS = 20.0
    heartbeat_record(name="scheduler")

    hub_rows = probe_round_run(hub_code="au")
    control_rows = probe_round_run(hub_code=None)

    failed = {row.name: row.detail for row in [*hub_rows, *control_rows] if not row.ok and ".space." not in row.name}
    assert failed == {}
    names = {row.name for row in hub_rows}
    assert {
        "database.read",
        "database.write",
        "control_database.read",
        "broker.round_trip",
        "storage.primary.round_trip",
        "storage.alternate.round_trip",
        "storage.alternate.space.critical",
        "replication.backlog",
        "restores.stalled",
        "notices.failing",
        "security.credential_stuffing",
        "security.request_rate",
    } <= names
    assert {(row.hub_id, row.name) for row in control_rows} == {
        (None, "control_database.read"),
        (None, "control_database.write"),
        (None, "broker.round_trip"),
        (None, "scheduler.heartbeat"),
        (None, "web.error_rate"),
        (None, "web.latency_p95"),
        (None, "security.failed_sign_ins"),
        (None, "security.credential_stuffing"),
        (None, "security.request_rate"),
        (None, "security.password_spraying"),
        (None, "security.token_guessing"),
        *((code, "workers.round_trip") for code in settings.HUB_CODES),
    }
    assert len(hub_rows) * len(settings.HUB_CODES) + len(control_rows) > 100


def test_notices_failing_in_the_last_hour_fail_the_probe_of_the_windows_hubs_only() -> None:
    now = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
    window = MaintenanceWindow.objects.create(
        title="Storage upgrade",
        starts_at=now + timedelta(days=6),
        ends_at=now + timedelta(days=6, hours=4),
        announced_at=now,
    )
    window.hubs.set(["uk"])
    delivery = NoticeDelivery.objects.create(
        window=window,
        user=person("owner@uk.test"),
        email="owner@uk.test",
        kind=NoticeDelivery.Kind.ANNOUNCED,
        revision=1,
        state=NoticeDelivery.State.FAILED,
        last_attempt_at=now - timedelta(minutes=10),
    )

    with time_machine.travel(now, tick=False):
        uk, de = probe_named("uk", "notices.failing").run(), probe_named("de", "notices.failing").run()
    with time_machine.travel(now + timedelta(minutes=51), tick=False):
        later = probe_named("uk", "notices.failing").run()

    assert not uk.ok and uk.detail == f"deliveries failed in the last hour: {delivery.pk}"
    assert de.ok and later.ok


def test_the_free_space_of_an_object_store_is_not_measured(settings) -> None:
    settings.HUB_STORAGE_URLS = {
        **settings.HUB_STORAGE_URLS,
        "hub_hk_alternate": "s3://hubport-hk-alternate/blobs?endpoint_url=http://127.0.0.1:9&region_name=hk-1",
    }
    facility_storage.cache_clear()

    outcomes = [probe_named("hk", f"storage.alternate.space.{severity}").run() for severity in ("warning", "critical")]

    assert [(outcome.ok, outcome.detail) for outcome in outcomes] == [(True, "not measured")] * 2
