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

One walk (``_walk``) serves every caller: ``scrub_pass`` (``manage.py scrub``:
a whole pass now, unbounded unless told), ``scrub_slice`` (the scheduled pass:
a few minutes at a time on the hub's queue, from the cursor in ``ScrubPass``,
at most ``HUBPORT_SCRUB_MIB_S``) and ``scrub_blob`` (one blob a download found
bad). Nothing is judged while a facility of the hub is marked unavailable: a
copy missing from a facility that is down is not rot.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from hubs.models import Facility
from hubs.routing import hub_database_alias
from hubs.storage import facility_storage
from snapshots.models import Blob, ScrubFinding, ScrubPass
from snapshots.replication import BATCH_BLOBS, copy_verified, sha256_of

logger = logging.getLogger(__name__)
MIB = 1024 * 1024
GOOD = "good"
# A slice's claim on its pass outlives the slice by this much, so a slow last
# blob does not let a second worker in; a killed worker's claim runs out after it.
CLAIM_MARGIN = timedelta(seconds=60)


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


def _digest(storage: Storage, key: str) -> str | None:
    """The copy's SHA-256; ``ScrubFinding.Kind.MISSING`` when absent, None when unreadable."""
    if isinstance(storage, FileSystemStorage):
        # hashlib.file_digest reads into one reused buffer (no bytes object per
        # chunk) and hashes without the GIL: as fast as sha256sum (bench_scrub).
        try:
            with open(storage.path(key), "rb") as handle:
                return hashlib.file_digest(handle, "sha256").hexdigest()
        except FileNotFoundError:
            return ScrubFinding.Kind.MISSING
        except OSError:
            return None
    try:
        if not storage.exists(key):
            return ScrubFinding.Kind.MISSING
    except OSError:
        return ScrubFinding.Kind.MISSING
    return sha256_of(storage, key)


def _copy_state(storage: Storage, key: str, sha256: str) -> str:
    """``good``, ``missing`` or ``corrupt`` (bytes that are not the blob's, or unreadable)."""
    digest = _digest(storage, key)
    if digest == ScrubFinding.Kind.MISSING:
        return ScrubFinding.Kind.MISSING
    return GOOD if digest == sha256 else ScrubFinding.Kind.CORRUPT


