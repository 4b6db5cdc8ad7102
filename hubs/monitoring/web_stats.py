"""Requests, server errors and a latency histogram per hub and minute, from the
web tier (``portal.middleware.web_stats`` records, the ``web.*`` probes read).

A request counts for its tenant's hub when the portal resolved one, else for
the control plane (sign-in pages, the status page, the admin).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hubs.monitoring.minute_counters import CONTROL, counters_add, counters_sum

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


def web_request_record(*, hub_code: str | None, status: int, latency_ms: float, moment: datetime | None = None) -> None:
    bucket = next((f"le_{bound}" for bound in LATENCY_BUCKETS_MS if latency_ms <= bound), SLOWEST)
    names = ["requests", bucket]
    if status >= 500:
        names.append("server_errors")
    counters_add(prefix=PREFIX, scope=hub_code or CONTROL, names=names, moment=moment)


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
