"""Blob bytes in batches (the bulk upload, ``snapshots.services.ingest``):
each file's bytes land in claimed temporaries in both facilities while they
are hashed; every ``FLUSH_GROUP`` files, the new contents are renamed to their
keys and flushed to disk together, before the one transaction that references
them. Contents already stored are not written again. Keys and log lines carry
ids and hashes, never file names.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import hashlib
import os
import resource
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.utils import timezone

from hubs.storage import facility_storage
from snapshots.blobs import (
    CHUNK_BYTES,
    UNAVAILABLE,
    _facilities,
    blob_discard_bytes,
    blob_write_bytes,
    commit_outcome_unknown,
    new_generation,
    spooled_upload,
    temporary_claim,
)
from snapshots.errors import FacilityUnavailable, IncompleteUpload
from snapshots.models import Blob, blob_storage_key

if TYPE_CHECKING:
    from hubs.models import Tenant

# 500 contents a query keeps every IN list under SQLite's variable limit.
SHAS_PER_QUERY = 500
# Members landed before their new contents are put in place and flushed
# together. Each holds a claimed descriptor in each facility until then, so a
# group takes at most an eighth of the process's descriptor limit (128 files
# under the common default of 1,024; 1,000 under 20,000): one flush of 1,000
# files of 4 KiB costs about 40 ms here, where 1,000 fsyncs one by one cost 3 s.
FLUSH_GROUP = max(64, min(1000, resource.getrlimit(resource.RLIMIT_NOFILE)[0] // 8))


@dataclass
class _Landed:
    sha256: str
    temporaries: list[tuple[str, Path | None, int]]  # (facility role, path (None: unnamed), descriptor)


class BlobBatch:
    """Writes members' bytes into both facilities and puts new contents in
    place in flushed groups. Where a facility is not a folder (an object
    store), each member goes through the single upload's path instead
    (``spooled_upload`` and ``blob_write_bytes``: a PUT is durable by itself)."""

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        serving, other = _facilities(tenant.hub_id)
        if not serving.is_available:
            raise FacilityUnavailable(UNAVAILABLE)
        roles = [serving.role] + ([other.role] if other.is_available else [])
        self.storages = {role: facility_storage(tenant.hub_id, role) for role in roles}
        self.grouped = all(isinstance(storage, FileSystemStorage) for storage in self.storages.values())
        # Folder facilities' roots, resolved once: keys are made of ids and hex,
        # so joining them needs none of Storage.path's per-call checks.
        self.folders = {role: Path(storage.path("")) for role, storage in self.storages.items() if self.grouped}
        self.made_folders: set[Path] = set()
        for folder in self.folders.values():
            (folder / "tmp").mkdir(parents=True, exist_ok=True)
        # Linking an unnamed file into place needs /proc (Linux).
        self.unnamed = hasattr(os, "O_TMPFILE") and Path("/proc/self/fd").is_dir()
        self.proc_fds: int | None = None
        self.needs_replication = not other.is_available
        self.pending: list[_Landed] = []
        self.generations: dict[str, str | None] = {}  # sha256: the generation this batch placed (None: reused)
        self.committed = False

    def __enter__(self) -> BlobBatch:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self.proc_fds is not None:
            os.close(self.proc_fds)
            self.proc_fds = None
        for landed in self.pending:
            _drop(landed)
        self.pending.clear()
        # A broken connection may have committed the batch all the same (its bytes stay).
        if not self.committed and not commit_outcome_unknown(exc_info[1]):
            for sha256, generation in self.generations.items():
                if generation is not None:
                    blob_discard_bytes(tenant=self.tenant, sha256=sha256, generation=generation)

    def land(self, content: IO[bytes], *, size: int) -> tuple[str, int]:
        if not self.grouped:
            with spooled_upload(stream=content, content_length=size, max_bytes=size, tenant=self.tenant) as spooled:
                if spooled.sha256 not in self.generations and not _existing({spooled.sha256}, self.tenant):
                    generation = new_generation()
                    self.generations[spooled.sha256] = generation
                    if blob_write_bytes(tenant=self.tenant, spooled=spooled, generation=generation):
                        self.needs_replication = True
                self.generations.setdefault(spooled.sha256, None)
                return spooled.sha256, spooled.size
        temporaries: list[tuple[str, Path | None, int]] = []
        landed = _Landed(sha256="", temporaries=temporaries)
        try:
            for role, folder in self.folders.items():
                path, claim = self._temporary(folder / "tmp")
                temporaries.append((role, path, claim))
            digest = hashlib.sha256()
            written = 0
            while written < size:
                chunk = content.read(min(CHUNK_BYTES, size - written))
                if not chunk:
                    raise IncompleteUpload("The batch ended in the middle of a file; nothing of it was stored.")
                digest.update(chunk)
                for _role, _path, claim in temporaries:
                    _write_all(claim, chunk)
                written += len(chunk)
        except OSError as exc:
            _drop(landed)
            raise FacilityUnavailable(UNAVAILABLE) from exc
        except BaseException:
            _drop(landed)
            raise
        landed.sha256 = digest.hexdigest()
        self.pending.append(landed)
        if len(self.pending) >= FLUSH_GROUP:
            self.settle()
        return landed.sha256, size

    def _descriptors(self) -> int:
        """This process's /proc/self/fd, open: an unnamed file is linked from there."""
        if self.proc_fds is None:
            self.proc_fds = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY)
        return self.proc_fds

    def _temporary(self, directory: Path) -> tuple[Path | None, int]:
        """A file to land bytes in: an unnamed one (``O_TMPFILE``, given a
        name only when it is put in place, so a crash leaves nothing behind
        and there is no name to claim from the sweep: one system call where a
        claimed temporary takes six), else a claimed temporary."""
        if self.unnamed:
            try:
                return None, os.open(directory, os.O_TMPFILE | os.O_RDWR, 0o666)
            except OSError as exc:
                if exc.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
                    raise
                self.unnamed = False  # a filesystem without O_TMPFILE
        return temporary_claim(directory, "upload-", mode=0o666)

    def settle(self) -> None:
        """Put the pending members' new contents in place and flush them: a
        content already stored (in an earlier batch, or earlier in this one)
        is not written again; its temporaries go. Existing rows are touched,
        which keeps the collector off them until the batch commits."""
        pending, self.pending = self.pending, []
        fresh = {landed.sha256 for landed in pending} - set(self.generations)
        for sha256 in _existing(fresh, self.tenant):
            self.generations[sha256] = None
        placed: list[tuple[Path, int]] = []
        try:
            for landed in pending:
                if landed.sha256 in self.generations:
                    _drop(landed)
                    continue
                generation = new_generation()
                self.generations[landed.sha256] = generation
                key = blob_storage_key(self.tenant.pk, landed.sha256, generation)
                for role, path, claim in landed.temporaries:
                    final = self.folders[role] / key
                    if final.parent not in self.made_folders:
                        final.parent.mkdir(parents=True, exist_ok=True)
                        self.made_folders.add(final.parent)
                    if path is None:
                        # linkat(AT_SYMLINK_FOLLOW): os.link takes that path only given a dir_fd.
                        os.link(str(claim), final, src_dir_fd=self._descriptors(), follow_symlinks=True)
                    else:
                        os.replace(path, final)
                    placed.append((final, claim))
                landed.temporaries = []
            if settings.HUBPORT_BLOB_FSYNC:
                _flush(placed)
        except OSError as exc:
            raise FacilityUnavailable(UNAVAILABLE) from exc
        finally:
            for landed in pending:
                _drop(landed)
            for _final, claim in placed:
                with contextlib.suppress(OSError):
                    os.close(claim)


