"""A restore request: where it reads from, what it restores, where to, what
to do when a name is taken, and whether it merges into today's tree or makes
a folder (or everything) exactly as it was.

Every edge (the restore dialog, the admin's restore on a customer's behalf,
the REST API) parses its own input into one ``RestoreRequest`` and hands it
to the services; every rule about it is decided here, once, so the three
refuse the same request with the same reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Q, Subquery
from django.utils import timezone

from hubs.display import time_label
from snapshots import selectors
from snapshots.errors import NotFound, OutsideRetention, RestoreRefused
from snapshots.models import Node, NodeVersion, RestoreJob, Snapshot
from snapshots.paths import join_path, split_path

if TYPE_CHECKING:
    from hubs.models import Tenant

# A restore names at most 1,000 paths; more are restored as their common folder.
MAX_RESTORE_PATHS = 1000
# Ids come from URLs and bodies: one past a database column is simply not there.
MAX_DATABASE_ID = 2**63 - 1


@dataclass(frozen=True)
class RestoreRequest:
    """A restore as asked for, parsed but not yet checked."""

    snapshot_id: int | None = None  # restore from this snapshot ...
    at: datetime | None = None  # ... or from this moment (exactly one of the two)
    paths: tuple[str, ...] = ()  # what to restore, as it was then; empty: everything
    target: str | None = None  # the folder to restore into; None: where the items were
    conflict: str = RestoreJob.Conflict.RENAME  # when a name is taken: rename, overwrite or skip
    mode: str = RestoreJob.Mode.MERGE  # merge into today's tree, or make it exactly as it was (a rewind)

    def __post_init__(self) -> None:
        object.__setattr__(self, "paths", tuple(self.paths))  # a list given is kept as a tuple: the request is a value


@dataclass(frozen=True)
class RestoreSource:
    seq: int
    at: datetime
    snapshot: Snapshot | None
    # The tenant's newest snapshot, read with a snapshot source in the same query
    # (whether the restore's pre-restore snapshot may stand for a new one).
    newest: Snapshot | None = None


def restore_source(*, tenant: Tenant, snapshot_id: int | None = None, at: datetime | None = None) -> RestoreSource:
    """The clock value a restore reads from: a snapshot, or a moment in the retention."""
    if snapshot_id is None and at is None:
        raise RestoreRefused("Choose a snapshot or a moment to restore from.")
    if snapshot_id is not None and at is not None:
        raise RestoreRefused("Give either a snapshot or a moment to restore from, not both.")
    if snapshot_id is not None:
        if not 1 <= snapshot_id <= MAX_DATABASE_ID:
            raise NotFound(f"There is no snapshot {snapshot_id}.")
        snapshots = Snapshot.objects.for_tenant(tenant)
        newest_id = Subquery(snapshots.order_by("-taken_at", "-pk").values("pk")[:1])
        earliest = selectors.retention_start()
        rows = {row.pk: row for row in snapshots.filter(Q(pk=snapshot_id) | Q(pk=newest_id))}
        snapshot = rows.get(snapshot_id)
        if snapshot is None or snapshot.taken_at < earliest:
            # An expired snapshot waiting for the daily expiry is gone too: the
            # history it points into may already be partly removed.
            raise NotFound(f"There is no snapshot {snapshot_id}.")
        newest = max(rows.values(), key=lambda row: (row.taken_at, row.pk))
        return RestoreSource(seq=snapshot.seq, at=snapshot.taken_at, snapshot=snapshot, newest=newest)
    assert at is not None
    if timezone.is_naive(at):
        raise RestoreRefused("Give the moment with its time zone, e.g. 2026-11-24T10:42:00Z.")
    now = timezone.now()
    earliest = selectors.retention_start()
    if at < earliest:
        try:
            when = time_label(at)
        except OverflowError:  # 0001-01-01T00:00:00Z has no date in a zone east of UTC
            when = "That moment"
        raise OutsideRetention(
            f"{when} is more than {settings.SNAPSHOT_RETENTION_DAYS} days ago; "
            f"the earliest moment you can restore from is {time_label(earliest)}."
        )
    if at > now:
        raise OutsideRetention("That moment is in the future; choose a time up to now.")
    seq = selectors.seq_at(tenant=tenant, moment=at)
    if seq == 0:
        raise OutsideRetention("Your account did not exist yet at that moment; choose a later time.")
    return RestoreSource(seq=seq, at=at, snapshot=None)


def _normalise_paths(paths: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """Restored paths as name lists, without ones inside another restored path."""
    if not paths:
        return ()
    if len(paths) > MAX_RESTORE_PATHS:
        raise RestoreRefused(f"Restore at most {MAX_RESTORE_PATHS:,} paths at once, or restore their common folder.")
    unique = sorted({tuple(split_path(path)) for path in paths}, key=lambda names: (len(names), names))
    kept: list[tuple[str, ...]] = []
    for names in unique:
        if not names:
            return ()  # "/" is everything
        if not any(names[: len(outer)] == outer for outer in kept):
            kept.append(names)
    return tuple(kept)


@dataclass(frozen=True)
class ValidatedRestore:
    """A request that passed every check, in the store's terms."""

    source: RestoreSource
    paths: tuple[tuple[str, ...], ...]  # empty: everything
    target: tuple[str, ...] | None  # None: the original location
    conflict: str
    mode: str = RestoreJob.Mode.MERGE
    files_only: bool = False  # every path was a file at that time: the plan is those files, nothing more
    # The rows the paths resolved to at the source (one per path, in order), carried to the plan of
    # the run that starts in the same request, so a path is resolved once; empty: resolve again.
    resolved: tuple[NodeVersion, ...] = field(default=(), compare=False)

    @property
    def exact(self) -> bool:
        return self.mode == RestoreJob.Mode.EXACT


