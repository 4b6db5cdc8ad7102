"""Counts every request, its server errors and its latency for the hub it
served (the tenant's, once TenantMiddleware found one; else the control
plane), for the web.error_rate and web.latency_p95 probes. Outermost, so its
clock spans every other layer and it sees the 500 that Django made of an
exception raised below it. Records ids only: a hub code, a status, a time."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from hubs.monitoring.web_stats import web_request_record

logger = logging.getLogger(__name__)


class WebStatsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        latency_ms = (time.perf_counter() - started) * 1000
        tenant = getattr(request, "tenant", None)
        try:
            web_request_record(
                hub_code=tenant.hub_id if tenant is not None else None,
                status=response.status_code,
                latency_ms=latency_ms,
            )
        except Exception as exc:  # noqa: BLE001 - a cache outage must not fail the request it measures
            logger.warning("Web stats not recorded: %s", type(exc).__name__)
        return response
