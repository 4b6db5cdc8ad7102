"""The probe runner: bounded by the timeout, failures by exception class, rows
recorded per round and expired after 48 hours."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from hubs.models import ProbeResult
from hubs.monitoring.probes import CRITICAL, WARNING, Check, Probe, probe_register, probe_unregister, probes_for
from hubs.selectors import probe_results_latest
from hubs.services.probes import probe_results_expire, probe_round_run

TEST_KEY = "hubs.tests.monitoring"


@pytest.fixture
def released() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()  # a stuck check's thread ends with the test


def test_a_probe_that_outlives_its_timeout_has_failed(released: threading.Event) -> None:
    probe = Probe(
        name="stuck",
        hub_code="uk",
        component="database",
        severity=CRITICAL,
        check=lambda: Check(ok=released.wait(30)),
        timeout_seconds=0.05,
    )

    outcome = probe.run()

    assert not outcome.ok
    assert outcome.detail == "timed out after 0.05 s"
    assert outcome.latency_ms < 5000


STUCK_PROCESS = """
import threading
import django
django.setup()
from hubs.monitoring.probes import CRITICAL, Check, Probe
stuck = Probe("stuck", "uk", "database", CRITICAL, lambda: Check(ok=threading.Event().wait()), timeout_seconds=0.05)
print(stuck.run().detail, flush=True)
"""


def test_a_check_stuck_for_ever_does_not_keep_its_process_from_ending() -> None:
    # probes_run and the drill's verify stage end when their rounds do; a
    # thread of a ThreadPoolExecutor would be joined at exit, for ever.
    import os
    import subprocess
    import sys

    from django.conf import settings

    done = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", STUCK_PROCESS],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings.test"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "timed out after 0.05 s"


def test_a_probe_that_raises_is_reported_by_its_exception_class_only() -> None:
    def check() -> Check:
        raise FileNotFoundError("customer-secret-plan.docx")

    outcome = Probe(name="raises", hub_code="uk", component="storage.primary", severity=CRITICAL, check=check).run()

    assert not outcome.ok
    assert outcome.detail == "raised FileNotFoundError"


@pytest.fixture
def registered(released: threading.Event) -> Iterator[None]:
    def factory(hub_code: str | None) -> list[Probe]:
        if hub_code != "nz":
            return []
        return [
            Probe(name="test.passes", hub_code="nz", component="web", severity=WARNING, check=lambda: Check(True, "1")),
            Probe(
                name="test.stuck",
                hub_code="nz",
                component="web",
                severity=CRITICAL,
                check=lambda: Check(ok=released.wait(30)),
                timeout_seconds=0.05,
            ),
        ]

    probe_register(factory, key=TEST_KEY)
    yield
    probe_unregister(TEST_KEY)


@pytest.mark.django_db(transaction=True)
def test_a_round_records_one_row_per_probe_and_the_latest_selector_reads_them(registered: None) -> None:
    names = [probe.name for probe in probes_for("nz")]
    assert {"test.passes", "test.stuck"} <= set(names)
    assert all(probe.name not in {"test.passes", "test.stuck"} for probe in probes_for("uk"))

    first = probe_round_run(hub_code="nz")
    probe_round_run(hub_code="nz")

    assert [row.name for row in first] == names
    assert ProbeResult.objects.filter(hub_id="nz").count() == 2 * len(names)
    latest = {row.name: row for row in probe_results_latest(hub_code="nz")}
    assert set(latest) == set(names)
    assert latest["test.passes"].ok and latest["test.passes"].detail == "1"
    assert not latest["test.stuck"].ok and latest["test.stuck"].detail.startswith("timed out")
    assert max(ProbeResult.objects.values_list("at", flat=True)) == latest["test.stuck"].at


@pytest.mark.django_db
def test_results_older_than_48_hours_are_expired() -> None:
    start = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)

    def row(at: datetime) -> ProbeResult:
        return ProbeResult.objects.create(
            hub_id="uk", name="x", component="database", severity="critical", ok=True, latency_ms=1.0, at=at
        )

    old, kept = row(start - timedelta(hours=49)), row(start - timedelta(hours=47))
    with time_machine.travel(start, tick=False):
        assert probe_results_expire() == 1
    assert list(ProbeResult.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not ProbeResult.objects.filter(pk=old.pk).exists()


def test_a_factory_that_raises_becomes_a_failing_probe_and_the_others_still_run() -> None:
    def broken(hub_code: str | None) -> list[Probe]:
        raise KeyError("customer-file.txt")

    probe_register(broken, key="test-broken")
    try:
        probes = probes_for("uk")
    finally:
        probe_unregister("test-broken")

    failing = next(probe for probe in probes if probe.name == "registry.test-broken")
    outcome = failing.run()
    assert (failing.component, failing.severity, outcome.ok) == ("monitoring", CRITICAL, False)
    assert outcome.detail == "probe factory test-broken raised KeyError"
    assert "database.read" in {probe.name for probe in probes}


@pytest.mark.django_db(transaction=True)
def test_the_probes_of_a_round_run_side_by_side() -> None:
    # Each check passes only if all four are waiting at once; run one after the
    # other, the first would hold the barrier past its timeout and fail.
    together = threading.Barrier(4, timeout=5)

    def meet() -> Check:
        together.wait()
        return Check(ok=True, detail="met")

    def factory(hub_code: str | None) -> list[Probe]:
        if hub_code != "au":
            return []
        return [Probe(f"test.meet.{n}", "au", "web", WARNING, meet, timeout_seconds=2) for n in range(together.parties)]

    probe_register(factory, key="test-meet")
    try:
        rows = probe_round_run(hub_code="au")
    finally:
        probe_unregister("test-meet")
        together.abort()

    met = [row for row in rows if row.name.startswith("test.meet.")]
    assert [(row.ok, row.detail) for row in met] == [(True, "met")] * 4
