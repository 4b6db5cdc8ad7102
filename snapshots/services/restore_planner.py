"""The restore planner: what a restore does with each item of its plan, read
from the plan and today's live names, and never written anywhere. (Over 500
lines: the decisions, an exact restore's removals and the preview share one
overlay of what the restore placed, so they stay together.)

The preview and the real run share it. A run asks it for the decisions of
one group of items (one depth, inside one batch), and the engine writes
exactly those; a preview asks it for every group and only counts. The
planner keeps what the restore has placed so far (an overlay of names and
the folders it made), so its decisions do not depend on whether the rows of
earlier groups were written (a run) or not (a preview): without concurrent
changes by the customer, a preview and the run that follows it agree item by
item.

An exact restore (a rewind) is a merge with the overwrite policy plus
removals: when a folder of the source merges into the folder there today
(the root too, for everything), what that folder holds under a name the
source folder did not have is decided ``removed`` (it goes to Recently
deleted, as a delete would send it). The removals of a folder are decided
with the folder itself, in its group, so they commit in the same batch as
the folder's own decision and always before its contents are placed: a
resumed job never decides them twice, and a file renamed since finds its
new name closed when its old name is restored, so it comes back as itself.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import TYPE_CHECKING, NamedTuple

from django.utils import timezone

from snapshots import selectors
from snapshots.blobs import blobs_present
from snapshots.errors import InvalidPath, WrongKind
from snapshots.models import Node, RestoreJob
from snapshots.paths import MAX_RESTORED_NAMES, join_path, restored_name
from snapshots.selectors.lookup import path_lookup
from snapshots.services.kernel import IDS_PER_QUERY, chain_parents
from snapshots.services.restore_conflicts import (
    CONTENT_MISSING,
    FOLDER_SKIPPED,
    NO_QUOTA,
    OUTCOMES,
    RestoreAction,
    resolve_conflict,
)
from snapshots.services.restore_plan import PlanItem, depth_groups, is_root, restore_plan, rows_of
from snapshots.services.restore_request import RestoreRequest, ValidatedRestore, restore_validate

if TYPE_CHECKING:
    from datetime import datetime

    from hubs.models import Tenant

# A failed job keeps the first 1,000 failures; more tell the customer nothing new.
FAILURES_KEPT = 1000
# Live names are read 1,000 at a time: one query per 1,000 items of a group
# keeps the IN lists far under every database's limit and the round trips few.
NAMES_PER_QUERY = 1000
LIVE_FIELDS = ("pk", "node_id", "parent_id", "kind", "blob_id", "size", "name")
FILE, FOLDER = Node.Kind.FILE.value, Node.Kind.FOLDER.value
# The actions as plain names: the preview's loop looks them up 100,000 times.
RESTORED, RENAMED, OVERWRITTEN = RestoreAction.RESTORED, RestoreAction.RENAMED, RestoreAction.OVERWRITTEN
UNCHANGED, SKIPPED, FAILED, MERGED, REMOVED = (
    RestoreAction.UNCHANGED,
    RestoreAction.SKIPPED,
    RestoreAction.FAILED,
    RestoreAction.MERGED,
    RestoreAction.REMOVED,
)
# What comes back, in a preview's totals: the actions that place an item.
BACK = (RESTORED, RENAMED, OVERWRITTEN)


@dataclass(frozen=True)
class PendingFolder:
    """A folder this restore makes and the database may not hold yet: a
    restored folder (by its source node), or the folders on the way to where
    top-level items go (by their path)."""

    source_node_id: int | None = None
    names: tuple[str, ...] | None = None


FolderRef = int | PendingFolder  # a folder that was there before the restore, by node id, or one it makes


class LiveRow(NamedTuple):
    """The live item that holds a name."""

    version_id: int
    node_id: int
    parent_id: int
    kind: str
    blob_id: int | None
    size: int


class Decision(NamedTuple):
    """What the restore does with one item of its plan. (A tuple, as plan
    items are: a preview makes one per item, 100,000 for a large tenant.)"""

    item: PlanItem
    action: RestoreAction
    path: str  # where it goes (or would have gone)
    reason: str = ""
    parent: FolderRef | None = None  # the folder it goes into, for the actions that write
    name: str = ""  # the name it takes there
    occupant: LiveRow | None = None  # what it overwrites or merges into
    occupant_size: tuple[int, int] = (0, 0)  # files and bytes of an overwritten or removed item (to the trash)


# A live row as read: version id, node id, parent id, kind, blob id, size, name.
LiveTuple = tuple[int, int, int, str, int | None, int, str]
Live = dict[tuple[int, str], LiveTuple | None]


def _per_outcome() -> dict[str, int]:
    return dict.fromkeys([outcome.value for outcome in OUTCOMES], 0)


@dataclass
class RestoreTally:
    """What a restore did or would do: exact counts per outcome, the files and
    bytes of each (a removed folder's: all it holds), the first
    ``keep_items`` decisions and removals, and the first 1,000 failures."""

    keep_items: int = 0
    counts: dict[str, int] = field(default_factory=_per_outcome)
    files: dict[str, int] = field(default_factory=_per_outcome)
    bytes: dict[str, int] = field(default_factory=_per_outcome)
    items: list[dict[str, str]] = field(default_factory=list)
    removals: list[dict[str, str]] = field(default_factory=list)
    failures: list[dict[str, str]] = field(default_factory=list)

    def add(self, decisions: Iterable[Decision]) -> None:
        for decision in decisions:
            action = decision.action
            if action is MERGED:
                continue
            self.counts[action] += 1
            if action is REMOVED:
                self.files[action] += decision.occupant_size[0]
                self.bytes[action] += decision.occupant_size[1]
                if len(self.removals) < self.keep_items:
                    self.removals.append({"path": decision.path, "kind": decision.item.kind})
            elif decision.item.kind == FILE:
                self.files[action] += 1
                self.bytes[action] += decision.item.size
            if action is FAILED and len(self.failures) < FAILURES_KEPT:
                self.failures.append({"path": decision.path, "reason": decision.reason})
            if len(self.items) < self.keep_items:
                entry = {"action": action.value, "path": decision.path}
                if decision.reason:
                    entry["reason"] = decision.reason
                self.items.append(entry)


def restore_moment_label(tenant: Tenant, at: datetime) -> str:
    """The source moment as renamed items carry it, in the hub's time: "2026-11-24 10:42"."""
    return f"{timezone.localtime(at, tenant.hub.zone):%Y-%m-%d %H:%M}"


class RestorePlanner:
    """Decisions for the items of one restore, group after group, in plan order."""

    def __init__(
        self,
        *,
        tenant: Tenant,
        request: ValidatedRestore,
        folder_map: dict[int, int | None] | None = None,
        refresh: bool = True,
    ) -> None:
        self.tenant = tenant
        self.request = request
        self.moment = restore_moment_label(tenant, request.source.at)
        # Source folder -> where its contents go (None: it was skipped, and they are too).
        self.folder_map: dict[int, FolderRef | None] = dict(folder_map or {})
        self.folder_paths: dict[int, str] = {}
        # Names this restore placed, by folder: they are taken, by "another restored item".
        self.placed: dict[tuple[FolderRef, str], str] = {}
        # Folders this restore made, once the engine has made them (a run only).
        self.made: dict[PendingFolder, int] = {}
        self.made_as: dict[int, PendingFolder] = {}
        self.top_parents: dict[tuple[str, ...], tuple[FolderRef, str]] = {}
        self.content_present: dict[int, bool] = {}
        # Exact mode: (source folder, the live folder it merged into, its path), swept for removals.
        self.sweeps: list[tuple[int, int, str]] = []
        # The parent links of the live folders the top-level items go into (read with their paths),
        # so the engine moves the counters up their chains without reading them again.
        self.parent_links: dict[int, int | None] = {}
        self._room: int | None = None  # the room left in the quota; None: read it when first needed
        self._root_id: int | None = None
        if refresh:  # a run refreshes at the start of each batch instead
            self.refresh()

    # ------------------------------------------------------------ state the engine and the run update

    def refresh(self, *, root_id: int | None = None) -> None:
        """Forget what the customer may have changed since the last batch (the
        room left in the quota, where the top folders are): it is read again
        when first needed. ``root_id``: the root the caller knows (a change
        step's clock), one query fewer."""
        self._room, self._root_id = None, root_id  # read when first needed (a top folder's lookup reads it too)
        self.top_parents.clear()
        self.parent_links.clear()

    @property
    def quota_room(self) -> int:
        """The bytes the restore may still add to the live tree."""
        if self._room is None:
            if self._root_id is None:
                used = selectors.live_usage(tenant=self.tenant).live_bytes
            else:
                root = Node.objects.for_tenant(self.tenant).filter(pk=self._root_id)
                used = root.values_list("subtree_bytes", flat=True).get()
            self._room = self.tenant.effective_quota_bytes - used
        return self._room

    @quota_room.setter
    def quota_room(self, room: int) -> None:
        self._room = room

    def folder_made(self, folder: PendingFolder, node_id: int) -> None:
        self.made[folder] = node_id
        self.made_as[node_id] = folder

    def node_id_of(self, ref: FolderRef) -> int | None:
        """The folder's node id, if the database holds it."""
        return ref if isinstance(ref, int) else self.made.get(ref)

    def _ref(self, node_id: int) -> FolderRef:
        return self.made_as.get(node_id, node_id)

    # ------------------------------------------------------------ decisions

    def decide(self, items: Sequence[PlanItem]) -> list[Decision]:
        """The decisions for ``items`` (one depth, in plan order), recording
        their placements so the next group sees them.

        Three passes over the group: where each item goes, then (after the
        reads of the names it wants, all at once) what holds that name, then
        the decisions. A preview runs this for 100,000 items in well under a
        second, so the passes stay plain loops.
        """
        decisions: list[Decision | None] = []
        placements: list[tuple[int, PlanItem, FolderRef, str]] = []
        folders: dict[int, tuple[FolderRef | None, str]] = {}
        for item in items:
            source_folder = item.parent_node_id
            if source_folder is None:
                if is_root(item):
                    decisions.append(self._root_merged(item))
                    continue
                parent, parent_path = self._top_parent(item)
            else:
                if source_folder not in folders:
                    folders[source_folder] = (self.folder_map.get(source_folder), self._folder_path(source_folder))
                mapped, parent_path = folders[source_folder]
                if mapped is None:
                    decisions.append(self._skip(item, _child_path(parent_path, item.name), FOLDER_SKIPPED))
                    continue
                parent = mapped
            placements.append((len(decisions), item, parent, parent_path))
            decisions.append(None)

        live = self._live_rows(placements)
        # A folder the database does not hold yet (a preview's new folders) is empty: -1 is no node's id.
        node_ids = {parent: self.node_id_of(parent) or -1 for _, _, parent, _ in placements}
        occupants: list[LiveTuple | None] = []
        contested: list[tuple[FolderRef, str]] = []
        to_write: list[int] = []
        renaming = self.request.conflict == RestoreJob.Conflict.RENAME
        for _, item, parent, _ in placements:
            occupant = live.get((node_ids[parent], item.name))
            occupants.append(occupant)
            if occupant is None or occupant[4] != item.blob_id:
                if item.kind == FILE and item.blob_id is not None:
                    to_write.append(item.blob_id)  # likely written: it needs its bytes
                if renaming and occupant is not None and not (item.kind == occupant[3] == FOLDER):
                    contested.append((parent, self._candidate(item, 1)))  # likely renamed: its first choice
        if contested:
            live.update(self._live_rows_named(contested))
        self._read_blobs(to_write)

        placed = self.placed
        for (index, item, parent, parent_path), occupant in zip(placements, occupants, strict=True):
            if (
                occupant is not None
                and occupant[4] == item.blob_id
                and item.kind == FILE == occupant[3]
                and (parent, item.name) not in placed
            ):
                # The file is there as it was (most of a restore of everything): what _decide says, sooner.
                decisions[index] = Decision(item, UNCHANGED, _child_path(parent_path, item.name))
                continue
            decisions[index] = self._decide(item, parent, parent_path, occupant, live)
        removals = self._removals() if self.sweeps else []
        return [*removals, *(decision for decision in decisions if decision is not None)]

    def _root_merged(self, item: PlanItem) -> Decision:
        """An exact restore of everything: the root as it was merges into today's root."""
        root_id = selectors.root_version(tenant=self.tenant).node_id
        self._folder_placed(item, self._ref(root_id), "/")
        self.sweeps.append((item.node_id, root_id, "/"))
        return Decision(item, MERGED, "/", parent=None, name=item.name)

    def _removals(self) -> list[Decision]:
        """Exact mode: what the live folders merged into in this group hold under
        names their source folders did not have (what was made, or renamed, since).
        Two queries per 500 folders, and one for the sizes of removed folders."""
        sweeps, self.sweeps = self.sweeps, []
        seq = self.request.source.seq
        versions = selectors.versions(tenant=self.tenant)
        wanted: dict[int, set[str]] = defaultdict(set)
        sources = sorted({source for source, _, _ in sweeps})
        for start in range(0, len(sources), IDS_PER_QUERY):
            rows = versions.filter(selectors.visible_at(seq), parent_id__in=sources[start : start + IDS_PER_QUERY])
            for parent_id, name in rows.values_list("parent_id", "name"):
                wanted[parent_id].add(name)
        held: dict[int, list[LiveTuple]] = defaultdict(list)
        folders = sorted({live for _, live, _ in sweeps})
        for start in range(0, len(folders), IDS_PER_QUERY):
            rows = versions.filter(valid_to__isnull=True, parent_id__in=folders[start : start + IDS_PER_QUERY])
            for row in rows.order_by("parent_id", "name").values_list(*LIVE_FIELDS):
                held[row[2]].append(row)
        extra = [
            (row, path)
            for source, live, path in sweeps
            for row in held.get(live, [])
            if row[6] not in wanted[source] and (live, row[6]) not in self.placed
        ]
        inside = self._folder_sizes([row[1] for row, _ in extra if row[3] == FOLDER])
        removals = []
        for row, path in extra:
            occupant = LiveRow._make(row[:6])
            size = (1, occupant.size) if occupant.kind == FILE else inside[occupant.node_id]
            self.quota_room += size[1]
            item = PlanItem(occupant.node_id, None, row[6], occupant.kind, occupant.blob_id, size[1], 0, None)
            removals.append(
                Decision(
                    item,
                    REMOVED,
                    _child_path(path, row[6]),
                    parent=occupant.parent_id,
                    name=row[6],
                    occupant=occupant,
                    occupant_size=size,
                )
            )
        return removals

    def _folder_sizes(self, node_ids: list[int]) -> dict[int, tuple[int, int]]:
        sizes: dict[int, tuple[int, int]] = {}
        for start in range(0, len(node_ids), IDS_PER_QUERY):
            rows = (
                Node.objects.for_tenant(self.tenant)
                .filter(pk__in=node_ids[start : start + IDS_PER_QUERY])
                .values_list("pk", "subtree_files", "subtree_bytes")
            )
            sizes.update((pk, (files, size)) for pk, files, size in rows)
        return sizes

    def _decide(
        self, item: PlanItem, parent: FolderRef, parent_path: str, occupant: LiveTuple | None, live: Live
    ) -> Decision:
        path = _child_path(parent_path, item.name)
        placed_kind = self.placed.get((parent, item.name))
        if placed_kind is not None:
            occupant = None  # what this restore placed there comes first
        action, reason = resolve_conflict(
            kind=item.kind,
            policy=self.request.conflict,
            occupant_kind=placed_kind or (occupant[3] if occupant else None),
            same_content=occupant is not None and occupant[4] == item.blob_id,
            restored_here=placed_kind is not None,
        )
        if action is UNCHANGED:
            return Decision(item, action, path)
        if action is SKIPPED:
            return self._skip(item, path, reason)
        held = LiveRow._make(occupant[:6]) if occupant is not None else None
        if action is MERGED:
            assert held is not None  # only a live folder is merged into
            self._folder_placed(item, self._ref(held.node_id), path)
            if self.request.exact:
                self.sweeps.append((item.node_id, held.node_id, path))
            return Decision(item, action, path, parent=parent, name=item.name, occupant=held)
        name = self._free_name(parent, item, live) if action is RENAMED else item.name
        path = _child_path(parent_path, name)
        freed = (0, 0)
        if action is OVERWRITTEN:
            assert held is not None  # only a live item is overwritten
            freed = self._size_of(held)
        if item.kind == FILE:
            if item.blob_id is not None and not self._content(item.blob_id):
                return Decision(item, FAILED, path, CONTENT_MISSING)
            # A write fits when the live bytes after it are within the quota.
            extra = item.size - freed[1]
            if extra > self.quota_room:
                return Decision(item, FAILED, path, NO_QUOTA)
            self.quota_room -= extra
        else:
            self.quota_room += freed[1]
            self._folder_placed(item, PendingFolder(source_node_id=item.node_id), path)
        self.placed[(parent, name)] = item.kind
        overwritten = held if action is OVERWRITTEN else None
        return Decision(item, action, path, parent=parent, name=name, occupant=overwritten, occupant_size=freed)

    def _skip(self, item: PlanItem, path: str, reason: str) -> Decision:
        if item.kind == Node.Kind.FOLDER:
            self.folder_map[item.node_id] = None
            self.folder_paths[item.node_id] = path
        return Decision(item, RestoreAction.SKIPPED, path, reason)

    def _folder_placed(self, item: PlanItem, target: FolderRef, path: str) -> None:
        self.folder_map[item.node_id] = target
        self.folder_paths[item.node_id] = path

    def _size_of(self, occupant: LiveRow) -> tuple[int, int]:
        """What an overwritten item takes off the live tree: a file itself, a
        folder everything in it."""
        if occupant.kind == Node.Kind.FILE:
            return (1, occupant.size)
        return (
            Node.objects.for_tenant(self.tenant)
            .filter(pk=occupant.node_id)
            .values_list("subtree_files", "subtree_bytes")
            .get()
        )

    # ------------------------------------------------------------ where items go

    def _top_parent(self, item: PlanItem) -> tuple[FolderRef, str]:
        """The folder a top-level item goes into, and its path: the target, or
        where the item was. Folders missing on the way are made by the engine."""
        names = tuple(self.request.target) if self.request.target is not None else item.top_parent_names or ()
        if names not in self.top_parents:
            # The whole path in one statement (the root included), and its parent links for the counters.
            lookup = path_lookup(tenant=self.tenant, names=list(names))
            chain = lookup.chain
            if self._room is None:  # the lookup read the live usage with the path
                self._room = self.tenant.effective_quota_bytes - lookup.live_bytes
            self.parent_links.update(chain_parents(chain))
            for depth, version in enumerate(chain[1:]):
                if version.kind != Node.Kind.FOLDER:
                    raise WrongKind(f"{join_path(names[: depth + 1])} is a file, not a folder.")
            folder: FolderRef = PendingFolder(names=names) if len(chain) <= len(names) else self._ref(chain[-1].node_id)
            self.top_parents[names] = (folder, join_path(names))
        return self.top_parents[names]

    def _folder_path(self, source_node_id: int) -> str:
        """Where a source folder went (a resumed job asks the tree)."""
        if source_node_id not in self.folder_paths:
            target = self.folder_map.get(source_node_id)
            node_id = self.node_id_of(target) if target is not None else None
            self.folder_paths[source_node_id] = (
                selectors.path_of(tenant=self.tenant, node_id=node_id) if node_id is not None else "(skipped)"
            )
        return self.folder_paths[source_node_id]

    def _free_name(self, parent: FolderRef, item: PlanItem, live: Live) -> str:
        for attempt in range(1, MAX_RESTORED_NAMES + 1):
            candidate = self._candidate(item, attempt)
            if (parent, candidate) not in self.placed and self._live_row(parent, candidate, live) is None:
                return candidate
        raise InvalidPath("Could not find a free name for a restored item.")

    def _candidate(self, item: PlanItem, attempt: int) -> str:
        return restored_name(item.name, is_folder=item.kind == Node.Kind.FOLDER, moment=self.moment, attempt=attempt)

    # ------------------------------------------------------------ reads

    def _live_rows(self, placements: Sequence[tuple[int, PlanItem, FolderRef, str]]) -> Live:
        """The live items holding the names these items want, in a few queries;
        a name in a folder the database does not hold yet is free.

        The plan lists a source folder's items by name, in the database's own
        order, so the items of one source folder going into one folder are
        read as one range of names there (an index range scan); top-level
        items of a restore of chosen paths are read by name.
        """
        ranges: dict[tuple[int, int | None], list[str]] = {}
        named: list[tuple[FolderRef, str]] = []
        for _, item, parent, _ in placements:
            node_id = self.node_id_of(parent)
            if node_id is None:
                continue
            if item.parent_node_id is None and self.request.paths:
                named.append((node_id, item.name))
            else:
                ranges.setdefault((node_id, item.parent_node_id), []).append(item.name)
        live: Live = self._live_rows_named(named)
        versions = selectors.versions(tenant=self.tenant).filter(valid_to__isnull=True)
        for (node_id, _), names in ranges.items():
            # Every live row of the range, wanted or not: a name it lacks is free (live.get gives None).
            rows = rows_of(
                versions.filter(parent_id=node_id, name__gte=names[0], name__lte=names[-1]).values_list(*LIVE_FIELDS)
            )
            live.update({(node_id, row[6]): row for row in rows})
        return live

    def _live_rows_named(self, wanted: Iterable[tuple[FolderRef, str]]) -> Live:
        by_folder: dict[int, list[str]] = {}
        for parent, name in wanted:
            node_id = self.node_id_of(parent)
            if node_id is not None:
                by_folder.setdefault(node_id, []).append(name)
        live: Live = {}
        versions = selectors.versions(tenant=self.tenant).filter(valid_to__isnull=True)
        for node_id, names in by_folder.items():
            live.update(zip(zip(repeat(node_id), names), repeat(None)))
            for start in range(0, len(names), NAMES_PER_QUERY):
                chunk = names[start : start + NAMES_PER_QUERY]
                for row in versions.filter(parent_id=node_id, name__in=chunk).values_list(*LIVE_FIELDS):
                    live[(node_id, row[6])] = row
        return live

    def _live_row(self, parent: FolderRef, name: str, live: Live) -> LiveTuple | None:
        node_id = self.node_id_of(parent)
        if node_id is None:
            return None
        key = (node_id, name)
        if key not in live:  # a renamed item's second choice, say
            live.update(self._live_rows_named([(node_id, name)]))
        return live[key]

    def _read_blobs(self, blob_ids: Iterable[int]) -> None:
        """Whether these blobs' bytes are there, a few queries for the group
        (blobs_present asks the storages only about blobs the database says
        may miss a copy)."""
        wanted = sorted(set(blob_ids) - set(self.content_present))
        self.content_present.update(blobs_present(tenant=self.tenant, blob_ids=wanted))

    def _content(self, blob_id: int) -> bool:
        """Whether the blob's bytes are in a facility of the hub (looked for once per blob)."""
        if blob_id not in self.content_present:
            self._read_blobs([blob_id])
        return self.content_present[blob_id]


def _child_path(parent_path: str, name: str) -> str:
    return f"{parent_path}/{name}" if parent_path != "/" else f"/{name}"


# ---------------------------------------------------------------- the preview

# The preview lists the first 1,000 actions; its totals count every item.
PREVIEW_ITEMS_KEPT = 1000
# A preview decides 10,000 items a group: its reads are the run's, in fewer, larger queries.
PREVIEW_GROUP_ITEMS = 10_000


@dataclass(frozen=True)
class RestorePreview:
    counts: dict[str, int]  # exact, per outcome
    total_items: int
    items: list[dict[str, str]]  # the first 1,000 actions, in the order the restore takes them
    failures: list[dict[str, str]]
    mode: str = RestoreJob.Mode.MERGE
    files: dict[str, int] = field(default_factory=_per_outcome)  # per outcome; a removed folder's files counted
    bytes: dict[str, int] = field(default_factory=_per_outcome)
    removals: list[dict[str, str]] = field(default_factory=list)  # the first 1,000 removed items

    @property
    def totals(self) -> dict[str, dict[str, int]]:
        """What comes back (placed: restored, renamed or overwritten) and what
        goes to Recently deleted (an exact restore's removals): items, files, bytes."""
        return {
            "back": {
                "items": sum(self.counts[action] for action in BACK),
                "files": sum(self.files[action] for action in BACK),
                "bytes": sum(self.bytes[action] for action in BACK),
            },
            "removed": {"items": self.counts[REMOVED], "files": self.files[REMOVED], "bytes": self.bytes[REMOVED]},
        }


def restore_preview(*, tenant: Tenant, request: RestoreRequest) -> RestorePreview:
    """What a restore would do, item by item, without changing anything: the
    planner the real run follows, over the plan and today's live names. It
    takes no lock and writes no row (no transaction is opened: on SQLite one
    would take the hub's write lock)."""
    validated = restore_validate(tenant=tenant, request=request)
    plan = restore_plan(tenant=tenant, request=validated)
    planner = RestorePlanner(tenant=tenant, request=validated)
    tally = RestoreTally(keep_items=PREVIEW_ITEMS_KEPT)
    for group in depth_groups(plan, size=PREVIEW_GROUP_ITEMS):
        tally.add(planner.decide(group))
    return RestorePreview(
        counts=tally.counts,
        total_items=len(plan),
        items=tally.items,
        failures=tally.failures,
        mode=validated.mode,
        files=tally.files,
        bytes=tally.bytes,
        removals=tally.removals,
    )
