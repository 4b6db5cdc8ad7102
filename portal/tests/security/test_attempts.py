"""Failures counted in rolling windows and the tiers of waiting they earn
(portal.security.attempts), on the real cache of the run, with time frozen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.cache import cache
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.security.attempts import Limit, failure_record, failures, failures_clear, wait_seconds

T0 = datetime(2026, 11, 30, 3, 0, 0, tzinfo=UTC)
LIMIT = Limit("test.kind", threshold=5, window_minutes=15, tiers=(30, 60, 300, 900))


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def fail(times: int, key: str = "k", at: datetime = T0) -> None:
    for _ in range(times):
        failure_record(LIMIT, key, now=at)


def test_under_the_threshold_nothing_waits() -> None:
    fail(4)
    assert failures(LIMIT, "k", now=T0) == 4
    assert wait_seconds(LIMIT, "k", now=T0) == 0


def test_the_threshold_starts_the_first_tier_from_the_latest_failure() -> None:
    fail(5)
    assert wait_seconds(LIMIT, "k", now=T0) == 30
    assert wait_seconds(LIMIT, "k", now=T0 + timedelta(seconds=20)) == 10
    assert wait_seconds(LIMIT, "k", now=T0 + timedelta(seconds=30)) == 0


def test_each_further_failure_climbs_a_tier_and_the_last_tier_caps_it() -> None:
    fail(6)
    assert wait_seconds(LIMIT, "k", now=T0) == 60
    fail(1)
    assert wait_seconds(LIMIT, "k", now=T0) == 300
    fail(5)
    assert wait_seconds(LIMIT, "k", now=T0) == 900  # never more: a wait, not a lock


def test_the_window_rolls_minute_by_minute() -> None:
    fail(3, at=T0)
    fail(2, at=T0 + timedelta(minutes=10))
    assert failures(LIMIT, "k", now=T0 + timedelta(minutes=14)) == 5
    # Fifteen minutes after the first three, only the later two still count.
    assert failures(LIMIT, "k", now=T0 + timedelta(minutes=15)) == 2
    assert wait_seconds(LIMIT, "k", now=T0 + timedelta(minutes=15)) == 0


def test_keys_are_counted_apart_and_a_success_clears_one() -> None:
    fail(5, key="a")
    fail(2, key="b")
    failures_clear(LIMIT, "a", now=T0)
    assert failures(LIMIT, "a", now=T0) == 0
    assert failures(LIMIT, "b", now=T0) == 2


def test_the_cache_holds_no_key_in_clear() -> None:
    fail(1, key="owner@example.test|203.0.113.9")
    backend = cache._cache  # type: ignore[attr-defined]
    keys = [str(key) for key in backend] if isinstance(backend, dict) else backend.get_client().keys("*")
    keys = [key.decode() if isinstance(key, bytes) else key for key in keys]
    assert any("attempts:test.kind:" in key for key in keys)  # the failure is there...
    assert not [key for key in keys if "example.test" in key or "203.0.113" in key]  # ...under a hash


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=20), min_size=1, max_size=12))
def test_the_wait_never_exceeds_the_last_tier_and_is_zero_under_the_threshold(offsets_in_minutes: list[int]) -> None:
    cache.clear()
    with time_machine.travel(T0, tick=False):
        for offset in sorted(offsets_in_minutes):
            failure_record(LIMIT, "p", now=T0 + timedelta(minutes=offset))
        now = T0 + timedelta(minutes=max(offsets_in_minutes))
        count = failures(LIMIT, "p", now=now)
        wait = wait_seconds(LIMIT, "p", now=now)
    assert count == sum(1 for offset in offsets_in_minutes if offset > max(offsets_in_minutes) - 15)
    assert 0 <= wait <= max(LIMIT.tiers)
    assert (wait == 0) == (count < LIMIT.threshold)