def _existing(shas: set[str], tenant: Tenant) -> set[str]:
    """Which contents already have a blob row, touched now (the collector
    leaves a blob touched within its grace period alone)."""
    found: set[str] = set()
    ordered = sorted(shas)
    blobs = Blob.objects.for_tenant(tenant)
    for start in range(0, len(ordered), SHAS_PER_QUERY):
        part = ordered[start : start + SHAS_PER_QUERY]
        hits = set(blobs.filter(sha256__in=part).values_list("sha256", flat=True))
        if hits:
            blobs.filter(sha256__in=hits).update(touched_at=timezone.now())
        found |= hits
    return found


def _write_all(descriptor: int, chunk: bytes) -> None:
    view = memoryview(chunk)
    while view:
        view = view[os.write(descriptor, view) :]


def _drop(landed: _Landed) -> None:
    for _role, path, claim in landed.temporaries:
        if path is not None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        with contextlib.suppress(OSError):
            os.close(claim)
    landed.temporaries = []


def _syncfs() -> Callable[[int], int] | None:
    library = ctypes.util.find_library("c")
    function = getattr(ctypes.CDLL(library, use_errno=True), "syncfs", None) if library else None
    return function


SYNCFS = _syncfs()


def _flush(placed: list[tuple[Path, int]]) -> None:
    """Make the placed files and their names durable. ``syncfs`` once per
    filesystem (Linux: writes back the whole filesystem, these files with it,
    and since Linux 5.8 reports a write-back error); elsewhere every file and
    folder is fsynced, in parallel, so the journal commits them together
    (1,000 fsyncs of 4 KiB: 3.1 s one by one, 0.14 s from 16 threads)."""
    if not placed:
        return
    if SYNCFS is not None:
        seen: set[int] = set()
        for final, claim in placed:
            device = os.fstat(claim).st_dev
            if device in seen:
                continue
            seen.add(device)
            if SYNCFS(claim) != 0:
                error = ctypes.get_errno()
                raise OSError(error, os.strerror(error), str(final.parent))
        return
    folders = {final.parent for final, _claim in placed}
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(os.fsync, [claim for _final, claim in placed]))
        list(pool.map(_fsync_folder, folders))


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
