"""The probes hubs makes itself: databases, each facility's round trip and free
space, the broker, the scheduler's heartbeat and failing notices. The probes
that need the store (the hub database write, replication, restores) are
registered by snapshots."""

from __future__ import annotations

import secrets
import shutil
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.db import connections
from django.utils import timezone
from kombu import Connection

from hubs.models import Heartbeat, NoticeDelivery
from hubs.monitoring.probes import CRITICAL, WARNING, Check, Probe, Severity
from hubs.monitoring.sign_ins import FAILED, sign_in_events_count
from hubs.monitoring.web_stats import web_stats_read
from hubs.routing import hub_database_alias
from hubs.selectors import heartbeat_at
from hubs.services.probes import heartbeat_record
from hubs.services.worker_pings import worker_heartbeat_name
from hubs.storage import facility_storage
from hubs.tasks import worker_ping_task

# Beat records its heartbeat every minute; silent for two intervals is dead.
SCHEDULER_HEARTBEAT = "scheduler"
SCHEDULER_INTERVAL = timedelta(minutes=1)
SCHEDULER_SILENT_AFTER = 2 * SCHEDULER_INTERVAL
# 80 %: time to add disk before a weekend; 95 %: uploads are about to fail.
SPACE_THRESHOLDS: dict[Severity, float] = {WARNING: 0.80, CRITICAL: 0.95}
ROUND_TRIP_BYTES = 64
PROBE_KEY_PREFIX = "probes/"
NOTICES_FAILING_WINDOW = timedelta(hours=1)
# The worker ping's answer is read every 0.2 s: a worker's answer is seen within
# 0.2 s of its commit, and a 20 s wait costs at most 100 small reads.
PING_POLL_SECONDS = 0.2


def database_read_check(alias: str) -> Callable[[], Check]:
    def check() -> Check:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            row = cursor.fetchone()
        return Check(ok=row is not None and row[0] == 1, detail=f"SELECT 1 on {alias}")

    return check


def control_database_write_check() -> Check:
    heartbeat_record(name="control.write")
    return Check(ok=True, detail="heartbeat control.write updated")


def facility_round_trip_check(hub_code: str, role: str) -> Callable[[], Check]:
    """Put a small random object under probes/, read it back, compare, delete it."""

    def check() -> Check:
        storage = facility_storage(hub_code, role)
        payload = secrets.token_bytes(ROUND_TRIP_BYTES)
        wanted = f"{PROBE_KEY_PREFIX}{hub_code}-{role}-{secrets.token_hex(8)}"
        step = "put"
        key = None
        try:
            key = storage.save(wanted, ContentFile(payload))
            step = "get"
            with storage.open(key, "rb") as handle:
                read_back = handle.read()
            if read_back != payload:
                return Check(ok=False, detail=f"get returned other bytes than put ({len(read_back)} bytes)")
            step = "delete"
            storage.delete(key)
            key = None
        except OSError as exc:
            return Check(ok=False, detail=f"{step} failed on facility {hub_code}/{role}: {type(exc).__name__}")
        finally:
            if key is not None:
                try:
                    storage.delete(key)
                except OSError:
                    pass  # the facility is failing already; the probe says so
        return Check(ok=True, detail=f"put, get, delete of {ROUND_TRIP_BYTES} bytes on {hub_code}/{role}")

    return check


def facility_space_check(hub_code: str, role: str, threshold: float) -> Callable[[], Check]:
    def check() -> Check:
        storage = facility_storage(hub_code, role)
        if not isinstance(storage, FileSystemStorage):
            return Check(ok=True, detail="not measured")
        # A folder facility is made by its first write (the embedded default
        # makes none up front), so until then its disk is the nearest folder above.
        folder = Path(storage.location)
        measured = next(candidate for candidate in (folder, *folder.parents) if candidate.exists())
        usage = shutil.disk_usage(measured)
        used = usage.used / usage.total if usage.total else 1.0
        detail = f"{used:.1%} used (fails at {threshold:.0%})"
        if measured != folder:
            detail += "; folder not made yet, measured the one above"
        return Check(ok=used < threshold, detail=detail)

    return check


