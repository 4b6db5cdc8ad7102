"""Snapshots and restores.

A snapshot is an insert: a point on the clock with the live counters of that
moment. A restore reads the tree as of a snapshot or a moment and writes new
version rows that point at the old blobs: O(items restored) rows, zero bytes
copied.

A restore runs as a job in batches. Each batch is one change step: its rows,
the job's progress and the folder map commit together, so a worker killed in
the middle of a batch loses the whole batch and the job, started again, goes
on from the last committed one and ends with the tree one clean run gives.
A dry run runs the very same code inside a transaction that is rolled back.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from hubs.display import time_label
from hubs.routing import hub_database_alias
from snapshots import selectors
from snapshots.blobs import blob_bytes_present
from snapshots.errors import InvalidPath, NotFound, OutsideRetention, RestoreFinished, RestoreRefused, StoreError
from snapshots.models import Blob, Change, Node, NodeVersion, RestoreFolderMap, RestoreJob, Snapshot, TenantClock
from snapshots.paths import join_path, split_path
from snapshots.services import Actor, ChangeStep, actor_for, change_step

if TYPE_CHECKING:
    from hubs.models import Tenant
    from portal.models import User

logger = logging.getLogger(__name__)

FAILURES_KEPT = 1000
PREVIEW_ITEMS_KEPT = 500


# ---------------------------------------------------------------- snapshots


def snapshot_create(
    *,
    tenant: Tenant,
    kind: str = Snapshot.Kind.MANUAL,
    acting_user: User | None = None,
    label: str = "",
    by_support: bool = False,
) -> Snapshot:
    """Name the current point on the tenant's clock. Reads two rows and writes
    one, whatever the tenant's size; copies nothing."""
    actor = actor_for(acting_user, by_support=by_support)
    with transaction.atomic(using=hub_database_alias(tenant.hub_id)):
        # of=("self",): PostgreSQL locks no row on the nullable side of the join.
        clock = TenantClock.objects.for_tenant(tenant).select_for_update(of=("self",)).select_related("root").get()
        return Snapshot.objects.for_tenant(tenant).create(
            seq=clock.seq,
            taken_at=timezone.now(),
            kind=kind,
            label=label[:200],
            file_count=clock.root.subtree_files,
            byte_count=clock.root.subtree_bytes,
            created_by_user_id=actor.user_id,
            created_by_label=actor.label,
        )


def snapshot_expires_at(snapshot: Snapshot) -> datetime:
    return snapshot.taken_at + timedelta(days=settings.SNAPSHOT_RETENTION_DAYS)


# ---------------------------------------------------------------- validating a request


@dataclass(frozen=True)
class RestoreSource:
    seq: int
    at: datetime
    snapshot: Snapshot | None


def restore_source(*, tenant: Tenant, snapshot_id: int | None = None, at: datetime | None = None) -> RestoreSource:
    """The clock value a restore reads from: a snapshot, or a moment in the retention."""
    if (snapshot_id is None) == (at is None):
        raise RestoreRefused("Give either a snapshot or a moment to restore from, not both.")
    if snapshot_id is not None:
        snapshot = (
            Snapshot.objects.for_tenant(tenant)
            .filter(pk=snapshot_id, taken_at__gte=selectors.retention_start())
            .first()
        )
        if snapshot is None:
            # An expired snapshot waiting for the daily expiry is gone too: the
            # history it points into may already be partly removed.
            raise NotFound(f"There is no snapshot {snapshot_id}.")
        return RestoreSource(seq=snapshot.seq, at=snapshot.taken_at, snapshot=snapshot)
    assert at is not None
    if timezone.is_naive(at):
        raise RestoreRefused("Give the moment with its time zone, e.g. 2026-11-24T10:42:00Z.")
    now = timezone.now()
    earliest = selectors.retention_start()
    if at < earliest:
        raise OutsideRetention(
            f"{time_label(at)} is more than {settings.SNAPSHOT_RETENTION_DAYS} days ago; "
            f"the earliest moment you can restore from is {time_label(earliest)}."
        )
    if at > now:
        raise OutsideRetention("That moment is in the future; choose a time up to now.")
    seq = selectors.seq_at(tenant=tenant, moment=at)
    if seq == 0:
        raise OutsideRetention("Your account did not exist yet at that moment; choose a later time.")
    return RestoreSource(seq=seq, at=at, snapshot=None)


