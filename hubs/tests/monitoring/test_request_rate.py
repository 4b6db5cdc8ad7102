"""The denial-of-service detector: its rule as properties, and a baseline
learnt over hours from the hub's own web_stats counters (time frozen)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from hypothesis import given
from hypothesis import strategies as st

from hubs.monitoring.probes import probes_for
from hubs.monitoring.request_rate import Baseline, RateRule, baseline_advance, baseline_fold, rate_judged
from hubs.monitoring.web_stats import web_request_record

RULE = RateRule(factor=10.0, floor=60.0, learn_minutes=60, baseline_minutes=60)
T0 = datetime(2026, 11, 30, 9, 0, 30, tzinfo=UTC)

rates = st.floats(min_value=0, max_value=1e6, allow_nan=False)
learnt = st.builds(Baseline, rate=rates, minutes=st.integers(min_value=0, max_value=100_000))


@given(baseline=learnt, rate=rates)
def test_never_fires_within_factor_times_the_baseline_or_its_floor(baseline: Baseline, rate: float) -> None:
    if rate <= RULE.factor * max(baseline.rate, RULE.floor):
        assert not rate_judged(rate=rate, baseline=baseline, rule=RULE)


@given(baseline=learnt, rate=rates)
def test_fires_above_it_once_learnt_and_never_while_learning(baseline: Baseline, rate: float) -> None:
    fired = rate_judged(rate=rate, baseline=baseline, rule=RULE)
    expected = baseline.minutes >= RULE.learn_minutes and rate > RULE.factor * max(baseline.rate, RULE.floor)
    assert fired == expected


@given(low=st.floats(min_value=1, max_value=1e5), history=st.lists(st.floats(0, 1), min_size=1, max_size=300))
def test_traffic_that_stays_within_the_factor_of_its_own_level_never_fires(low: float, history: list[float]) -> None:
    """Minutes anywhere between a level and k times it: the baseline stays in
    that band, so no minute of it (judged as it arrives) is ever an attack."""
    band = [low + share * (RULE.factor - 1) * low for share in history]
    baseline = Baseline()
    for rate in band:
        baseline = baseline_fold(baseline, [rate], rule=RULE)
        assert min(band) - 1e-6 <= baseline.rate <= max(band) + 1e-6
        assert not rate_judged(rate=rate, baseline=baseline, rule=RULE)


@given(history=st.lists(rates, min_size=1, max_size=200))
def test_the_baseline_stays_between_the_smallest_and_largest_minute(history: list[float]) -> None:
    baseline = baseline_fold(Baseline(), history, rule=RULE)
    assert min(history) - 1e-6 <= baseline.rate <= max(history) + 1e-6
    assert baseline.minutes == len(history)


def test_an_hour_of_flood_is_not_learnt_as_normal() -> None:
    baseline = baseline_fold(Baseline(), [100.0] * 120, rule=RULE)
    flooded = baseline_fold(baseline, [5000.0] * 60, rule=RULE)
    assert rate_judged(rate=5000.0, baseline=flooded, rule=RULE), "still an attack after an hour of it"
    # A lasting real rise is learnt within a working day.
    risen = baseline_fold(flooded, [5000.0] * 8 * 60, rule=RULE)
    assert not rate_judged(rate=5000.0, baseline=risen, rule=RULE)


def request_rate(hub: str):  # type: ignore[no-untyped-def]
    return next(probe for probe in probes_for(hub) if probe.name == "security.request_rate")


def record(hub: str, moment: datetime, count: int) -> None:
    for _ in range(count):
        web_request_record(hub_code=hub, status=200, latency_ms=12.0, moment=moment)


@pytest.mark.django_db
def test_a_baseline_learnt_over_two_hours_from_the_counters_then_a_flood_fails_the_probe(settings) -> None:
    settings.HUBPORT_DETECT_DOS_FACTOR = 5.0
    settings.HUBPORT_DETECT_DOS_MIN_RATE = 10.0
    # Two hours at 6 to 10 requests a minute, the probe running every ten
    # minutes (folding the minutes it missed from the counters).
    with time_machine.travel(T0, tick=False) as clock:
        for minute in range(120):
            moment = T0 + timedelta(minutes=minute)
            clock.move_to(moment)
            record("uk", moment, 6 + minute % 5)
            if minute % 10 == 9:
                outcome = request_rate("uk").run()
                assert outcome.ok, outcome.detail
        learnt = baseline_advance(hub_code="uk")
        assert learnt.minutes >= 110 and 6 <= learnt.rate <= 10
        assert "still learning" not in request_rate("uk").run().detail
        # Another hub's flood is not this hub's.
        record("de", T0 + timedelta(minutes=119), 500)
        assert request_rate("uk").run().ok
        # Within five times its level: quiet. Beyond it: an attack.
        clock.move_to(T0 + timedelta(minutes=120))
        record("uk", T0 + timedelta(minutes=120), 45)
        assert request_rate("uk").run().ok
        record("uk", T0 + timedelta(minutes=120), 20)
        flooded = request_rate("uk").run()
        assert not flooded.ok
        assert flooded.detail.startswith("65 requests in the busiest of the last 2 minutes")
        # The flood ends: two quiet minutes later the probe passes again.
        clock.move_to(T0 + timedelta(minutes=122))
        record("uk", T0 + timedelta(minutes=122), 8)
        assert request_rate("uk").run().ok


@pytest.mark.django_db
def test_a_hub_without_a_learnt_baseline_is_never_judged(settings) -> None:
    with time_machine.travel(T0, tick=False):
        record("nz", T0, 10_000)
        outcome = request_rate("nz").run()
        assert outcome.ok and "still learning" in outcome.detail
