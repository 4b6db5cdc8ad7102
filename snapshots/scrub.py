"""Scrub: every copy of every blob of a hub re-read and re-hashed.

Replication repair copies the blobs an upload marked; scrub finds what nobody
marked: a copy that rotted, was truncated or vanished from a facility. Each
blob's copies are hashed; a bad copy (missing, or bytes that are not the
blob's) is replaced from a facility whose copy is good, read back and checked,
and the finding is recorded in the hub (``ScrubFinding``: blob, facility, kind,
the pass, repaired or not). A blob with no good copy anywhere is ``lost``: one
open finding, which the ``storage.integrity`` probe reports (so the ordinary
round opens a critical incident naming tenant and blob ids) until a later pass
finds a good copy again. Log lines and findings carry ids, never file names.

``scrub_pass`` reads at most ``mib_per_s`` (``HUBPORT_SCRUB_MIB_S`` for the
scheduled passes; unbounded for ``manage.py scrub``), and does nothing while a
facility of the hub is marked unavailable: a copy missing from a facility that
is down is not rot.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.files.storage import Storage
from django.utils import timezone

from hubs.models import Facility
from hubs.storage import facility_storage
from snapshots.models import Blob, ScrubFinding
from snapshots.replication import BATCH_BLOBS, copy_verified, sha256_of

logger = logging.getLogger(__name__)
MIB = 1024 * 1024


@dataclass
class ScrubResult:
    checked: int = 0
    repaired: int = 0
    lost: int = 0
    bytes: int = 0
    seconds: float = 0.0
    skipped: str = ""
    findings: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "seconds": round(self.seconds, 3)}


def _copy_state(storage: Storage, key: str, sha256: str) -> str:
    """ "good", "missing" or "corrupt" (bytes that are not the blob's, or unreadable)."""
    try:
        if not storage.exists(key):
            return ScrubFinding.Kind.MISSING
    except OSError:
        return ScrubFinding.Kind.MISSING
    return "good" if sha256_of(storage, key) == sha256 else ScrubFinding.Kind.CORRUPT


class _Pace:
    """Keeps the bytes read under ``mib_per_s`` by waiting between blobs."""

    def __init__(self, mib_per_s: float | None) -> None:
        self.rate = mib_per_s * MIB if mib_per_s else None
        self.started = time.monotonic()

    def after(self, total_bytes: int) -> None:
        if self.rate is None:
            return
        ahead = total_bytes / self.rate - (time.monotonic() - self.started)
        if ahead > 0:
            time.sleep(ahead)  # a rate limit of real reads, not synchronisation


def _record(blob: Blob, *, hub_code: str, kind: str, role: str, pass_started_at: datetime, repaired: bool) -> dict:
    now = timezone.now()
    finding = ScrubFinding.objects.for_hub(hub_code).create(
        tenant_id=blob.tenant_id,
        blob_id=blob.pk,
        sha256=blob.sha256,
        facility=role,
        kind=kind,
        pass_started_at=pass_started_at,
        found_at=now,
        repaired_at=now if repaired else None,
    )
    return {
        "finding": finding.pk,
        "tenant": blob.tenant_id,
        "blob": blob.pk,
        "facility": role,
        "kind": kind,
        "repaired": repaired,
    }


def _scrub_one(
    blob: Blob, *, hub_code: str, storages: dict[str, Storage], pass_started_at: datetime, result: ScrubResult
) -> None:
    key = blob.storage_key
    states = {role: _copy_state(storage, key, blob.sha256) for role, storage in storages.items()}
    result.bytes += blob.size * sum(1 for state in states.values() if state != ScrubFinding.Kind.MISSING)
    good = [role for role, state in states.items() if state == "good"]
    open_lost = ScrubFinding.objects.for_hub(hub_code).filter(
        blob_id=blob.pk, kind=ScrubFinding.Kind.LOST, repaired_at__isnull=True
    )
    if not good:
        result.lost += 1
        if not open_lost.exists():
            logger.error("Blob %s of tenant %s has no good copy in hub %s", blob.pk, blob.tenant_id, hub_code)
            result.findings.append(
                _record(
                    blob,
                    hub_code=hub_code,
                    kind=ScrubFinding.Kind.LOST,
                    role="",
                    pass_started_at=pass_started_at,
                    repaired=False,
                )
            )
        return
    whole = True
    for role, state in states.items():
        if state == "good":
            continue
        try:
            repaired = copy_verified(
                storages[good[0]],
                storages[role],
                key,
                sha256=blob.sha256,
                size=blob.size,
                replace=state == ScrubFinding.Kind.CORRUPT,
            )
        except OSError as exc:
            logger.warning("Scrub could not rewrite blob %s in facility %s: %s", blob.pk, role, type(exc).__name__)
            repaired = False
        result.repaired += int(repaired)
        whole = whole and repaired
        result.findings.append(
            _record(blob, hub_code=hub_code, kind=state, role=role, pass_started_at=pass_started_at, repaired=repaired)
        )
    # A blob once lost whose copy came back (a facility restored from backup) is whole again.
    open_lost.update(repaired_at=timezone.now())
    if whole:
        Blob.objects.for_hub(hub_code).filter(pk=blob.pk).update(verified_at=timezone.now())


def scrub_pass(
    *,
    hub_code: str,
    mib_per_s: float | None = None,
    batch_blobs: int = BATCH_BLOBS,
    after_pk: int = 0,
    tenant_id: int | None = None,
) -> ScrubResult:
    """Check every copy of every blob of the hub (from ``after_pk`` on; only
    ``tenant_id``'s when given), repairing what a good copy allows; returns what
    was checked, repaired and lost."""
    started = time.monotonic()
    pass_started_at = timezone.now()
    result = ScrubResult()
    facilities = list(Facility.objects.filter(hub_id=hub_code).order_by("role"))
    if len(facilities) < len(settings.FACILITY_ROLES) or not all(facility.is_available for facility in facilities):
        result.skipped = "a facility of the hub is unavailable"
        return result
    storages = {facility.role: facility_storage(hub_code, facility.role) for facility in facilities}
    pace = _Pace(mib_per_s)
    blobs = (
        Blob.objects.for_hub(hub_code)
        if tenant_id is None
        else Blob.objects.for_tenant_id(tenant_id, hub_code=hub_code)
    )
    while True:
        batch = list(blobs.filter(pk__gt=after_pk).order_by("pk")[:batch_blobs])
        if not batch:
            break
        after_pk = batch[-1].pk
        for blob in batch:
            result.checked += 1
            _scrub_one(blob, hub_code=hub_code, storages=storages, pass_started_at=pass_started_at, result=result)
            pace.after(result.bytes)
    result.seconds = time.monotonic() - started
    if result.findings:
        logger.warning(
            "Scrub of hub %s: %s checked, %s repaired, %s lost", hub_code, result.checked, result.repaired, result.lost
        )
    return result


def scrub_lost_open(*, hub_code: str) -> list[ScrubFinding]:
    """The hub's lost blobs nobody has found a good copy of since."""
    return list(
        ScrubFinding.objects.for_hub(hub_code)
        .filter(kind=ScrubFinding.Kind.LOST, repaired_at__isnull=True)
        .order_by("found_at")
    )
