"""A process adds its requests to the shared web counters at most every
HUBPORT_WEB_STATS_FLUSH_SECONDS (issue 14, part 1): none is lost, the
counts arrive together."""

from __future__ import annotations

from typing import Any

from hubs.monitoring import web_stats
from hubs.monitoring.web_stats import web_request_record, web_stats_read


def test_requests_are_counted_in_the_process_then_added_together(settings: Any) -> None:
    settings.HUBPORT_WEB_STATS_FLUSH_SECONDS = 3600
    web_stats._flushed_at[0] = web_stats.time.monotonic()
    for _ in range(3):
        web_request_record(hub_code="nz", status=200, latency_ms=3)
    web_request_record(hub_code="nz", status=503, latency_ms=30)
    assert web_stats_read(hub_code="nz", minutes=2).requests == 0, "still in the process"
    settings.HUBPORT_WEB_STATS_FLUSH_SECONDS = 1e-9
    web_request_record(hub_code="nz", status=200, latency_ms=3)
    read = web_stats_read(hub_code="nz", minutes=2)
    assert read.requests == 5
    assert read.server_errors == 1
    assert read.latency_counts[:2] == (4, 1)