def broker_round_trip_check() -> Check:
    with Connection(
        settings.CELERY_BROKER_URL, transport_options=dict(settings.CELERY_BROKER_TRANSPORT_OPTIONS)
    ) as connection:
        connection.ensure_connection(max_retries=1)
        return Check(ok=connection.connected, detail=f"connected ({connection.transport_cls})")


def scheduler_heartbeat_check() -> Check:
    last = heartbeat_at(name=SCHEDULER_HEARTBEAT)
    if last is None:
        return Check(ok=False, detail="no heartbeat from the scheduler yet")
    age = timezone.now() - last
    limit = SCHEDULER_SILENT_AFTER.total_seconds()
    return Check(
        ok=age <= SCHEDULER_SILENT_AFTER,
        detail=f"last heartbeat {age.total_seconds():.0f} s ago (fails after {limit:.0f} s)",
    )


def notices_failing_check(hub_code: str) -> Callable[[], Check]:
    def check() -> Check:
        failed = list(
            NoticeDelivery.objects.filter(
                state=NoticeDelivery.State.FAILED,
                last_attempt_at__gte=timezone.now() - NOTICES_FAILING_WINDOW,
                window__hubs=hub_code,
            )
            .values_list("pk", flat=True)
            .distinct()[:10]
        )
        if failed:
            return Check(ok=False, detail=f"deliveries failed in the last hour: {', '.join(map(str, failed))}")
        return Check(ok=True, detail="no delivery failed in the last hour")

    return check


class WorkerPings:
    """One ping to each hub's workers, all sent by whichever of the control
    round's checks runs first, so the round waits once for the slowest hub
    rather than for each hub in turn. Each ping's time counts from its own send."""

    def __init__(self, hub_codes: list[str]) -> None:
        self.hub_codes = hub_codes
        self.sent: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def send(self, hub_code: str) -> tuple[str, float]:
        with self._lock:
            if not self.sent:
                for code in self.hub_codes:
                    self.sent[code] = _ping_send(code)
            if hub_code not in self.sent:
                self.sent[hub_code] = _ping_send(hub_code)
            return self.sent[hub_code]


def _ping_send(hub_code: str) -> tuple[str, float]:
    token = secrets.token_hex(16)
    sent = time.monotonic()
    # Expires with the wait: a ping nobody took in time is not worth running later.
    worker_ping_task.apply_async(
        kwargs={"hub_code": hub_code, "token": token}, expires=settings.HUBPORT_PROBE_WORKER_WAIT_SECONDS
    )
    return token, sent


def worker_round_trip_check(hub_code: str, pings: WorkerPings | None = None) -> Callable[[], Check]:
    """A ping through the hub's own queue, answered by one of its workers.

    Sent by the control plane's round, not the hub's: a hub whose workers are
    all gone runs no round of its own, and this is what says so; it also
    never waits on a slot of the worker it measures."""

    def check() -> Check:
        wait = settings.HUBPORT_PROBE_WORKER_WAIT_SECONDS
        token, sent = pings.send(hub_code) if pings is not None else _ping_send(hub_code)
        name = worker_heartbeat_name(hub_code)
        while True:
            if Heartbeat.objects.filter(name=name, token=token).exists():
                return Check(ok=True, detail=f"a worker of hub.{hub_code} answered in {time.monotonic() - sent:.1f} s")
            if time.monotonic() - sent >= wait:
                return Check(ok=False, detail=f"no worker of hub.{hub_code} answered within {wait:g} s")
            time.sleep(PING_POLL_SECONDS)

    return check


def web_error_rate_check(hub_code: str | None) -> Callable[[], Check]:
    def check() -> Check:
        minutes = settings.HUBPORT_PROBE_WEB_WINDOW_MINUTES
        stats = web_stats_read(hub_code=hub_code, minutes=minutes)
        limit = settings.HUBPORT_PROBE_WEB_ERROR_RATE
        detail = f"{stats.server_errors} of {stats.requests} requests failed in {minutes} min (fails above {limit:.0%})"
        if stats.requests < settings.HUBPORT_PROBE_WEB_MIN_REQUESTS:
            return Check(ok=True, detail=f"{detail}; too few requests to judge")
        return Check(ok=stats.error_rate <= limit, detail=detail)

    return check