def _normalise_paths(paths: list[str] | None) -> list[list[str]]:
    """Restored paths as name lists, without ones inside another restored path."""
    if not paths:
        return []
    if len(paths) > 1000:
        raise RestoreRefused("Restore at most 1,000 paths at once, or restore their common folder.")
    unique = sorted({tuple(split_path(path)) for path in paths}, key=lambda names: (len(names), names))
    kept: list[tuple[str, ...]] = []
    for names in unique:
        if not names:
            return []  # "/" is everything
        if not any(names[: len(outer)] == outer for outer in kept):
            kept.append(names)
    return [list(names) for names in kept]


@dataclass
class ValidatedRestore:
    source: RestoreSource
    paths: list[list[str]]  # empty: everything
    target: list[str] | None  # None: the original location
    conflict: str


def restore_validate(
    *,
    tenant: Tenant,
    snapshot_id: int | None = None,
    at: datetime | None = None,
    paths: list[str] | None = None,
    target: str | None = None,
    conflict: str = RestoreJob.Conflict.RENAME,
) -> ValidatedRestore:
    """Everything that can be refused before anything starts, refused with a clear reason."""
    if conflict not in RestoreJob.Conflict.values:
        raise RestoreRefused(f"Unknown conflict policy {conflict!r}; use rename, overwrite or skip.")
    source = restore_source(tenant=tenant, snapshot_id=snapshot_id, at=at)
    path_names = _normalise_paths(paths)
    for names in path_names:
        try:
            selectors.resolve(tenant=tenant, names=names, seq=source.seq)
        except NotFound as exc:
            raise NotFound(f"{join_path(names)} did not exist at that time, so it cannot be restored.") from exc
    target_names: list[str] | None = None
    if target not in (None, "", "original"):
        target_names = split_path(target)
    if target_names == [] and not path_names:
        target_names = None  # everything into / is the original location
    if target_names is not None:
        for names in path_names or [[]]:
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
            existing = selectors.resolve(tenant=tenant, names=target_names)[-1]
        except NotFound:
            existing = None  # made when the restore runs
        if existing is not None and existing.kind != Node.Kind.FOLDER:
            raise RestoreRefused(f"The target {join_path(target_names)} is a file; choose a folder.")
    return ValidatedRestore(source=source, paths=path_names, target=target_names, conflict=conflict)


# ---------------------------------------------------------------- the plan


@dataclass(frozen=True)
class PlanItem:
    """One file or folder to restore, in parents-first order."""

    node_id: int
    parent_node_id: int | None  # the source folder it sits in; None for a top-level item
    name: str
    kind: str
    blob_id: int | None
    size: int
    depth: int
    top_parent_names: tuple[str, ...] | None  # top-level items: the source folder's path


def restore_plan(*, tenant: Tenant, request: ValidatedRestore) -> list[PlanItem]:
    """Every item of the restore as of the source, level by level in a fixed
    order, so a resumed job sees the same list as the first run."""
    seq = request.source.seq
    versions = selectors.versions(tenant=tenant)
    fields = ("node_id", "parent_id", "name", "kind", "blob_id", "size")
    level: list[PlanItem] = []
    if request.paths:
        for names in request.paths:
            version = selectors.resolve(tenant=tenant, names=names, seq=seq)[-1]
            level.append(
                PlanItem(
                    version.node_id,
                    None,
                    version.name,
                    version.kind,
                    version.blob_id,
                    version.size,
                    0,
                    tuple(names[:-1]),
                )
            )
    else:
        root = selectors.root_version(tenant=tenant, seq=seq)
        rows = versions.filter(selectors.visible_at(seq), parent_id=root.node_id).order_by("name").values_list(*fields)
        level = [PlanItem(row[0], None, row[2], row[3], row[4], row[5], 0, ()) for row in rows]
    plan: list[PlanItem] = []
    depth = 0
    while level:
        plan.extend(level)
        folder_ids = [item.node_id for item in level if item.kind == Node.Kind.FOLDER]
        depth += 1
        next_level: list[PlanItem] = []
        # 500 ids a query keeps every query under SQLite's variable limit.
        for start in range(0, len(folder_ids), 500):
            rows = (
                versions.filter(selectors.visible_at(seq), parent_id__in=folder_ids[start : start + 500])
                .order_by("parent_id", "name")
                .values_list(*fields)
            )
            next_level.extend(PlanItem(r[0], r[1], r[2], r[3], r[4], r[5], depth, None) for r in rows)
        level = next_level
    return plan


# ---------------------------------------------------------------- running a batch


