"""The drill's load and disaster, run inside the drill's own environment (one
hub on the primary cluster, its storage folders in the drill's data folder).

Several threads upload, overwrite and delete files through the store's
services, each on its own paths, recording every acknowledged call in the
ledger. Once enough calls were acknowledged, and while the threads still
write, the primary cluster is stopped with ``-m immediate``, the primary
storage folder is removed and the primary facility is marked unavailable, as
monitoring would. Each thread stops at its first failed call (in doubt).
"""

from __future__ import annotations

import hashlib
import io
import random
import secrets
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import connections

from hubs.models import Facility, Tenant
from hubs.services.hubs import facility_set_availability
from hubs.storage import facility_storage
from hubs.testing.pg_clusters import Cluster
from portal.drill.ledger import Absent, Ledger, State
from portal.services.tenants import tenant_create
from snapshots.services.files import file_write, node_delete

HUB_CODE = "uk"
# Eight files a thread, so overwrites and deletes of live files are common.
PATHS_PER_THREAD = 8
# 1 to 64 KiB: enough bytes to hash and copy, small enough that hundreds of
# calls take seconds.
MAX_FILE_BYTES = 64 * 1024
# A thread still writing this long after the disaster is stuck, not slow.
STOP_SECONDS = 30
DISASTER_REASON = "drill: primary facility lost"


@dataclass
class LoadResult:
    tenant_id: int
    ledger: Ledger
    disaster_at: float
    calls_before_disaster: int
    errors_before_disaster: list[str] = field(default_factory=list)
    threads_stuck: int = 0
    load_seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "ledger": self.ledger.to_json(),
            "disaster_at": self.disaster_at,
            "calls_before_disaster": self.calls_before_disaster,
            "errors_before_disaster": self.errors_before_disaster,
            "threads_stuck": self.threads_stuck,
            "load_seconds": self.load_seconds,
        }


class _Writer(threading.Thread):
    def __init__(self, *, index: int, tenant: Tenant, ledger: Ledger, seed: int, shared: _Shared) -> None:
        super().__init__(name=f"drill-writer-{index}", daemon=True)
        self.paths = [f"/drill/w{index}/f{n}.bin" for n in range(PATHS_PER_THREAD)]
        self.tenant, self.ledger, self.random, self.shared = tenant, ledger, random.Random(seed), shared  # noqa: S311
        self.live: set[str] = set()

    def run(self) -> None:
        try:
            while not self.shared.stop.is_set() and self._one_call():
                self.shared.count()
        finally:
            connections.close_all()

    def _one_call(self) -> bool:
        """One upload, overwrite or delete; False once a call failed."""
        path = self.random.choice(self.paths)
        deleting = path in self.live and self.random.random() < 0.25
        body = b"" if deleting else secrets.token_bytes(self.random.randint(1024, MAX_FILE_BYTES))
        intended: State = Absent if deleting else hashlib.sha256(body).hexdigest()
        before_disaster = not self.shared.disaster.is_set()
        try:
            if deleting:
                version = node_delete(tenant=self.tenant, path=path, acting_user=None)
            else:
                version = file_write(
                    tenant=self.tenant, path=path, stream=io.BytesIO(body), content_length=len(body), acting_user=None
                )
        except Exception as exc:  # noqa: BLE001 - any failure leaves the call in doubt
            self.ledger.doubt(path, intended)
            if before_disaster and not self.shared.disaster.is_set():
                self.shared.error(f"{self.name}: {type(exc).__name__} before the disaster")
            return False
        self.ledger.acknowledge(path, intended, node_id=version.node_id, version_id=version.pk)
        if deleting:
            self.live.discard(path)
        else:
            self.live.add(path)
        return True


class _Shared:
    def __init__(self) -> None:
        self.stop = threading.Event()
        self.disaster = threading.Event()
        self.lock = threading.Lock()
        self.calls = 0
        self.errors: list[str] = []

    def count(self) -> None:
        with self.lock:
            self.calls += 1

    def error(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)


def drill_tenant_create() -> Tenant:
    suffix = secrets.token_hex(4)
    result = tenant_create(
        name=f"Drill {suffix}",
        hub_code=HUB_CODE,
        owner_email=f"drill-{suffix}@example.com",
        owner_password=secrets.token_urlsafe(24),
    )
    return result.tenant


def primary_storage_folder() -> Path:
    return Path(facility_storage(HUB_CODE, Facility.Role.PRIMARY).path(""))


def load_and_disaster(
    *, primary: Cluster, threads: int, calls_before_disaster: int, seed: int, deadline: float
) -> LoadResult:
    """Run the writers, then the disaster while they write; returns once every
    writer stopped (or ``STOP_SECONDS`` after the disaster)."""
    tenant = drill_tenant_create()
    ledger, shared = Ledger(), _Shared()
    writers = [_Writer(index=n, tenant=tenant, ledger=ledger, seed=seed + n, shared=shared) for n in range(threads)]
    began = time.monotonic()
    for writer in writers:
        writer.start()
    while shared.calls < calls_before_disaster and not shared.errors:
        if time.monotonic() >= deadline or not any(writer.is_alive() for writer in writers):
            break
        time.sleep(0.05)  # polling the count, which the writers move
    calls, load_seconds = shared.calls, time.monotonic() - began
    shared.disaster.set()
    disaster_at = time.time()
    primary.stop("immediate")
    shutil.rmtree(primary_storage_folder(), ignore_errors=True)
    facility = Facility.objects.get(hub_id=HUB_CODE, role=Facility.Role.PRIMARY)
    facility_set_availability(facility=facility, is_available=False, acting_user=None, reason=DISASTER_REASON)
    for writer in writers:
        writer.join(timeout=max(0.0, STOP_SECONDS - (time.time() - disaster_at)))
    shared.stop.set()
    stuck = sum(writer.is_alive() for writer in writers)
    connections.close_all()
    return LoadResult(
        tenant_id=tenant.pk,
        ledger=ledger,
        disaster_at=disaster_at,
        calls_before_disaster=calls,
        errors_before_disaster=list(shared.errors),
        threads_stuck=stuck,
        load_seconds=round(load_seconds, 1),
    )
