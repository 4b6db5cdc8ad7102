"""Many items back from Recently deleted in one step, set-based, with the
outcome of bringing them back one after another (``trash_restore_in_step``).

Unlike a move or a delete, one item's restore can change what the next one
finds: it makes the missing folders on its original path (the next item from
that folder goes into them), it takes a name (the next one of that name in that
folder becomes "name (restored)"), a folder brings back what it held (the next
item's path may run through it), and each uses some of the quota. So the items
are decided in order against the tree as this step changes it (``_Tree``: the
live tree read in batches, with what the step adds on top), and only then
written, with the kernel's multi-row operations: the new folders' nodes in one
insert, every row leaving Recently deleted in one UPDATE per 500, every new
row in one insert, the counters once for all.

Reads: the chosen rows, their nodes' counters and open rows, the original
paths (one query per folder level), the live tree along those paths (one query
per level); a name taken on the way costs one more query, and so does a path
that runs into a folder this step brings back (one per such folder and level).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from snapshots.errors import InvalidPath, NotFound, NotRestorable, WrongKind
from snapshots.models import Change, Node, NodeVersion
from snapshots.paths import MAX_RESTORED_NAMES, join_path, restored_name
from snapshots.selectors.lookup import live_children_named, live_rows, path_lookup, subtree_counters
from snapshots.selectors.trash import trash_original_paths
from snapshots.services.files import _check_quota
from snapshots.services.kernel import (
    IDS_PER_QUERY,
    ChangeStep,
    NewVersion,
    counters_move,
    nodes_create,
    trash_leave,
    versions_open,
)
from snapshots.services.trash import trash_restore_in_step

# Names of "(restored)" asked at once when a name is taken.
RESTORED_NAMES_PER_QUERY = 16


@dataclass(frozen=True)
class _Planned:
    """A row the step opens: a folder made on the way (``restored`` None) or an item brought back."""

    node_id: int  # a folder made on the way has a stand-in id below zero until its node exists
    parent_id: int
    name: str
    kind: str
    path: str
    restored: NodeVersion | None


class _Tree:
    """The live tree as this step changes it, as far as the items' paths need:
    each folder's children by name, read from the database in batches, with
    what the step has added (it removes nothing) on top."""

    def __init__(self, step: ChangeStep, *, root_id: int, paths: Iterable[Sequence[str]]) -> None:
        self.step = step
        self.children: dict[tuple[int, str], tuple[int, str] | None] = {}
        self.parent_of: dict[int, int | None] = {root_id: None}
        # The names the items' paths need after each path: what a folder is asked for at once.
        self.wanted_after: dict[tuple[str, ...], set[str]] = defaultdict(set)
        for names in paths:
            for depth in range(len(names)):
                self.wanted_after[tuple(names[:depth])].add(names[depth])
        self._read_levels(root_id)

    def _read_levels(self, root_id: int) -> None:
        """Every path as the tree holds it before the step, one query per level."""
        level: dict[tuple[str, ...], int] = {(): root_id}
        while level:
            self._read({(folder_id, name) for prefix, folder_id in level.items() for name in self.wanted_after[prefix]})
            deeper: dict[tuple[str, ...], int] = {}
            for prefix, folder_id in level.items():
                for name in self.wanted_after[prefix]:
                    child = self.children[(folder_id, name)]
                    if child is not None and child[1] == Node.Kind.FOLDER:
                        deeper[(*prefix, name)] = child[0]
            level = deeper

    def _read(self, wanted: set[tuple[int, str]]) -> None:
        if not wanted:
            return
        rows = live_children_named(tenant=self.step.tenant, wanted=wanted)
        for key in wanted:
            row = rows.get(key)
            self.children[key] = (row.node_id, row.kind) if row is not None else None
            if row is not None:
                self.parent_of[row.node_id] = key[0]

    def child(
        self, folder_id: int, name: str, *, path: tuple[str, ...], also: Iterable[str] = ()
    ) -> tuple[int, str] | None:
        """The (node id, kind) called ``name`` in the folder at ``path``, or None."""
        key = (folder_id, name)
        if key not in self.children:
            if folder_id < 0:
                return None  # a folder this step makes holds only what the step puts in it
            # A folder the step brought back, or a name not asked before: ask
            # for it with every name the items need in that folder.
            names = {name, *also, *self.wanted_after.get(path, ())}
            self._read({(folder_id, each) for each in names if (folder_id, each) not in self.children})
        return self.children[key]

    def add(self, folder_id: int, name: str, node_id: int, kind: str) -> None:
        self.children[(folder_id, name)] = (node_id, kind)
        self.parent_of[node_id] = folder_id


def trash_restore_set(step: ChangeStep, *, version_ids: Sequence[int]) -> list[NodeVersion]:
    """Bring back these rows of Recently deleted (each id once) inside an open
    step, as ``trash_restore_in_step`` would one after another; the restored
    rows, in order."""
    tenant = step.tenant
    deleted = _trash_rows(step, version_ids)
    node_ids = [version.node_id for version in deleted.values()]
    live = live_rows(tenant=tenant, node_ids=node_ids)
    held = subtree_counters(tenant=tenant, node_ids=node_ids)
    try:
        original_paths = trash_original_paths(tenant=tenant, items=list(deleted.values()))
    except (NotFound, InvalidPath):
        # A folder on some item's way is gone from the history: one by one, so
        # the refusal is the one that item meets, after the items before it.
        return [trash_restore_in_step(step, version_id=version_id) for version_id in version_ids]
    originals = {version_id: path[1:].split("/") for version_id, path in original_paths.items()}
    base = path_lookup(tenant=tenant, names=[])
    root_id = base.chain[0].node_id
    tree = _Tree(step, root_id=root_id, paths=originals.values())

    plan: list[_Planned] = []
    deltas: dict[int, tuple[int, int]] = defaultdict(lambda: (0, 0))
    used = base.live_bytes
    restored_nodes: set[int] = set()
    for version_id in version_ids:
        version = deleted.get(version_id)
        if version is None or version.node_id in restored_nodes:
            raise NotFound("That item is not in Recently deleted (it may have been restored or expired).")
        if version.node_id in live:
            raise NotRestorable("That item is already back.")
        files, size = held[version.node_id]
        _check_quota(tenant=tenant, additional=size, used=used)
        names = originals[version_id]
        folder_id = root_id
        for depth, name in enumerate(names[:-1]):
            child = tree.child(folder_id, name, path=tuple(names[:depth]))
            if child is None:
                made = -1 - len(plan)
                tree.add(folder_id, name, made, Node.Kind.FOLDER)
                plan.append(
                    _Planned(
                        node_id=made,
                        parent_id=folder_id,
                        name=name,
                        kind=Node.Kind.FOLDER,
                        path=join_path(names[: depth + 1]),
                        restored=None,
                    )
                )
                folder_id = made
            elif child[1] != Node.Kind.FOLDER:
                raise WrongKind(f"{join_path(names[: depth + 1])} is a file, not a folder.")
            else:
                folder_id = child[0]
        name = _free_name(tree, folder_id, version.name, kind=version.kind, path=tuple(names[:-1]))
        tree.add(folder_id, name, version.node_id, version.kind)
        plan.append(
            _Planned(
                node_id=version.node_id,
                parent_id=folder_id,
                name=name,
                kind=version.kind,
                path=join_path([*names[:-1], name]),
                restored=version,
            )
        )
        before = deltas[folder_id]
        deltas[folder_id] = (before[0] + files, before[1] + size)
        restored_nodes.add(version.node_id)
        used += size
    return _write(step, plan, deltas=deltas, parent_of=tree.parent_of)


def _trash_rows(step: ChangeStep, version_ids: Sequence[int]) -> dict[int, NodeVersion]:
    found: dict[int, NodeVersion] = {}
    ids = sorted(set(version_ids))
    for start in range(0, len(ids), IDS_PER_QUERY):
        found.update(
            (version.pk, version)
            for version in NodeVersion.objects.for_tenant(step.tenant)
            .select_related("blob")
            .filter(pk__in=ids[start : start + IDS_PER_QUERY], in_trash=True)
        )
    return found


def _free_name(tree: _Tree, folder_id: int, name: str, *, kind: str, path: tuple[str, ...]) -> str:
    """``selectors.free_name`` in the tree as the step has changed it."""
    if tree.child(folder_id, name, path=path) is None:
        return name
    is_folder = kind == Node.Kind.FOLDER
    for attempt in range(1, MAX_RESTORED_NAMES + 1):
        candidate = restored_name(name, is_folder=is_folder, attempt=attempt)
        following = (
            restored_name(name, is_folder=is_folder, attempt=later)
            for later in range(attempt + 1, min(attempt + RESTORED_NAMES_PER_QUERY, MAX_RESTORED_NAMES + 1))
        )
        if tree.child(folder_id, candidate, path=path, also=following) is None:
            return candidate
    raise InvalidPath("Could not find a free name.")


def _write(
    step: ChangeStep,
    plan: list[_Planned],
    *,
    deltas: dict[int, tuple[int, int]],
    parent_of: dict[int, int | None],
) -> list[NodeVersion]:
    """Write what was decided: the new folders' nodes, the rows, the counters, the activity."""
    made = [planned.node_id for planned in plan if planned.restored is None]
    actual = dict(zip(made, nodes_create(step, kinds=[Node.Kind.FOLDER] * len(made)), strict=True))

    def real(node_id: int | None) -> int | None:
        return actual.get(node_id, node_id) if node_id is not None else None

    restored = [planned.node_id for planned in plan if planned.restored is not None]
    trash_leave(step, node_ids=restored)
    versions_open(
        step,
        [
            NewVersion(
                node_id=actual.get(planned.node_id, planned.node_id),
                parent_id=actual.get(planned.parent_id, planned.parent_id),
                name=planned.name,
                kind=planned.kind,
                blob_id=planned.restored.blob_id if planned.restored is not None else None,
                size=planned.restored.size if planned.restored is not None else 0,
            )
            for planned in plan
        ],
        read_back=False,
    )
    counters_move(
        step,
        deltas={actual.get(folder_id, folder_id): delta for folder_id, delta in deltas.items()},
        parent_of={actual.get(node_id, node_id): real(parent) for node_id, parent in parent_of.items()},
    )
    for planned in plan:
        action = Change.Action.MKDIR if planned.restored is None else Change.Action.RESTORE
        step.record(action, node_id=actual.get(planned.node_id, planned.node_id), path=planned.path)
    rows = live_rows(tenant=step.tenant, node_ids=restored)
    return [rows[node_id] for node_id in restored]
