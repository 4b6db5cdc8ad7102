"""``/metrics`` for Prometheus: django-prometheus's request and process figures,
and Hubport's own, computed when Prometheus scrapes (one collector, registered
once in ``PortalConfig.ready``):

- ``hubport_probe_ok{hub,name,component,severity}`` and
  ``hubport_probe_latency_ms{...}``: each probe's last result (two queries,
  ``hubs.selectors.probe_results_latest_all``); ``hub`` is ``control`` for the
  control plane;
- ``hubport_hub_up{hub}``: 0 while the hub has an unresolved critical
  incident, else 1; ``hubport_hub_open_critical_incidents{hub}`` the count;
- ``hubport_scheduler_heartbeat_age_seconds``: how long beat has been silent;
- ``hubport_celery_queue_length{queue}``: messages waiting, read from Redis
  (LLEN per queue and priority) only when the broker is Redis; other brokers
  have no cheap way to count, so the figure is absent rather than made up.

Open to loopback clients (``REMOTE_ADDR`` 127.0.0.1 or ::1; never
``X-Forwarded-For``, which any client can write) or to
``Authorization: Bearer <HUBPORT_METRICS_TOKEN>`` (compared in constant time);
everyone else gets 403.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.utils import timezone
from django_prometheus.exports import ExportToDjangoView
from prometheus_client.core import REGISTRY, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from hubs.models import Hub
from hubs.selectors import heartbeat_at, open_critical_incidents_by_hub, probe_results_latest_all

logger = logging.getLogger(__name__)

LOOPBACK = frozenset({"127.0.0.1", "::1"})
# Kombu's Redis transport keeps a queue's priorities 3, 6 and 9 in lists of their own.
REDIS_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


class HubportCollector(Collector):
    def describe(self) -> list[Metric]:
        # Named without a query: registering must not touch the database.
        return []

    def collect(self) -> Iterator[Metric]:
        labels = ["hub", "name", "component", "severity"]
        probe_ok = GaugeMetricFamily("hubport_probe_ok", "1 if the probe's last result passed, else 0", labels=labels)
        latency = GaugeMetricFamily(
            "hubport_probe_latency_ms", "The probe's last latency in milliseconds", labels=labels
        )
        for result in probe_results_latest_all():
            values = [result.hub_id or "control", result.name, result.component, result.severity]
            probe_ok.add_metric(values, 1.0 if result.ok else 0.0)
            latency.add_metric(values, result.latency_ms)
        yield probe_ok
        yield latency
        open_by_hub = open_critical_incidents_by_hub()
        hub_up = GaugeMetricFamily(
            "hubport_hub_up", "0 while the hub has an unresolved critical incident", labels=["hub"]
        )
        hub_open = GaugeMetricFamily(
            "hubport_hub_open_critical_incidents", "Unresolved critical incidents of the hub", labels=["hub"]
        )
        for code in [*Hub.objects.values_list("code", flat=True), None]:
            count = open_by_hub.get(code, 0)
            hub_up.add_metric([code or "control"], 0.0 if count else 1.0)
            hub_open.add_metric([code or "control"], float(count))
        yield hub_up
        yield hub_open
        beat = heartbeat_at(name="scheduler")
        if beat is not None:
            yield GaugeMetricFamily(
                "hubport_scheduler_heartbeat_age_seconds",
                "Seconds since beat's last heartbeat",
                value=(timezone.now() - beat).total_seconds(),
            )
        queues = _queue_lengths()
        if queues:
            lengths = GaugeMetricFamily(
                "hubport_celery_queue_length", "Messages waiting in the queue", labels=["queue"]
            )
            for name, length in queues.items():
                lengths.add_metric([name], float(length))
            yield lengths


def _queue_lengths() -> dict[str, int]:
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        return {}
    import redis

    from portal.celery import all_queue_names

    names = all_queue_names()
    try:
        client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        with client.pipeline(transaction=False) as pipe:
            for name in names:
                for suffix in REDIS_PRIORITY_SUFFIXES:
                    pipe.llen(name + suffix)
            counts = pipe.execute()
    except redis.RedisError as exc:
        logger.warning("Queue lengths not measured: %s", type(exc).__name__)
        return {}
    steps = len(REDIS_PRIORITY_SUFFIXES)
    return {name: sum(counts[i * steps : (i + 1) * steps]) for i, name in enumerate(names)}


_registered: list[HubportCollector] = []


def metrics_collector_register() -> None:
    """Register the collector with the default registry once per process."""
    if not _registered:
        collector = HubportCollector()
        REGISTRY.register(collector)
        _registered.append(collector)


def metrics_allowed(request: HttpRequest) -> bool:
    if request.META.get("REMOTE_ADDR") in LOOPBACK:
        return True
    token = getattr(settings, "HUBPORT_METRICS_TOKEN", "")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if not token or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not metrics_allowed(request):
        return HttpResponseForbidden("Metrics are open to loopback or a bearer token.\n", content_type="text/plain")
    return ExportToDjangoView(request)
