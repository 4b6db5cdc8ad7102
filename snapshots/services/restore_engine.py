"""Running one batch of a restore: each batch is one change step, with
set-based writes, parents before children."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from snapshots import selectors
from snapshots.blobs import blob_bytes_present
from snapshots.errors import InvalidPath
from snapshots.models import Blob, Change, Node, NodeVersion, RestoreFolderMap, RestoreJob
from snapshots.paths import MAX_RESTORED_NAMES, join_path, restored_name
from snapshots.services.kernel import (
    ChangeStep,
    NewVersion,
    counters_move,
    file_counters_set,
    folders_ensure,
    nodes_create,
    trash_leave,
    versions_close,
    versions_open,
)
from snapshots.services.restore_plan import PlanItem
from snapshots.services.restore_request import ValidatedRestore

if TYPE_CHECKING:
    from hubs.models import Tenant

FAILURES_KEPT = 1000


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
    """The first free name the naming rule of restored items gives, with the source moment in it."""
    for attempt in range(1, MAX_RESTORED_NAMES + 1):
        candidate = restored_name(name, is_folder=kind == Node.Kind.FOLDER, moment=run.suffix_moment, attempt=attempt)
        if (parent_id, candidate) in taken:
            continue
        if selectors.live_child(tenant=run.tenant, parent_id=parent_id, name=candidate) is None:
            return candidate
    raise InvalidPath("Could not find a free name for a restored item.")


def _top_parent(run: RestoreRun, step: ChangeStep, item: PlanItem) -> tuple[int, str]:
    """The live folder a top-level item goes into (made if missing), and its path."""
    names = tuple(run.request.target) if run.request.target is not None else item.top_parent_names or ()
    if names not in run.top_parents:
        chain = folders_ensure(step, list(names))
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
        versions_close(step, to_close, action=Change.Action.RESTORE)
        versions_close(step, to_trash, action=Change.Action.RESTORE, to_trash=True)
        created = nodes_create(
            step, kinds=[node.kind for _, node in new_nodes], sizes=[node.subtree_bytes for _, node in new_nodes]
        )
        made_for = {item.node_id: node_id for (item, _), node_id in zip(new_nodes, created, strict=True)}
        by_node = {item.node_id: item for item, _, _ in placements}
        file_counters_set(
            step, sizes={**overwritten_sizes, **{revived_id: by_node[revived_id].size for revived_id in revived}}
        )
        trash_leave(step, node_ids=revived)
        rows = []
        for item, node_id, parent_id, name in new_versions:
            target_node = node_id if node_id is not None else made_for[item.node_id]
            if item.kind == Node.Kind.FOLDER:
                run.folder_map[item.node_id] = target_node
                run.parent_of[target_node] = parent_id
            rows.append(
                NewVersion(
                    node_id=target_node,
                    parent_id=parent_id,
                    name=name,
                    kind=item.kind,
                    blob_id=item.blob_id,
                    size=item.size,
                )
            )
        versions_open(step, rows)
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
    counters_move(
        step,
        deltas={folder: (files, size) for folder, (files, size) in counter_deltas.items()},
        parent_of=run.parent_of,
    )


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