def web_latency_check(hub_code: str | None) -> Callable[[], Check]:
    def check() -> Check:
        minutes = settings.HUBPORT_PROBE_WEB_WINDOW_MINUTES
        stats = web_stats_read(hub_code=hub_code, minutes=minutes)
        limit = settings.HUBPORT_PROBE_WEB_P95_MS
        p95 = stats.latency_percentile_ms(0.95)
        shown = "none" if p95 is None else ("over 10000 ms" if p95 == float("inf") else f"at most {p95:g} ms")
        detail = f"p95 {shown} over {stats.requests} requests in {minutes} min (fails above {limit:g} ms)"
        if p95 is None or stats.requests < settings.HUBPORT_PROBE_WEB_MIN_REQUESTS:
            return Check(ok=True, detail=f"{detail}; too few requests to judge")
        return Check(ok=p95 <= limit, detail=detail)

    return check


def failed_sign_ins_check(hub_code: str | None) -> Callable[[], Check]:
    def check() -> Check:
        minutes = settings.HUBPORT_PROBE_FAILED_SIGN_INS_MINUTES
        limit = settings.HUBPORT_PROBE_FAILED_SIGN_INS
        failed = sign_in_events_count(hub_code=hub_code, kind=FAILED, minutes=minutes)
        return Check(ok=failed <= limit, detail=f"{failed} failed sign-ins in {minutes} min (fails above {limit})")

    return check


def edge_probes(hub_code: str | None) -> list[Probe]:
    """What the web tier saw of a hub (or of the control plane's pages)."""
    return [
        Probe("web.error_rate", hub_code, "web", WARNING, web_error_rate_check(hub_code)),
        Probe("web.latency_p95", hub_code, "web", WARNING, web_latency_check(hub_code)),
        Probe("security.failed_sign_ins", hub_code, "security", WARNING, failed_sign_ins_check(hub_code)),
    ]


def hub_probes(hub_code: str | None) -> list[Probe]:
    """hubs' own probes of one hub, or of the control plane for None."""
    if hub_code is None:
        pings = WorkerPings(list(settings.HUB_CODES))
        return [
            Probe("control_database.read", None, "database", CRITICAL, database_read_check("default")),
            Probe("control_database.write", None, "database", CRITICAL, control_database_write_check),
            Probe("broker.round_trip", None, "broker", CRITICAL, broker_round_trip_check),
            Probe("scheduler.heartbeat", None, "scheduler", CRITICAL, scheduler_heartbeat_check),
            *edge_probes(None),
            *(
                Probe(
                    "workers.round_trip",
                    code,
                    "workers",
                    CRITICAL,
                    worker_round_trip_check(code, pings),
                    # The runner's bound leaves the check time to say it waited.
                    timeout_seconds=settings.HUBPORT_PROBE_WORKER_WAIT_SECONDS + 5,
                )
                for code in settings.HUB_CODES
            ),
        ]
    probes = [
        *edge_probes(hub_code),
        Probe("database.read", hub_code, "database", CRITICAL, database_read_check(hub_database_alias(hub_code))),
        # The hub's workers need the control database and the broker too.
        Probe("control_database.read", hub_code, "database", CRITICAL, database_read_check("default")),
        Probe("broker.round_trip", hub_code, "broker", CRITICAL, broker_round_trip_check),
        Probe("notices.failing", hub_code, "notices", WARNING, notices_failing_check(hub_code)),
    ]
    for role in settings.FACILITY_ROLES:
        component = f"storage.{role}"
        probes.append(
            Probe(f"{component}.round_trip", hub_code, component, CRITICAL, facility_round_trip_check(hub_code, role))
        )
        for severity, threshold in SPACE_THRESHOLDS.items():
            probes.append(
                Probe(
                    f"{component}.space.{severity}",
                    hub_code,
                    component,
                    severity,
                    facility_space_check(hub_code, role, threshold),
                )
            )
    return probes