@dataclass
class Outcome:
    """What a restore did (or, in a dry run, would do)."""

    restored: int = 0
    renamed: int = 0
    overwritten: int = 0
    skipped: int = 0
    unchanged: int = 0
    failed: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)
    items: list[dict[str, str]] = field(default_factory=list)
    keep_items: int = 0

    def note(self, action: str, path: str, reason: str = "") -> None:
        setattr(self, action, getattr(self, action) + 1)
        if action == "failed" and len(self.failures) < FAILURES_KEPT:
            self.failures.append({"path": path, "reason": reason})
        if len(self.items) < self.keep_items:
            entry = {"action": action, "path": path}
            if reason:
                entry["reason"] = reason
            self.items.append(entry)

    def counts(self) -> dict[str, int]:
        return {
            "restored": self.restored,
            "renamed": self.renamed,
            "overwritten": self.overwritten,
            "skipped": self.skipped,
            "unchanged": self.unchanged,
            "failed": self.failed,
        }


@dataclass
class RestoreRun:
    """State a job carries from batch to batch (rebuilt from the database on resume)."""

    tenant: Tenant
    request: ValidatedRestore
    job_id: int | None
    outcome: Outcome
    folder_map: dict[int, int | None] = field(default_factory=dict)
    top_parents: dict[tuple[str, ...], tuple[int, str]] = field(default_factory=dict)
    blob_present: dict[int, bool] = field(default_factory=dict)
    parent_of: dict[int, int | None] = field(default_factory=dict)
    suffix_moment: str = ""
    attempt: int = 0
    quota_room: int = 0


def _restored_name(run: RestoreRun, parent_id: int, name: str, kind: str, taken: set[tuple[int | None, str]]) -> str:
    """ "name (restored 2026-11-24 10:42).ext", then "... 10:42 2).ext" if that is taken too."""
    stem, dot, extension = name.rpartition(".")
    if not stem or not dot or kind == Node.Kind.FOLDER:
        stem, dot, extension = name, "", ""
    for n in range(1, 10_000):
        label = run.suffix_moment if n == 1 else f"{run.suffix_moment} {n}"
        candidate = f"{stem} (restored {label}){dot}{extension}"
        if (parent_id, candidate) in taken:
            continue
        if selectors.live_child(tenant=run.tenant, parent_id=parent_id, name=candidate) is None:
            return candidate
    raise InvalidPath("Could not find a free name for a restored item.")


def _top_parent(run: RestoreRun, step: ChangeStep, item: PlanItem) -> tuple[int, str]:
    """The live folder a top-level item goes into (made if missing), and its path."""
    from snapshots.services import _ensure_folders

    names = tuple(run.request.target) if run.request.target is not None else item.top_parent_names or ()
    if names not in run.top_parents:
        chain = _ensure_folders(step, list(names))
        run.top_parents[names] = (chain[-1].node_id, join_path(list(names)))
        for upper, lower in zip(chain, chain[1:], strict=False):
            run.parent_of[lower.node_id] = upper.node_id
        run.parent_of.setdefault(chain[0].node_id, None)
    return run.top_parents[names]


def _bytes_present(run: RestoreRun, blob_id: int) -> bool:
    if blob_id not in run.blob_present:
        blob = Blob.objects.for_tenant(run.tenant).filter(pk=blob_id).first()
        run.blob_present[blob_id] = blob is not None and blob_bytes_present(tenant=run.tenant, blob=blob)
    return run.blob_present[blob_id]


