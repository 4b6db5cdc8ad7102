"""Requests, server errors and a latency histogram per hub and minute, from the
web tier (``portal.middleware.web_stats`` records, the ``web.*`` probes read).

A request counts for its tenant's hub when the portal resolved one, else for
the control plane (sign-in pages, the status page, the admin).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from hubs.monitoring.minute_counters import CONTROL, counter_add, counters_add, counters_sum, minute_of

PREFIX = "web"
# Upper bounds in ms; the last bucket is everything slower. p95 is read as the
# bound of the bucket it falls in, so a threshold of 2,000 ms is exact.
LATENCY_BUCKETS_MS = (25, 50, 100, 250, 500, 1000, 2000, 5000, 10000)
SLOWEST = "le_inf"


def _bucket_names() -> list[str]:
    return [f"le_{bound}" for bound in LATENCY_BUCKETS_MS] + [SLOWEST]


@dataclass(frozen=True)
class WebStats:
    requests: int
    server_errors: int
    latency_counts: tuple[int, ...]  # one per bucket of LATENCY_BUCKETS_MS, then the slowest

    @property
    def error_rate(self) -> float:
        return self.server_errors / self.requests if self.requests else 0.0

    def latency_percentile_ms(self, fraction: float) -> float | None:
        """The upper bound of the bucket holding that share of requests (inf for
        the slowest bucket); None without requests."""
        total = sum(self.latency_counts)
        if not total:
            return None
        needed = fraction * total
        running = 0
        for index, count in enumerate(self.latency_counts):
            running += count
            if running >= needed:
                return float(LATENCY_BUCKETS_MS[index]) if index < len(LATENCY_BUCKETS_MS) else float("inf")
        return float("inf")  # pragma: no cover - running reaches total


_pending: dict[tuple[str, int, str], int] = {}
_pending_lock = threading.Lock()
_flushed_at = [time.monotonic()]


def web_request_record(*, hub_code: str | None, status: int, latency_ms: float, moment: datetime | None = None) -> None:
    """Count one request. Counted in the process and added to the shared cache
    at most every HUBPORT_WEB_STATS_FLUSH_SECONDS (1): two increments of the
    embedded default's file cache were 1.7 ms of every request. The probes
    read whole minutes, so they see a process's requests at most that much
    later; a process that stops loses at most that much of its count."""
    bucket = next((f"le_{bound}" for bound in LATENCY_BUCKETS_MS if latency_ms <= bound), SLOWEST)
    names = ["requests", bucket]
    if status >= 500:
        names.append("server_errors")
    scope = hub_code or CONTROL
    seconds = settings.HUBPORT_WEB_STATS_FLUSH_SECONDS
    if seconds <= 0 or moment is not None:
        counters_add(prefix=PREFIX, scope=scope, names=names, moment=moment)
        return
    minute = minute_of()
    now = time.monotonic()
    with _pending_lock:
        for name in names:
            _pending[(scope, minute, name)] = _pending.get((scope, minute, name), 0) + 1
        if now - _flushed_at[0] < seconds:
            return
        due = dict(_pending)
        _pending.clear()
        _flushed_at[0] = now
    for (due_scope, due_minute, name), amount in due.items():
        counter_add(prefix=PREFIX, scope=due_scope, minute=due_minute, name=name, amount=amount)


def web_stats_read(*, hub_code: str | None, minutes: int, moment: datetime | None = None) -> WebStats:
    buckets = _bucket_names()
    totals = counters_sum(
        prefix=PREFIX,
        scope=hub_code or CONTROL,
        names=["requests", "server_errors", *buckets],
        minutes=minutes,
        moment=moment,
    )
    return WebStats(
        requests=totals["requests"],
        server_errors=totals["server_errors"],
        latency_counts=tuple(totals[name] for name in buckets),
    )
