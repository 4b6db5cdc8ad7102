"""Rounds leave their minute in the hub's day bitmaps and their flips; two rounds
in a minute keep "down"; minutes with no round are unknown; 400 days are kept."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine

from hubs.models import HubUptimeDay, ProbeFlip
from hubs.services.probes import probe_round_run
from hubs.services.uptime import uptime_expire, uptime_minute_record
from hubs.storage import facility_storage
from hubs.tests.monitoring.uptime_rows import at
from hubs.uptime_read import hub_uptimes

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)

T0 = at(2026, 11, 30, 10, 0)


def bits(hub: str, field: str) -> int:
    row = HubUptimeDay.objects.get(hub_id=hub, day=T0.date())
    return int.from_bytes(bytes(getattr(row, field)), "little")


def test_a_round_marks_its_minute_up_and_a_facility_replaced_by_a_file_marks_it_down(celery_worker, settings) -> None:
    # The round's file transaction restores through the real worker.
    settings.HUBPORT_PROBE_FILE_TRANSACTION_SECONDS = 20.0
    folder = Path(facility_storage("de", "primary").location)
    with time_machine.travel(T0 + timedelta(seconds=5), tick=True):
        probe_round_run(hub_code="de")
    assert bits("de", "observed") == 1 << 600 and bits("de", "down") == 0
    assert not ProbeFlip.objects.filter(hub_id="de").exists(), "a passing first round flips nothing"

    if folder.exists():
        shutil.rmtree(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.write_bytes(b"not a folder")
    with time_machine.travel(T0 + timedelta(minutes=1, seconds=5), tick=True):
        probe_round_run(hub_code="de")
    assert bits("de", "observed") == 0b11 << 600
    assert bits("de", "down") == 1 << 601
    flip = ProbeFlip.objects.get(hub_id="de", name="storage.primary.round_trip")
    assert flip.ok is False and flip.at.replace(second=0, microsecond=0) == T0 + timedelta(minutes=1)

    folder.unlink()
    with time_machine.travel(T0 + timedelta(minutes=2, seconds=5), tick=True):
        probe_round_run(hub_code="de")
    assert bits("de", "down") == 1 << 601
    assert list(
        ProbeFlip.objects.filter(hub_id="de", name="storage.primary.round_trip")
        .order_by("at")
        .values_list("ok", flat=True)
    ) == [False, True]
    # Up to 10:03: 10:00 and 10:02 up, 10:01 down. Berlin's day began at 23:00
    # UTC, but de's first round was at 10:00: nothing before it is counted.
    figures = hub_uptimes(now=T0 + timedelta(minutes=3), hub_codes=["de"])["de"].days[-1].figures
    assert (figures.up, figures.down, figures.maintenance) == (2, 1, 0)
    assert figures.unknown == 0


def test_the_control_round_marks_a_hubs_minute_only_through_that_hubs_failed_worker_ping() -> None:
    # Whether a worker answers here depends on the session (the test settings
    # wait 2 s): the hubs whose ping failed, and only they, have their minute
    # down; nothing else of the control round (its database, broker,
    # scheduler) marks a hub, and a passing ping marks nothing.
    from hubs.models import ProbeResult

    with time_machine.travel(T0, tick=True):
        probe_round_run(hub_code=None)
    pings = dict(ProbeResult.objects.filter(name="workers.round_trip").values_list("hub_id", "ok"))
    assert len(pings) == 7
    failed = {hub for hub, ok in pings.items() if not ok}
    assert set(HubUptimeDay.objects.values_list("hub_id", flat=True)) == failed
    assert all(bits(hub, "down") == 1 << 600 for hub in failed)


def test_two_rounds_in_one_minute_down_wins_whatever_the_order() -> None:
    uptime_minute_record(hub_code="uk", at=T0 + timedelta(seconds=1), critical_failing=True)
    uptime_minute_record(hub_code="uk", at=T0 + timedelta(seconds=40), critical_failing=False)
    uptime_minute_record(hub_code="uk", at=T0 + timedelta(minutes=1, seconds=2), critical_failing=False)
    uptime_minute_record(hub_code="uk", at=T0 + timedelta(minutes=1, seconds=50), critical_failing=True)
    uptime_minute_record(hub_code="uk", at=T0 + timedelta(minutes=2), critical_failing=False)
    uptime_minute_record(hub_code="uk", at=T0 + timedelta(minutes=2, seconds=30), critical_failing=False)
    assert HubUptimeDay.objects.filter(hub_id="uk").count() == 1
    assert bits("uk", "observed") == 0b111 << 600
    assert bits("uk", "down") == 0b011 << 600


def test_minutes_without_a_round_are_unknown_never_up() -> None:
    for minute in (0, 1, 5):
        uptime_minute_record(hub_code="uk", at=T0 + timedelta(minutes=minute), critical_failing=False)
    figures = hub_uptimes(now=T0 + timedelta(minutes=10), hub_codes=["uk"])["uk"].day
    # Counted from uk's first round (10:00): of the 10 minutes since, 3 had a
    # round and 7 none; the unknown 7 count against it, never as up.
    assert (figures.up, figures.down, figures.unknown) == (3, 0, 7)
    assert str(figures.uptime_percent) == "30.00"
    assert str(figures.coverage_percent) == "30.00"


def test_retention_deletes_only_what_is_older_than_400_days() -> None:
    now = T0
    for age in (401, 400, 399, 1):
        uptime_minute_record(hub_code="uk", at=now - timedelta(days=age), critical_failing=False)
        ProbeFlip.objects.create(hub_id="uk", name="database.read", ok=False, at=now - timedelta(days=age))
    ProbeFlip.objects.create(hub_id=None, name="broker.round_trip", ok=False, at=now - timedelta(days=400, seconds=1))
    assert uptime_expire(now=now) == {"days": 1, "flips": 2}
    kept = sorted((now.date() - day).days for day in HubUptimeDay.objects.values_list("day", flat=True))
    assert kept == [1, 399, 400]
    assert sorted(round((now - a).total_seconds() / 86400) for a in ProbeFlip.objects.values_list("at", flat=True)) == [
        1,
        399,
        400,
    ]