def _run_batch(run: RestoreRun, step: ChangeStep, batch: list[PlanItem], paths: dict[int, str]) -> None:
    """Restore one batch of items, parents before children, with set-based writes."""
    tenant = run.tenant
    versions = selectors.versions(tenant=tenant)
    policy = run.request.conflict
    counter_deltas: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    by_depth: dict[int, list[PlanItem]] = defaultdict(list)
    for item in batch:
        by_depth[item.depth].append(item)

    for depth in sorted(by_depth):
        items = by_depth[depth]
        placements: list[tuple[PlanItem, int, str]] = []  # item, target parent node, target parent path
        for item in items:
            if item.parent_node_id is None:
                parent_id, parent_path = _top_parent(run, step, item)
            else:
                placed_parent_id = run.folder_map.get(item.parent_node_id)
                parent_path = _placed_path(run, paths, item.parent_node_id)
                if placed_parent_id is None:
                    # The folder it was in was skipped: so is everything in it.
                    paths[item.node_id] = f"{parent_path.rstrip('/')}/{item.name}"
                    run.outcome.note("skipped", paths[item.node_id], "its folder was skipped")
                    if item.kind == Node.Kind.FOLDER:
                        run.folder_map[item.node_id] = None
                    continue
                parent_id = placed_parent_id
            placements.append((item, parent_id, parent_path))
        if not placements:
            continue

        parent_ids = {parent_id for _, parent_id, _ in placements}
        names = {item.name for item, _, _ in placements}
        live = {
            (v.parent_id, v.name): v
            for v in versions.filter(valid_to__isnull=True, parent_id__in=parent_ids, name__in=names)
        }
        taken = set(live)
        file_nodes = [item.node_id for item, _, _ in placements if item.kind == Node.Kind.FILE]
        nodes_with_open_row = set(
            versions.filter(node_id__in=file_nodes, valid_to__isnull=True).values_list("node_id", flat=True)
        )

        restored_here: set[tuple[int, str]] = set()  # names this batch placed: they are taken too
        overwritten_sizes: dict[int, int] = {}  # node id: its new size
        to_close: list[NodeVersion] = []
        to_trash: list[NodeVersion] = []
        new_nodes: list[tuple[PlanItem, Node]] = []
        new_versions: list[tuple[PlanItem, int | None, int, str]] = []  # item, node id (None: new), parent, name
        revived: list[int] = []
        for item, parent_id, parent_path in placements:
            path = f"{parent_path.rstrip('/')}/{item.name}"
            existing = live.get((parent_id, item.name))
            name = item.name
            action = "restored"
            if item.kind == Node.Kind.FILE and item.blob_id is not None and not _bytes_present(run, item.blob_id):
                run.outcome.note("failed", path, "its content is missing from both facilities")
                continue
            if existing is None and (parent_id, item.name) in restored_here:
                # Two restored items want one name (say /a/r.txt and /b/r.txt into one folder).
                if policy != RestoreJob.Conflict.RENAME:
                    run.outcome.note("skipped", path, "another restored item has this name")
                    if item.kind == Node.Kind.FOLDER:
                        run.folder_map[item.node_id] = None
                        paths[item.node_id] = path
                    continue
                name = _restored_name(run, parent_id, item.name, item.kind, taken)
                path = f"{parent_path.rstrip('/')}/{name}"
                action = "renamed"
            elif existing is not None:
                if existing.kind == Node.Kind.FOLDER and item.kind == Node.Kind.FOLDER:
                    run.folder_map[item.node_id] = existing.node_id
                    run.parent_of[existing.node_id] = parent_id
                    paths[item.node_id] = path
                    continue  # folders merge: their contents are restored into the folder that is there
                if existing.kind == Node.Kind.FILE and item.kind == Node.Kind.FILE and existing.blob_id == item.blob_id:
                    run.outcome.note("unchanged", path)
                    continue
                if policy == RestoreJob.Conflict.SKIP:
                    run.outcome.note("skipped", path, "the name is taken")
                    if item.kind == Node.Kind.FOLDER:
                        run.folder_map[item.node_id] = None
                        paths[item.node_id] = path
                    continue
                if policy == RestoreJob.Conflict.RENAME:
                    name = _restored_name(run, parent_id, item.name, item.kind, taken)
                    path = f"{parent_path.rstrip('/')}/{name}"
                    action = "renamed"
                else:
                    action = "overwritten"
                    if existing.kind == item.kind:  # a file over a file: a new version of the same file
                        if not _take_quota(run, item.size - existing.size):
                            run.outcome.note("failed", path, "not enough storage quota")
                            continue
                        to_close.append(existing)
                        new_versions.append((item, existing.node_id, parent_id, name))
                        overwritten_sizes[existing.node_id] = item.size
                        counter_deltas[parent_id][1] += item.size - existing.size
                        run.outcome.note(action, path)
                        continue
                    to_trash.append(existing)  # the other kind goes to Recently deleted
            if item.kind == Node.Kind.FILE and not _take_quota(run, item.size):
                run.outcome.note("failed", path, "not enough storage quota")
                continue
            taken.add((parent_id, name))
            restored_here.add((parent_id, name))
            paths[item.node_id] = path
            if item.kind == Node.Kind.FILE and item.node_id not in nodes_with_open_row:
                revived.append(item.node_id)
                new_versions.append((item, item.node_id, parent_id, name))
            else:
                node = Node(
                    tenant_id=tenant.pk,
                    kind=item.kind,
                    created_at=step.now,
                    subtree_files=1 if item.kind == Node.Kind.FILE else 0,
                    subtree_bytes=item.size if item.kind == Node.Kind.FILE else 0,
                )
                new_nodes.append((item, node))
                new_versions.append((item, None, parent_id, name))
            if item.kind == Node.Kind.FILE:
                counter_deltas[parent_id][0] += 1
                counter_deltas[parent_id][1] += item.size
            run.outcome.note(action, path)

        for existing in to_trash:
            subtree = (
                Node.objects.for_tenant(tenant)
                .filter(pk=existing.node_id)
                .values_list("subtree_files", "subtree_bytes")[0]
            )
            assert existing.parent_id is not None  # it was found among the children of parent_ids
            counter_deltas[existing.parent_id][0] -= subtree[0]
            counter_deltas[existing.parent_id][1] -= subtree[1]
        _close_rows(step, to_close, to_trash)
        if new_nodes:
            created = Node.objects.for_tenant(tenant).bulk_create([node for _, node in new_nodes])
            made_for = {item.node_id: node.pk for (item, _), node in zip(new_nodes, created, strict=True)}
        else:
            made_for = {}
        for overwritten_id, size in overwritten_sizes.items():
            Node.objects.for_tenant(tenant).filter(pk=overwritten_id).update(subtree_bytes=size)
        if revived:
            by_node = {item.node_id: item for item, _, _ in placements}
            for revived_id in revived:
                Node.objects.for_tenant(tenant).filter(pk=revived_id).update(
                    subtree_files=1, subtree_bytes=by_node[revived_id].size
                )
            versions.filter(node_id__in=revived, in_trash=True).update(in_trash=False)
        rows = []
        for item, node_id, parent_id, name in new_versions:
            target_node = node_id if node_id is not None else made_for[item.node_id]
            if item.kind == Node.Kind.FOLDER:
                run.folder_map[item.node_id] = target_node
                run.parent_of[target_node] = parent_id
            rows.append(
                NodeVersion(
                    tenant_id=tenant.pk,
                    node_id=target_node,
                    parent_id=parent_id,
                    name=name,
                    kind=item.kind,
                    blob_id=item.blob_id,
                    size=item.size,
                    valid_from=step.seq,
                    changed_at=step.now,
                    author_user_id=step.actor.user_id,
                    author_label=step.actor.label,
                )
            )
        if rows:
            versions.bulk_create(rows)
        if rows or to_close or to_trash:
            step.wrote_rows = True
        if run.job_id is not None:
            RestoreFolderMap.objects.for_tenant(tenant).bulk_create(
                [
                    RestoreFolderMap(
                        tenant_id=tenant.pk,
                        job_id=run.job_id,
                        source_node_id=item.node_id,
                        target_node_id=run.folder_map.get(item.node_id),
                    )
                    for item in items
                    if item.kind == Node.Kind.FOLDER and item.node_id in run.folder_map
                ],
                ignore_conflicts=True,
            )
        for item in items:
            if item.parent_node_id is None and item.node_id in paths:
                step.record(Change.Action.RESTORE, node_id=None, path=paths[item.node_id])
    _apply_counter_deltas(run, counter_deltas)


