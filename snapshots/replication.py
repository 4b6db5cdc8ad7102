"""Replication repair: every blob reaches both facilities of its hub.

An upload writes a blob to both facilities before its row commits; when the
second facility is down or fails mid-write, the row is marked
``needs_replication`` and the upload still succeeds. This job copies each such
blob from a facility holding the right bytes to the one missing them, reads the
copy back to check its SHA-256, and only then clears the mark, with a
conditional update so two workers never both count one blob. It runs on the
hub's own queue every few minutes and as soon as a facility is marked
available again; log lines carry blob and tenant ids, never file names.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass

from django.conf import settings
from django.core.files.storage import Storage
from django.db.models import Sum
from django.utils import timezone

from hubs.models import Facility
from hubs.storage import facility_storage
from snapshots.blobs import CHUNK_BYTES, _put, spool_directory, temporary_claim
from snapshots.models import Blob

logger = logging.getLogger(__name__)

# 500 blobs a batch: one batch's database work stays under a second, and a
# worker killed mid-batch repeats at most 500 copies (each is idempotent).
BATCH_BLOBS = 500


@dataclass(frozen=True)
class ReplicationBacklog:
    """Blobs of a hub waiting for their second facility."""

    blobs: int
    bytes: int


@dataclass
class RepairResult:
    checked: int = 0
    copied: int = 0
    already_present: int = 0
    waiting: int = 0  # a facility is unavailable: tried again on the next run
    unrecoverable: int = 0  # no facility holds bytes with the right hash

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def replication_backlog(*, hub_code: str) -> ReplicationBacklog:
    """How many blobs (and bytes) of the hub still miss a facility."""
    waiting = Blob.objects.for_hub(hub_code).filter(needs_replication=True)
    totals = waiting.aggregate(bytes=Sum("size"))
    return ReplicationBacklog(blobs=waiting.count(), bytes=totals["bytes"] or 0)


def sha256_of(storage: Storage, key: str) -> str | None:
    """The SHA-256 of the object at ``key``, or None when it cannot be read."""
    digest = hashlib.sha256()
    try:
        with storage.open(key, "rb") as handle:
            while chunk := handle.read(CHUNK_BYTES):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def copy_verified(source: Storage, target: Storage, key: str, *, sha256: str, size: int, replace: bool = False) -> bool:
    """Copy ``key`` from ``source`` to ``target`` through a local spool file,
    hashing on the way in and reading the target back. False when the source's
    bytes are not the blob's."""
    spool_path, claim = temporary_claim(spool_directory(), "replicate-")
    try:
        digest = hashlib.sha256()
        with open(spool_path, "wb") as spool, source.open(key, "rb") as handle:
            while chunk := handle.read(CHUNK_BYTES):
                digest.update(chunk)
                spool.write(chunk)
        if digest.hexdigest() != sha256:
            return False
        _put(target, key, spool_path, size, replace=replace)
    finally:
        spool_path.unlink(missing_ok=True)
        os.close(claim)
    return sha256_of(target, key) == sha256


def _repair_one(blob: Blob, facilities: list[Facility], result: RepairResult) -> bool:
    """Bring one blob to every facility; True when it is in all of them, checked."""
    storages = {facility.role: facility_storage(facility.hub_id, facility.role) for facility in facilities}
    key = blob.storage_key
    hashes = {role: sha256_of(storage, key) for role, storage in storages.items()}
    good = [role for role, digest in hashes.items() if digest == blob.sha256]
    if not good:
        logger.error(
            "Blob %s of tenant %s has no good copy in any facility of hub %s", blob.pk, blob.tenant_id, blob._state.db
        )
        result.unrecoverable += 1
        return False
    missing = [role for role in storages if role not in good]
    if not missing:
        result.already_present += 1
        return True
    for role in missing:
        try:
            copied = copy_verified(storages[good[0]], storages[role], key, sha256=blob.sha256, size=blob.size)
        except OSError as exc:
            logger.warning("Copying blob %s to facility %s failed: %s", blob.pk, role, type(exc).__name__)
            result.waiting += 1
            return False
        if not copied:
            result.unrecoverable += 1
            return False
    result.copied += 1
    return True


def replication_repair(
    *, hub_code: str, batch_blobs: int = BATCH_BLOBS, max_batches: int | None = None
) -> RepairResult:
    """Copy every blob of the hub that waits for its second facility. Does
    nothing while a facility of the hub is unavailable (the blobs wait: the
    next run, or the facility coming back, picks them up)."""
    result = RepairResult()
    facilities = list(Facility.objects.filter(hub_id=hub_code).order_by("role"))
    if len(facilities) < len(settings.FACILITY_ROLES) or not all(facility.is_available for facility in facilities):
        result.waiting = replication_backlog(hub_code=hub_code).blobs
        return result
    blobs = Blob.objects.for_hub(hub_code)
    after_pk = 0
    batches = 0
    while max_batches is None or batches < max_batches:
        batch = list(blobs.filter(needs_replication=True, pk__gt=after_pk).order_by("pk")[:batch_blobs])
        if not batch:
            break
        batches += 1
        after_pk = batch[-1].pk
        for blob in batch:
            result.checked += 1
            if _repair_one(blob, facilities, result):
                blobs.filter(pk=blob.pk, needs_replication=True).update(
                    needs_replication=False, verified_at=timezone.now()
                )
    if result.copied or result.unrecoverable:
        logger.info("Replication repair in hub %s: %s", hub_code, result.as_dict())
    return result
