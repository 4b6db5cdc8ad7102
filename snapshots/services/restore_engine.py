"""The restore engine: it writes what the planner decided for one group of
items, inside the batch's change step, with the kernel's set-based
operations: a few queries per group, whatever its size."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from snapshots import selectors
from snapshots.models import Change, Node, NodeVersion, RestoreFolderMap
from snapshots.services.kernel import (
    IDS_PER_QUERY,
    ChangeStep,
    NewVersion,
    chain_parents,
    counters_move,
    file_counters_set,
    folders_ensure,
    ids_in,
    nodes_create,
    trash_leave,
    versions_close,
    versions_close_as,
    versions_open,
)
from snapshots.services.restore_conflicts import WRITES, RestoreAction
from snapshots.services.restore_planner import FILE, Decision, LiveRow, PendingFolder, RestorePlanner


def decisions_apply(
    step: ChangeStep, planner: RestorePlanner, decisions: Sequence[Decision], *, job_id: int | None
) -> None:
    """Write the decisions of one group: close what is overwritten, open the
    restored rows (on the item's own node when it has no live row, else on a
    new one), move the counters, and note where each folder went."""
    _removals_apply(step, [decision for decision in decisions if decision.action is RestoreAction.REMOVED])
    writes = [decision for decision in decisions if decision.action in WRITES]
    parent_of: dict[int, int | None] = dict(planner.parent_links)  # the top folders' chains, read with their paths
    for folder in dict.fromkeys(
        decision.parent
        for decision in writes
        if isinstance(decision.parent, PendingFolder) and decision.parent.names is not None
    ):
        assert folder.names is not None  # filtered above
        chain = folders_ensure(step, folder.names)
        planner.folder_made(folder, chain[-1].node_id)
        parent_of.update(chain_parents(chain))
    parents = [_node_id(planner, decision) for decision in writes]

    # A file over a file is a new version of the file there; anything else
    # sends what is there to Recently deleted and places the item anew.
    in_place = [index for index, decision in enumerate(writes) if _in_place(decision)]
    placed_anew = sorted(set(range(len(writes))) - set(in_place))
    # A file whose node is not in the live tree (deleted, or inside a deleted
    # folder) comes back as itself, with its history; one that is live
    # elsewhere is restored as a copy.
    files = {writes[index].item.node_id for index in (*in_place, *placed_anew) if writes[index].item.kind == FILE}
    open_rows = _open_rows(step, sorted(files))
    live = _live_folders(step, {parent_id for _, parent_id, _ in open_rows.values()})
    dead = {node_id for node_id in files if node_id not in open_rows or open_rows[node_id][1] not in live}
    revived = [index for index in placed_anew if writes[index].item.node_id in dead]
    copies = sorted(set(placed_anew) - set(revived))
    # A dead file whose content now lives on in another file (written over it) is back too.
    back = {writes[index].item.node_id for index in revived} | {
        writes[index].item.node_id
        for index in in_place
        if writes[index].item.node_id in dead and writes[index].item.node_id != _occupant(writes[index]).node_id
    }

    deltas: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    orphans = [node_id for node_id in back if node_id in open_rows]
    versions_close(step, [open_rows[node_id][0] for node_id in orphans], action=Change.Action.RESTORE)
    for node_id in orphans:  # it leaves the deleted folder it was in
        _, parent_id, size = open_rows[node_id]
        deltas[parent_id][0] -= 1
        deltas[parent_id][1] -= size
    trash_leave(step, node_ids=back)
    replaced = [index for index in placed_anew if writes[index].action is RestoreAction.OVERWRITTEN]
    versions_close(step, [_occupant(writes[index]).version_id for index in in_place], action=Change.Action.RESTORE)
    versions_close(
        step,
        [_occupant(writes[index]).version_id for index in replaced],
        action=Change.Action.RESTORE,
        to_trash=True,
    )
    for index in replaced:
        files_held, size = writes[index].occupant_size
        deltas[parents[index]][0] -= files_held
        deltas[parents[index]][1] -= size
    for index in in_place:
        deltas[parents[index]][1] += writes[index].item.size - _occupant(writes[index]).size

    node_of: dict[int, int] = {index: _occupant(writes[index]).node_id for index in in_place}
    node_of.update((index, writes[index].item.node_id) for index in revived)
    file_counters_set(step, sizes={node_of[index]: writes[index].item.size for index in (*in_place, *revived)})
    made = nodes_create(
        step, kinds=[writes[index].item.kind for index in copies], sizes=[writes[index].item.size for index in copies]
    )
    node_of.update(zip(copies, made, strict=True))
    versions_open(
        step,
        [
            NewVersion(
                node_id=node_of[index],
                parent_id=parents[index],
                name=decision.name,
                kind=decision.item.kind,
                blob_id=decision.item.blob_id,
                size=decision.item.size,
            )
            for index, decision in enumerate(writes)
        ],
        read_back=False,
        savepoint=False,  # a name taken meanwhile fails the whole batch, which rolls back anyway
    )
    for index in placed_anew:
        item = writes[index].item
        if item.kind == Node.Kind.FILE:
            deltas[parents[index]][0] += 1
            deltas[parents[index]][1] += item.size
        else:
            planner.folder_made(PendingFolder(source_node_id=item.node_id), node_of[index])
            parent_of[node_of[index]] = parents[index]
    counters_move(step, deltas={folder: (files, size) for folder, (files, size) in deltas.items()}, parent_of=parent_of)

    if job_id is not None:
        _folder_map_save(step, planner, decisions, job_id=job_id)
    # The activity log says what changed, item by item: what went to Recently
    # deleted to make room, and what came back (not what was already as it was).
    for index in replaced:
        step.record(Change.Action.DELETE, node_id=_occupant(writes[index]).node_id, path=writes[index].path)
    for index, decision in enumerate(writes):
        step.record(Change.Action.RESTORE, node_id=node_of[index], path=decision.path)


def _removals_apply(step: ChangeStep, removals: Sequence[Decision]) -> None:
    """An exact restore's removals, first: each goes to Recently deleted as a
    delete sends it (one row, whatever a folder holds). A removed file that the
    source has under another name is then dead when that name is restored, so
    it comes back as itself and leaves Recently deleted again."""
    if not removals:
        return
    versions_close(
        step, [_occupant(decision).version_id for decision in removals], action=Change.Action.DELETE, to_trash=True
    )
    deltas: dict[int, tuple[int, int]] = {}
    for decision in removals:
        parent_id = _occupant(decision).parent_id
        files, size = deltas.get(parent_id, (0, 0))
        deltas[parent_id] = (files - decision.occupant_size[0], size - decision.occupant_size[1])
    counters_move(step, deltas=deltas)
    for decision in removals:
        step.record(Change.Action.DELETE, node_id=_occupant(decision).node_id, path=decision.path)


def _in_place(decision: Decision) -> bool:
    return (
        decision.action is RestoreAction.OVERWRITTEN
        and decision.item.kind == Node.Kind.FILE
        and _occupant(decision).kind == Node.Kind.FILE
    )


def _occupant(decision: Decision) -> LiveRow:
    assert decision.occupant is not None  # an overwrite always has what it overwrites
    return decision.occupant


def _node_id(planner: RestorePlanner, decision: Decision) -> int:
    assert decision.parent is not None  # the planner gives every write its folder
    node_id = planner.node_id_of(decision.parent)
    assert node_id is not None  # its folder was made by an earlier group, or just now
    return node_id


def _open_rows(step: ChangeStep, node_ids: list[int]) -> dict[int, tuple[int, int, int]]:
    """The open row of each of these nodes that has one: its id, its folder, its size."""
    found: dict[int, tuple[int, int, int]] = {}
    for chunk in ids_in(step.tenant, node_ids):
        rows = (
            selectors.versions_of_nodes(tenant=step.tenant, node_ids=chunk)
            .filter(valid_to__isnull=True)
            .values_list("node_id", "pk", "parent_id", "size")
        )
        found.update((node_id, (pk, parent_id, size)) for node_id, pk, parent_id, size in rows)
    return found


def _live_folders(step: ChangeStep, folder_ids: set[int]) -> set[int]:
    """Which of these folders are in the live tree: their open rows lead up to the root."""
    parent_of = _open_parents(step, folder_ids)
    live: set[int] = {step.clock.root_id} if step.clock.root_id is not None else set()
    for folder_id in folder_ids:
        chain: list[int] = []
        current: int | None = folder_id
        while current is not None and current in parent_of and current not in live:
            chain.append(current)
            current = parent_of[current]
        if current in live:
            live.update(chain)
    return live & folder_ids


def trash_settle(step: ChangeStep, *, job_id: int) -> None:
    """After the last batch of a job: every deleted folder it brought back (as
    a new folder, or merged into the folder there) leaves Recently deleted,
    and so does every deleted folder inside one. What such a folder still
    held (items deleted with it that the source did not have, its files
    having come back as themselves) is deleted now: it is listed in Recently
    deleted on its own, as deleted when the folder was. Running it again
    finds nothing left to do."""
    placed = dict(
        RestoreFolderMap.objects.for_tenant(step.tenant)
        .filter(job_id=job_id, target_node_id__isnull=False)
        .values_list("source_node_id", "target_node_id")
    )
    sources = {source for source, target in placed.items() if source != target}
    settled = sources - _live_folders(step, sources)
    if not settled:
        return
    parent_of = _open_parents(step, settled)
    inside = {node_id: parent_id for node_id, parent_id in parent_of.items() if node_id in settled}
    top_of: dict[int, int] = {}  # each settled folder -> the deleted folder whose deletion took it
    for node_id in settled:
        top = node_id
        while (parent := parent_of.get(top)) is not None:
            top = parent
        top_of[node_id] = top
    endings = _last_rows(step, set(top_of.values()))
    versions = selectors.versions_by_key(tenant=step.tenant).filter(valid_to__isnull=True)

    # A settled folder inside a deleted folder that stays deleted leaves it, with all it holds.
    deltas: dict[int, tuple[int, int]] = {}
    leaving = sorted(node_id for node_id, parent_id in inside.items() if parent_id not in settled)
    for start in range(0, len(leaving), IDS_PER_QUERY):
        for node_id, files, size in (
            Node.objects.for_tenant(step.tenant)
            .filter(pk__in=leaving[start : start + IDS_PER_QUERY])
            .values_list("pk", "subtree_files", "subtree_bytes")
        ):
            parent_id = inside[node_id]
            assert parent_id is not None  # a folder inside a folder
            before = deltas.get(parent_id, (0, 0))
            deltas[parent_id] = (before[0] - files, before[1] - size)
    ids = sorted(settled)
    leftovers: dict[int, list[int]] = defaultdict(list)  # top folder -> rows of what was left in it
    quiet: dict[int, list[int]] = defaultdict(list)  # top folder -> open rows of the settled folders
    for start in range(0, len(ids), IDS_PER_QUERY):
        chunk = ids[start : start + IDS_PER_QUERY]
        for pk, node_id, parent_id in versions.filter(parent_id__in=chunk).values_list("pk", "node_id", "parent_id"):
            if node_id not in settled:
                leftovers[top_of[parent_id]].append(pk)
    for start in range(0, len(ids), IDS_PER_QUERY):
        for pk, node_id in versions.filter(node_id__in=ids[start : start + IDS_PER_QUERY]).values_list("pk", "node_id"):
            quiet[top_of[node_id]].append(pk)
    for top, rows in leftovers.items():
        versions_close_as(step, rows, ended=endings[top], to_trash=True)
    for top, rows in quiet.items():
        versions_close_as(step, rows, ended=endings[top], to_trash=False)
    trash_leave(step, node_ids=settled)
    counters_move(step, deltas=deltas)


def _open_parents(step: ChangeStep, node_ids: set[int]) -> dict[int, int | None]:
    """The folder of each of these nodes and of every folder above them, as
    far as open rows go (a deleted folder has none): one query per level."""
    parent_of: dict[int, int | None] = {}
    asked: set[int] = set()
    wanted = set(node_ids)
    while wanted:
        asked |= wanted
        ids = sorted(wanted)
        found: dict[int, int | None] = {}
        for chunk in ids_in(step.tenant, ids):
            found.update(
                selectors.versions_of_nodes(tenant=step.tenant, node_ids=chunk)
                .filter(valid_to__isnull=True)
                .values_list("node_id", "parent_id")
            )
        parent_of.update(found)
        wanted = {parent for parent in found.values() if parent is not None and parent not in asked}
    return parent_of


def _last_rows(step: ChangeStep, node_ids: set[int]) -> dict[int, NodeVersion]:
    """The row that ended each of these nodes (they have no open row)."""
    last: dict[int, NodeVersion] = {}
    ids = sorted(node_ids)
    for start in range(0, len(ids), IDS_PER_QUERY):
        chunk = ids[start : start + IDS_PER_QUERY]
        for row in selectors.versions_of_nodes(tenant=step.tenant, node_ids=chunk).order_by("valid_from"):
            last[row.node_id] = row
    return last


def _folder_map_save(step: ChangeStep, planner: RestorePlanner, decisions: Sequence[Decision], *, job_id: int) -> None:
    """Where each folder of the group went, so a resumed job puts the rest of
    its contents there too (None: skipped, with everything in it)."""
    rows = []
    for decision in decisions:
        item = decision.item
        if item.kind != Node.Kind.FOLDER or decision.action is RestoreAction.REMOVED:
            continue
        if item.node_id not in planner.folder_map:
            continue
        target = planner.folder_map[item.node_id]
        rows.append(
            RestoreFolderMap(
                tenant_id=step.tenant.pk,
                job_id=job_id,
                source_node_id=item.node_id,
                target_node_id=planner.node_id_of(target) if target is not None else None,
            )
        )
    RestoreFolderMap.objects.for_tenant(step.tenant).bulk_create(rows, ignore_conflicts=True)