def _take_quota(run: RestoreRun, size: int) -> bool:
    """Whether ``size`` more live bytes fit the tenant's quota; takes them if so."""
    if size > run.quota_room:
        return False
    run.quota_room -= size
    return True


def _placed_path(run: RestoreRun, paths: dict[int, str], source_node_id: int) -> str:
    """Where a source folder was restored to (a resumed job asks the tree)."""
    if source_node_id not in paths:
        target = run.folder_map.get(source_node_id)
        paths[source_node_id] = selectors.path_of(tenant=run.tenant, node_id=target) if target else "(skipped)"
    return paths[source_node_id]


def _close_rows(step: ChangeStep, to_close: list[NodeVersion], to_trash: list[NodeVersion]) -> None:
    for rows, trash in ((to_close, False), (to_trash, True)):
        if not rows:
            continue
        selectors.versions(tenant=step.tenant).filter(pk__in=[row.pk for row in rows]).update(
            valid_to=step.seq,
            closed_at=step.now,
            closed_by_user_id=step.actor.user_id,
            closed_by_label=step.actor.label,
            closed_by_action=Change.Action.RESTORE,
            in_trash=trash,
        )


def _apply_counter_deltas(run: RestoreRun, deltas: dict[int, list[int]]) -> None:
    """Add each folder's change to it and to every folder above it."""
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    pending = [node_id for node_id, (files, size) in deltas.items() if files or size]
    unknown = [node_id for node_id in pending if node_id not in run.parent_of]
    versions = selectors.versions(tenant=run.tenant)
    while unknown:
        found = dict(versions.filter(node_id__in=unknown, valid_to__isnull=True).values_list("node_id", "parent_id"))
        for node_id in unknown:
            run.parent_of[node_id] = found.get(node_id)
        unknown = [p for p in set(found.values()) if p is not None and p not in run.parent_of]
    for node_id in pending:
        files, size = deltas[node_id]
        current: int | None = node_id
        while current is not None:
            totals[current][0] += files
            totals[current][1] += size
            current = run.parent_of.get(current)
    for node_id, (files, size) in totals.items():
        Node.objects.for_tenant(run.tenant).filter(pk=node_id).update(
            subtree_files=F("subtree_files") + files, subtree_bytes=F("subtree_bytes") + size
        )