class _Pace:
    """Keeps the bytes read under ``mib_per_s`` by waiting between blobs: after
    ``n`` bytes, at least ``n / rate`` seconds have passed since the start."""

    def __init__(
        self,
        mib_per_s: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = mib_per_s * MIB if mib_per_s else None
        self.clock = clock
        self.sleep = sleep
        self.started = clock()

    def wait_for(self, total_bytes: int) -> float:
        """Seconds to wait, having read ``total_bytes`` since the start."""
        if self.rate is None:
            return 0.0
        return max(0.0, total_bytes / self.rate - (self.clock() - self.started))

    def after(self, total_bytes: int) -> None:
        ahead = self.wait_for(total_bytes)
        if ahead > 0:
            self.sleep(ahead)  # a rate limit of real reads, not synchronisation


@dataclass
class _Walk:
    """What one run of the walk shares: the hub, its storages, the pass, the pace, the counts."""

    hub_code: str
    storages: dict[str, Storage]
    pass_started_at: datetime
    pace: _Pace
    result: ScrubResult


def _storages(hub_code: str) -> dict[str, Storage] | None:
    """The hub's facility storages by role, or None while one is unavailable."""
    facilities = list(Facility.objects.filter(hub_id=hub_code).order_by("role"))
    if len(facilities) < len(settings.FACILITY_ROLES) or not all(facility.is_available for facility in facilities):
        return None
    return {facility.role: facility_storage(hub_code, facility.role) for facility in facilities}


UNAVAILABLE = "a facility of the hub is unavailable"


def _record(walk: _Walk, blob: Blob, *, kind: str, role: str, repaired: bool) -> None:
    now = timezone.now()
    finding = ScrubFinding.objects.for_hub(walk.hub_code).create(
        tenant_id=blob.tenant_id,
        blob_id=blob.pk,
        sha256=blob.sha256,
        facility=role,
        kind=kind,
        pass_started_at=walk.pass_started_at,
        found_at=now,
        repaired_at=now if repaired else None,
    )
    walk.result.findings.append(
        {
            "finding": finding.pk,
            "tenant": blob.tenant_id,
            "blob": blob.pk,
            "facility": role,
            "kind": kind,
            "repaired": repaired,
        }
    )


def _scrub_one(walk: _Walk, blob: Blob, open_findings: list[ScrubFinding]) -> bool:
    """Check and repair one blob; True when every copy is good afterwards.
    ``open_findings`` are the blob's unrepaired findings (read per batch)."""
    key = blob.storage_key
    states = {role: _copy_state(storage, key, blob.sha256) for role, storage in walk.storages.items()}
    result = walk.result
    result.bytes += blob.size * sum(1 for state in states.values() if state != ScrubFinding.Kind.MISSING)
    good = [role for role, state in states.items() if state == GOOD]
    open_lost = [finding.pk for finding in open_findings if finding.kind == ScrubFinding.Kind.LOST]
    if not good:
        result.lost += 1
        if not open_lost:
            logger.error("Blob %s of tenant %s has no good copy in hub %s", blob.pk, blob.tenant_id, walk.hub_code)
            _record(walk, blob, kind=ScrubFinding.Kind.LOST, role="", repaired=False)
        return False
    whole = True
    for role, state in states.items():
        if state == GOOD:
            continue
        try:
            repaired = copy_verified(
                walk.storages[good[0]],
                walk.storages[role],
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
        if repaired:
            good.append(role)
        _record(walk, blob, kind=state, role=role, repaired=repaired)
    # Close what is true no more: a lost blob whose good copy came back (a
    # facility restored from backup), a copy a download found bad that is good now.
    closing = open_lost + [
        finding.pk for finding in open_findings if finding.kind != ScrubFinding.Kind.LOST and finding.facility in good
    ]
    if closing:
        ScrubFinding.objects.for_hub(walk.hub_code).filter(pk__in=closing).update(repaired_at=timezone.now())
    return whole


def _scrub_batch(walk: _Walk, batch: list[Blob], stop: Callable[[], bool] | None) -> int:
    """Scrub the blobs of ``batch`` in order until ``stop`` says so; returns how
    many were checked. Two queries a batch besides the findings: the open
    findings of the batch's blobs, and one update of the whole ones' ``verified_at``."""
    findings: dict[int, list[ScrubFinding]] = {}
    for finding in ScrubFinding.objects.for_hub(walk.hub_code).filter(
        blob_id__in=[blob.pk for blob in batch], repaired_at__isnull=True
    ):
        findings.setdefault(finding.blob_id, []).append(finding)
    whole: list[int] = []
    checked = 0
    for blob in batch:
        if stop is not None and stop():
            break
        walk.result.checked += 1
        checked += 1
        if _scrub_one(walk, blob, findings.get(blob.pk, [])):
            whole.append(blob.pk)
        walk.pace.after(walk.result.bytes)
    if whole:
        Blob.objects.for_hub(walk.hub_code).filter(pk__in=whole).update(verified_at=timezone.now())
    return checked


def _walk(
    walk: _Walk,
    blobs: QuerySet[Blob],
    *,
    after_pk: int,
    batch_blobs: int,
    stop: Callable[[], bool] | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> tuple[int, bool]:
    """Scrub ``blobs`` in id order after ``after_pk``: the one loop of every
    scrub. Returns the last id checked and whether the end was reached;
    ``on_batch`` is told the last id after every batch (the cursor)."""
    while True:
        batch = list(blobs.filter(pk__gt=after_pk).order_by("pk")[:batch_blobs])
        if not batch:
            return after_pk, True
        checked = _scrub_batch(walk, batch, stop)
        if checked:
            after_pk = batch[checked - 1].pk
            if on_batch is not None:
                on_batch(after_pk)
        if checked < len(batch):
            return after_pk, False


def _log(hub_code: str, result: ScrubResult) -> None:
    if result.findings:
        logger.warning(
            "Scrub of hub %s: %s checked, %s repaired, %s lost", hub_code, result.checked, result.repaired, result.lost
        )


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
    result = ScrubResult()
    storages = _storages(hub_code)
    if storages is None:
        result.skipped = UNAVAILABLE
        return result
    blobs = (
        Blob.objects.for_hub(hub_code)
        if tenant_id is None
        else Blob.objects.for_tenant_id(tenant_id, hub_code=hub_code)
    )
    walk = _Walk(hub_code, storages, timezone.now(), _Pace(mib_per_s), result)
    _walk(walk, blobs, after_pk=after_pk, batch_blobs=batch_blobs)
    result.seconds = time.monotonic() - started
    _log(hub_code, result)
    return result


def scrub_blob(*, hub_code: str, blob_id: int) -> ScrubResult:
    """Check and repair one blob now (a download found a copy bad)."""
    result = ScrubResult()
    blob = Blob.objects.for_hub(hub_code).filter(pk=blob_id).first()
    storages = _storages(hub_code)
    if blob is None:
        result.skipped = "the blob is gone"
    elif storages is None:
        result.skipped = UNAVAILABLE
    else:
        _scrub_batch(_Walk(hub_code, storages, timezone.now(), _Pace(None), result), [blob], None)
        _log(hub_code, result)
    return result


# SECTION: the scheduled pass, in slices


@dataclass
class ScrubSlice:
    """What one slice of the scheduled pass did, and where the pass stands."""

    pass_id: int | None
    result: ScrubResult
    finished: bool = False

    def as_dict(self) -> dict[str, Any]:
        figures = self.result.as_dict()
        figures.pop("findings")
        return {"pass": self.pass_id, "finished": self.finished, **figures}


def _pass_to_work_on(hub_code: str, now: datetime) -> ScrubPass | str:
    """The hub's unfinished pass, a new one when the last started an interval
    ago, or why there is nothing to do."""
    passes = ScrubPass.objects.using(hub_database_alias(hub_code)).filter(hub_code=hub_code)
    current = passes.filter(finished_at__isnull=True).first()
    if current is not None:
        return current
    last = passes.order_by("-started_at").first()
    if last is not None:
        due = last.started_at + timedelta(days=settings.HUBPORT_SCRUB_INTERVAL_DAYS)
        if now < due:
            return f"the next pass is due at {due:%Y-%m-%d %H:%M} UTC"
    try:
        with transaction.atomic(using=hub_database_alias(hub_code)):
            return passes.create(hub_code=hub_code, started_at=now)
    except IntegrityError:
        return "another worker started the pass"


def scrub_slice(*, hub_code: str, slice_seconds: float | None = None, max_blobs: int | None = None) -> ScrubSlice:
    """One slice of the hub's scheduled pass: resume from its cursor and check
    blobs for at most ``slice_seconds`` (``HUBPORT_SCRUB_SLICE_SECONDS``) or
    ``max_blobs``, at most ``HUBPORT_SCRUB_MIB_S``, saving the cursor and the
    counts after every batch; a killed worker repeats at most one batch."""
    started = time.monotonic()
    now = timezone.now()
    slice_seconds = settings.HUBPORT_SCRUB_SLICE_SECONDS if slice_seconds is None else slice_seconds
    result = ScrubResult()
    if _storages(hub_code) is None:
        result.skipped = UNAVAILABLE
        return ScrubSlice(pass_id=None, result=result)
    found = _pass_to_work_on(hub_code, now)
    if isinstance(found, str):
        result.skipped = found
        return ScrubSlice(pass_id=None, result=result)
    passes = ScrubPass.objects.using(hub_database_alias(hub_code)).filter(pk=found.pk)
    claim = timedelta(seconds=slice_seconds) + CLAIM_MARGIN
    claimed = passes.filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)).update(claimed_until=now + claim)
    if not claimed:
        result.skipped = "another worker is on this pass"
        return ScrubSlice(pass_id=found.pk, result=result)
    storages = _storages(hub_code)
    assert storages is not None  # checked above; a facility marked down since waits for the next slice
    walk = _Walk(hub_code, storages, found.started_at, _Pace(settings.HUBPORT_SCRUB_MIB_S), result)
    deadline = started + slice_seconds

    def stop() -> bool:
        return time.monotonic() >= deadline or (max_blobs is not None and result.checked >= max_blobs)

    def save(after_pk: int) -> None:
        passes.update(
            after_blob_pk=after_pk,
            checked=found.checked + result.checked,
            repaired=found.repaired + result.repaired,
            lost=found.lost + result.lost,
            bytes=found.bytes + result.bytes,
            claimed_until=timezone.now() + claim,
        )

    _, finished = _walk(
        walk,
        Blob.objects.for_hub(hub_code),
        after_pk=found.after_blob_pk,
        batch_blobs=settings.HUBPORT_SCRUB_BATCH_BLOBS,
        stop=stop,
        on_batch=save,
    )
    result.seconds = time.monotonic() - started
    passes.update(
        finished_at=timezone.now() if finished else None,
        seconds=F("seconds") + result.seconds,
        slices=F("slices") + 1,
        claimed_until=None,
    )
    _log(hub_code, result)
    return ScrubSlice(pass_id=found.pk, result=result, finished=finished)


def scrub_lost_open(*, hub_code: str) -> list[ScrubFinding]:
    """The hub's lost blobs nobody has found a good copy of since."""
    return list(
        ScrubFinding.objects.for_hub(hub_code)
        .filter(kind=ScrubFinding.Kind.LOST, repaired_at__isnull=True)
        .order_by("found_at")
    )
