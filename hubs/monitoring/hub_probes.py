"""The probes hubs makes itself: databases, each facility's round trip and free
space, the broker, the scheduler's heartbeat and failing notices. The probes
that need the store (the hub database write, replication, restores) are
registered by snapshots."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.db import connections
from django.utils import timezone
from kombu import Connection

from hubs.models import NoticeDelivery
from hubs.monitoring.probes import CRITICAL, WARNING, Check, Probe, Severity
from hubs.routing import hub_database_alias
from hubs.selectors import heartbeat_at
from hubs.services.probes import heartbeat_record
from hubs.storage import facility_storage

# Beat records its heartbeat every minute; silent for two intervals is dead.
SCHEDULER_HEARTBEAT = "scheduler"
SCHEDULER_INTERVAL = timedelta(minutes=1)
SCHEDULER_SILENT_AFTER = 2 * SCHEDULER_INTERVAL
# 80 %: time to add disk before a weekend; 95 %: uploads are about to fail.
SPACE_THRESHOLDS: dict[Severity, float] = {WARNING: 0.80, CRITICAL: 0.95}
ROUND_TRIP_BYTES = 64
PROBE_KEY_PREFIX = "probes/"
NOTICES_FAILING_WINDOW = timedelta(hours=1)


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


def hub_probes(hub_code: str | None) -> list[Probe]:
    """hubs' own probes of one hub, or of the control plane for None."""
    if hub_code is None:
        return [
            Probe("control_database.read", None, "database", CRITICAL, database_read_check("default")),
            Probe("control_database.write", None, "database", CRITICAL, control_database_write_check),
            Probe("broker.round_trip", None, "broker", CRITICAL, broker_round_trip_check),
            Probe("scheduler.heartbeat", None, "scheduler", CRITICAL, scheduler_heartbeat_check),
        ]
    probes = [
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