# ---------------------------------------------------------------- jobs


def _suffix_moment(tenant: Tenant, at: datetime) -> str:
    return f"{timezone.localtime(at, tenant.hub.zone):%Y-%m-%d %H:%M}"


def _execute(run: RestoreRun, plan: list[PlanItem], *, start: int, actor: Actor, job: RestoreJob | None) -> str:
    """Run the plan from ``start`` in batches; each batch commits with the job's
    progress. Returns "done", "cancelled" or "superseded" (a newer run of the
    same job, say from a redelivered message, owns it now)."""
    paths: dict[int, str] = {}
    batch_items = settings.RESTORE_BATCH_ITEMS
    offset = start
    while offset < len(plan):
        if job is not None:
            job.refresh_from_db(fields=["cancel_requested"])
            if job.cancel_requested:
                _finish(job, RestoreJob.State.CANCELLED, run.outcome)
                return "cancelled"
        # Between batches the customer may have moved or deleted folders: ask again.
        run.parent_of.clear()
        run.top_parents.clear()
        with change_step(tenant=run.tenant, actor=actor) as step:
            if job is not None:
                # The job row stays locked until this batch commits: one writer at a time.
                locked = RestoreJob.objects.for_tenant(run.tenant).select_for_update().get(pk=job.pk)
                if locked.attempts != run.attempt or locked.is_finished:
                    return "superseded"
                if locked.done_items != offset:  # an older run committed more batches first
                    offset = locked.done_items
                    run.outcome = _outcome_of(locked)
                    run.folder_map = _folder_map_of(run.tenant, job)
                    paths.clear()
                    if offset >= len(plan):
                        break
            batch = plan[offset : offset + batch_items]
            run.quota_room = run.tenant.effective_quota_bytes - selectors.live_usage(tenant=run.tenant).live_bytes
            _run_batch(run, step, batch, paths)
            if job is not None:
                _save_progress(job, run.outcome, done=offset + len(batch))
        offset += len(batch)
    return "done"


def _folder_map_of(tenant: Tenant, job: RestoreJob) -> dict[int, int | None]:
    return dict(
        RestoreFolderMap.objects.for_tenant(tenant).filter(job=job).values_list("source_node_id", "target_node_id")
    )


def _save_progress(job: RestoreJob, outcome: Outcome, *, done: int) -> None:
    job.done_items = done
    for name, value in outcome.counts().items():
        setattr(job, name, value)
    job.failures = outcome.failures
    job.heartbeat_at = timezone.now()
    job.save(update_fields=["done_items", *outcome.counts(), "failures", "heartbeat_at"])


def _finish(job: RestoreJob, state: str, outcome: Outcome, error: str = "") -> None:
    from snapshots.notifications import restore_finished_notify

    job.state = state
    job.finished_at = timezone.now()
    job.error = error
    for name, value in outcome.counts().items():
        setattr(job, name, value)
    job.failures = outcome.failures
    job.save(update_fields=["state", "finished_at", "error", *outcome.counts(), "failures"])
    restore_finished_notify(job=job)


def _run_for(tenant: Tenant, request: ValidatedRestore, job_id: int | None, keep_items: int) -> RestoreRun:
    run = RestoreRun(tenant=tenant, request=request, job_id=job_id, outcome=Outcome(keep_items=keep_items))
    run.suffix_moment = _suffix_moment(tenant, request.source.at)
    return run


@dataclass(frozen=True)
class RestorePreview:
    counts: dict[str, int]
    total_items: int
    items: list[dict[str, str]]
    failures: list[dict[str, str]]


class _RollBack(Exception):
    pass


def restore_preview(
    *,
    tenant: Tenant,
    acting_user: User | None,
    snapshot_id: int | None = None,
    at: datetime | None = None,
    paths: list[str] | None = None,
    target: str | None = None,
    conflict: str = RestoreJob.Conflict.RENAME,
) -> RestorePreview:
    """What a restore would do, item by item, without changing anything: the
    real restore runs inside a transaction that is then rolled back."""
    request = restore_validate(
        tenant=tenant, snapshot_id=snapshot_id, at=at, paths=paths, target=target, conflict=conflict
    )
    plan = restore_plan(tenant=tenant, request=request)
    run = _run_for(tenant, request, None, PREVIEW_ITEMS_KEPT)
    try:
        with transaction.atomic(using=hub_database_alias(tenant.hub_id)):
            _execute(run, plan, start=0, actor=actor_for(acting_user), job=None)
            raise _RollBack
    except _RollBack:
        pass
    return RestorePreview(
        counts=run.outcome.counts(), total_items=len(plan), items=run.outcome.items, failures=run.outcome.failures
    )