def restore_validate(*, tenant: Tenant, request: RestoreRequest) -> ValidatedRestore:
    """Everything that can be refused before anything starts, refused with a
    clear reason: the policy, the source (a snapshot or a moment, in the
    retention), the paths (valid, and there at that time) and the target (a
    folder, outside what is restored)."""
    if request.mode not in RestoreJob.Mode.values:
        raise RestoreRefused(f"Unknown restore mode {request.mode!r}; use merge or exact.")
    if request.conflict not in RestoreJob.Conflict.values:
        raise RestoreRefused(f"Unknown conflict policy {request.conflict!r}; use rename, overwrite or skip.")
    exact = request.mode == RestoreJob.Mode.EXACT
    if exact and request.target is not None:
        raise RestoreRefused(
            "An exact restore puts a folder back as it was, where it was; it takes no target folder. "
            "To restore into another folder, merge."
        )
    source = restore_source(tenant=tenant, snapshot_id=request.snapshot_id, at=request.at)
    path_names = _normalise_paths(request.paths)
    files_only = bool(path_names)
    resolved: list[NodeVersion] = []
    for names in path_names:
        try:
            version = selectors.resolve(tenant=tenant, names=list(names), seq=source.seq)[-1]
        except NotFound as exc:
            raise NotFound(f"{join_path(names)} did not exist at that time, so it cannot be restored.") from exc
        resolved.append(version)
        files_only = files_only and version.kind == Node.Kind.FILE
        if exact and version.kind != Node.Kind.FOLDER:
            raise RestoreRefused(
                f"{join_path(names)} was a file at that time: an exact restore rewinds a folder or everything. "
                "To bring back a file, merge."
            )
    if exact:
        # A rewind replaces whatever holds a name it needs: the policy is overwrite,
        # and the pre-restore snapshot keeps what was there.
        return ValidatedRestore(
            source=source,
            paths=path_names,
            target=None,
            conflict=RestoreJob.Conflict.OVERWRITE,
            mode=request.mode,
            resolved=tuple(resolved),
        )
    target_names: tuple[str, ...] | None = None
    if request.target is not None:
        if not request.target.strip():
            raise RestoreRefused("Give the folder to restore into, e.g. /Restored.")
        target_names = tuple(split_path(request.target))
    if target_names == () and not path_names:
        target_names = None  # everything into / is the original location
    if target_names is not None:
        for names in path_names or ((),):
            # Restoring everything covers only what existed then: a new top-level
            # folder such as /Recovered is outside it.
            covered = target_names[: len(names)] == names and (
                names
                or selectors.child_named(
                    tenant=tenant,
                    parent_id=selectors.root_version(tenant=tenant, seq=source.seq).node_id,
                    name=target_names[0] if target_names else "",
                    seq=source.seq,
                )
                is not None
            )
            if covered:
                raise RestoreRefused(
                    f"The target {join_path(target_names)} is inside what is being restored "
                    f"({join_path(names)}); choose a folder outside it."
                )
        try:
            existing = selectors.resolve(tenant=tenant, names=list(target_names))[-1]
        except NotFound:
            existing = None  # made when the restore runs
        if existing is not None and existing.kind != Node.Kind.FOLDER:
            raise RestoreRefused(f"The target {join_path(target_names)} is a file; choose a folder.")
    return ValidatedRestore(
        source=source,
        paths=path_names,
        target=target_names,
        conflict=request.conflict,
        mode=request.mode,
        files_only=files_only,
        resolved=tuple(resolved),
    )


def restore_request_of(job: RestoreJob) -> ValidatedRestore:
    """The request a job was started with, as it was validated then."""
    return ValidatedRestore(
        source=RestoreSource(seq=job.source_seq, at=job.source_at, snapshot=None),
        paths=tuple(tuple(split_path(path)) for path in job.paths),
        target=tuple(split_path(job.target)) if job.target else None,
        conflict=job.conflict,
        mode=job.mode,
    )
