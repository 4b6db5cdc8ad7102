"""The p95 read from the histogram is the bound of the bucket holding the true
p95: never below it, and the smallest bound that is not."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from hubs.monitoring.web_stats import LATENCY_BUCKETS_MS, WebStats


def stats_of(latencies: list[float]) -> WebStats:
    counts = [0] * (len(LATENCY_BUCKETS_MS) + 1)
    for latency in latencies:
        index = next((i for i, bound in enumerate(LATENCY_BUCKETS_MS) if latency <= bound), len(LATENCY_BUCKETS_MS))
        counts[index] += 1
    return WebStats(requests=len(latencies), server_errors=0, latency_counts=tuple(counts))


@given(st.lists(st.floats(min_value=0, max_value=20_000, allow_nan=False), min_size=1, max_size=300))
def test_p95_is_the_bound_of_the_bucket_holding_the_true_p95(latencies: list[float]) -> None:
    ordered = sorted(latencies)
    true_p95 = ordered[math.ceil(0.95 * len(ordered)) - 1]

    read = stats_of(latencies).latency_percentile_ms(0.95)

    assert read is not None and read >= true_p95
    smaller = [bound for bound in LATENCY_BUCKETS_MS if bound < read]
    assert not smaller or smaller[-1] < true_p95


def test_no_requests_no_percentile() -> None:
    assert WebStats(requests=0, server_errors=0, latency_counts=(0,) * 10).latency_percentile_ms(0.95) is None