def restore_start(
    *,
    tenant: Tenant,
    acting_user: User | None,
    snapshot_id: int | None = None,
    at: datetime | None = None,
    paths: list[str] | None = None,
    target: str | None = None,
    conflict: str = RestoreJob.Conflict.RENAME,
    by_support: bool = False,
) -> RestoreJob:
    """Validate a restore, take a pre-restore snapshot (so the restore can be
    undone) and queue the job on the tenant's hub queue."""
    request = restore_validate(
        tenant=tenant, snapshot_id=snapshot_id, at=at, paths=paths, target=target, conflict=conflict
    )
    actor = actor_for(acting_user, by_support=by_support)
    alias = hub_database_alias(tenant.hub_id)
    with transaction.atomic(using=alias):
        pre_restore = snapshot_create(
            tenant=tenant, kind=Snapshot.Kind.PRE_RESTORE, acting_user=acting_user, by_support=by_support
        )
        job = RestoreJob.objects.for_tenant(tenant).create(
            snapshot=request.source.snapshot,
            source_seq=request.source.seq,
            source_at=request.source.at,
            paths=[join_path(names) for names in request.paths],
            target=join_path(request.target) if request.target is not None else "",
            conflict=request.conflict,
            requested_by_user_id=actor.user_id,
            requested_by_label=actor.label,
            by_support=by_support,
            pre_restore_snapshot=pre_restore,
            created_at=timezone.now(),
        )

        def enqueue() -> None:
            from snapshots.tasks import restore_run_task

            restore_run_task.delay(tenant_id=tenant.pk, job_id=job.pk)

        transaction.on_commit(enqueue, using=alias)
    return job


def restore_request_of(job: RestoreJob) -> ValidatedRestore:
    return ValidatedRestore(
        source=RestoreSource(seq=job.source_seq, at=job.source_at, snapshot=None),
        paths=[split_path(path) for path in job.paths],
        target=split_path(job.target) if job.target else None,
        conflict=job.conflict,
    )


MAX_ATTEMPTS = 5
GAVE_UP = "The restore was interrupted five times and has stopped; what it restored is kept. Start it again."
INTERNAL_ERROR = "An internal error stopped the restore; what it restored is kept. Support has been alerted."


def _outcome_of(job: RestoreJob) -> Outcome:
    outcome = Outcome()
    outcome.restored, outcome.renamed, outcome.overwritten = job.restored, job.renamed, job.overwritten
    outcome.skipped, outcome.unchanged, outcome.failed = job.skipped, job.unchanged, job.failed
    outcome.failures = list(job.failures)
    return outcome


def restore_run(*, tenant: Tenant, job_id: int) -> RestoreJob | None:
    """Run (or resume) a restore job. Idempotent: a finished job is left alone,
    an interrupted one goes on from its last committed batch."""
    alias = hub_database_alias(tenant.hub_id)
    jobs = RestoreJob.objects.for_tenant(tenant)
    with transaction.atomic(using=alias):
        job = jobs.select_for_update().filter(pk=job_id).first()
        if job is None or job.is_finished:
            return job
        if job.cancel_requested:
            _finish(job, RestoreJob.State.CANCELLED, Outcome())
            return job
        if job.attempts >= MAX_ATTEMPTS:
            _finish(job, RestoreJob.State.FAILED, _outcome_of(job), error=GAVE_UP)
            return job
        job.state = RestoreJob.State.RUNNING
        job.started_at = job.started_at or timezone.now()
        job.heartbeat_at = timezone.now()
        job.attempts += 1
        job.save(update_fields=["state", "started_at", "heartbeat_at", "attempts"])
    request = restore_request_of(job)
    run = _run_for(tenant, request, job.pk, 0)
    run.outcome = _outcome_of(job)
    run.attempt = job.attempts
    run.folder_map = _folder_map_of(tenant, job)
    actor = Actor(user_id=job.requested_by_user_id, label=job.requested_by_label, by_support=job.by_support)
    try:
        plan = restore_plan(tenant=tenant, request=request)
        job.total_items = len(plan)
        job.heartbeat_at = timezone.now()  # planning a large restore takes a while
        job.save(update_fields=["total_items", "heartbeat_at"])
        ended = _execute(run, plan, start=job.done_items, actor=actor, job=job)
    except StoreError as exc:
        _finish(job, RestoreJob.State.FAILED, run.outcome, error=exc.detail)
        return job
    except Exception as exc:  # noqa: BLE001 - any other failure ends the job, named by its class only
        # The exception's text can quote a row (a file name): log ids and the class, never the message.
        logger.error("Restore job %s of tenant %s failed: %s", job.pk, tenant.pk, type(exc).__name__)
        _finish(job, RestoreJob.State.FAILED, run.outcome, error=INTERNAL_ERROR)
        return job
    job.refresh_from_db()
    if ended == "done" and not job.is_finished:
        _finish(job, RestoreJob.State.SUCCEEDED, run.outcome)
    return job


