"""The benchmarks' target check: what is met, what is missed, what is far off."""

from __future__ import annotations

from portal.benchmarks import targets_check

TARGETS = (("rate", ">=", 100.0), ("latency_ms", "<", 50.0), ("bytes", "<=", 0.0))


def test_met_and_missed_targets_are_told_apart():
    figures = {"rate": 120.0, "latency_ms": 60.0, "bytes": 0}
    gross = targets_check(figures, TARGETS, gross_factor=5)
    assert figures["targets"]["rate"] == {"value": 120.0, "target": ">= 100", "met": True}
    assert figures["targets"]["latency_ms"] == {"value": 60.0, "target": "< 50", "met": False}
    assert figures["targets_missed"] == ["latency_ms"]
    assert gross == []


def test_only_a_miss_beyond_the_factor_is_gross():
    figures = {"rate": 19.0, "latency_ms": 249.0, "bytes": 1}
    assert targets_check(figures, TARGETS, gross_factor=5) == ["rate", "bytes"]
    figures = {"rate": 21.0, "latency_ms": 251.0}
    assert targets_check(figures, TARGETS, gross_factor=5) == ["latency_ms"]


def test_a_figure_the_run_did_not_measure_is_left_out():
    figures: dict = {"latency_ms": 10.0, "rate": None}
    targets_check(figures, TARGETS, gross_factor=5)
    assert set(figures["targets"]) == {"latency_ms"}
    assert figures["targets_missed"] == []