def restore_cancel(*, tenant: Tenant, job_id: int, acting_user: User | None) -> RestoreJob:
    """Ask a job to stop after its current batch; a queued job stops at once."""
    with transaction.atomic(using=hub_database_alias(tenant.hub_id)):
        job = RestoreJob.objects.for_tenant(tenant).select_for_update().filter(pk=job_id).first()
        if job is None:
            raise NotFound(f"There is no restore job {job_id}.")
        if job.is_finished:
            raise RestoreFinished(f"The restore already ended ({job.get_state_display().lower()}).")
        job.cancel_requested = True
        job.save(update_fields=["cancel_requested"])
        if job.state == RestoreJob.State.QUEUED:
            _finish(job, RestoreJob.State.CANCELLED, Outcome())
    return job


# A running job commits a batch at least every few seconds; one silent for
# five minutes lost its worker, and is queued again.
STALLED_AFTER = timedelta(minutes=5)


def restores_resume_stalled(*, hub_code: str) -> list[int]:
    """Queue again the jobs of a hub whose worker died (queued ones too, in case
    their message was lost). Returns the job ids queued."""
    from hubs.models import Tenant
    from hubs.selectors import hub_unavailable_until
    from snapshots.tasks import restore_run_task

    if hub_unavailable_until(hub_code=hub_code) is not None:
        return []  # its jobs wait out the window on their own
    cutoff = timezone.now() - STALLED_AFTER
    stalled = list(
        RestoreJob.objects.for_hub(hub_code)
        .filter(state__in=[RestoreJob.State.RUNNING, RestoreJob.State.QUEUED])
        .filter(Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff))
        .values_list("tenant_id", "pk")
    )
    known = set(Tenant.objects.filter(pk__in={tenant_id for tenant_id, _ in stalled}).values_list("pk", flat=True))
    for tenant_id, job_id in stalled:
        if tenant_id in known:
            restore_run_task.delay(tenant_id=tenant_id, job_id=job_id)
    return [job_id for tenant_id, job_id in stalled if tenant_id in known]


# ---------------------------------------------------------------- scheduled snapshots

SCHEDULE_INTERVALS = {"hourly": timedelta(hours=1), "4h": timedelta(hours=4), "daily": timedelta(days=1)}
# Beat ticks every 15 minutes; a snapshot due within the next 5 minutes is taken
# now rather than 15 minutes late.
SCHEDULE_SLACK = timedelta(minutes=5)


def snapshots_take_scheduled(*, hub_code: str, now: datetime | None = None) -> int:
    """Take the scheduled snapshot of every tenant of a hub whose turn it is.
    Returns how many were taken; running it twice in a row takes none twice.

    Whose turn it is comes from the hub's own latest scheduled snapshots, so the
    snapshot and the record of it are one row in one database.
    """
    from hubs.models import Tenant

    now = now or timezone.now()
    taken = 0
    last_taken = dict(
        Snapshot.objects.for_hub(hub_code)
        .filter(kind=Snapshot.Kind.SCHEDULED)
        .values("tenant_id")
        .annotate(last=Max("taken_at"))
        .values_list("tenant_id", "last")
    )
    tenants = Tenant.objects.filter(hub_id=hub_code, provisioned_at__isnull=False).select_related("hub")
    for tenant in tenants.iterator(chunk_size=500):
        interval = SCHEDULE_INTERVALS.get(tenant.snapshot_schedule, SCHEDULE_INTERVALS["hourly"])
        last = last_taken.get(tenant.pk)
        if last is not None and now - last < interval - SCHEDULE_SLACK:
            continue
        snapshot_create(tenant=tenant, kind=Snapshot.Kind.SCHEDULED)
        taken += 1
    return taken
