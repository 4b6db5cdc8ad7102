"""The restore engine: it writes what the planner decided for one group of
items, inside the batch's change step, with the kernel's set-based
operations: a few queries per group, whatever its size."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from snapshots import selectors
from snapshots.models import Change, Node, RestoreFolderMap
from snapshots.services.kernel import (
    IDS_PER_QUERY,
    ChangeStep,
    NewVersion,
    chain_parents,
    counters_move,
    file_counters_set,
    folders_ensure,
    nodes_create,
    trash_leave,
    versions_close,
    versions_open,
)
from snapshots.services.restore_conflicts import WRITES, RestoreAction
from snapshots.services.restore_planner import Decision, LiveRow, PendingFolder, RestorePlanner


def decisions_apply(
    step: ChangeStep, planner: RestorePlanner, decisions: Sequence[Decision], *, job_id: int | None
) -> None:
    """Write the decisions of one group: close what is overwritten, open the
    restored rows (on the item's own node when it has no live row, else on a
    new one), move the counters, and note where each folder went."""
    writes = [decision for decision in decisions if decision.action in WRITES]
    parent_of: dict[int, int | None] = {}
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
    placed_anew = [index for index in range(len(writes)) if index not in set(in_place)]
    files_anew = [writes[index].item.node_id for index in placed_anew if writes[index].item.kind == Node.Kind.FILE]
    with_open_row = _with_open_row(step, files_anew)
    revived = [
        index
        for index in placed_anew
        if writes[index].item.kind == Node.Kind.FILE and writes[index].item.node_id not in with_open_row
    ]
    copies = [index for index in placed_anew if index not in set(revived)]

    deltas: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    replaced = [index for index in placed_anew if writes[index].action is RestoreAction.OVERWRITTEN]
    versions_close(step, [_occupant(writes[index]).version_id for index in in_place], action=Change.Action.RESTORE)
    versions_close(
        step,
        [_occupant(writes[index]).version_id for index in replaced],
        action=Change.Action.RESTORE,
        to_trash=True,
    )
    for index in replaced:
        files, size = writes[index].occupant_size
        deltas[parents[index]][0] -= files
        deltas[parents[index]][1] -= size
    for index in in_place:
        deltas[parents[index]][1] += writes[index].item.size - _occupant(writes[index]).size

    node_of: dict[int, int] = {index: _occupant(writes[index]).node_id for index in in_place}
    node_of.update((index, writes[index].item.node_id) for index in revived)
    file_counters_set(step, sizes={node_of[index]: writes[index].item.size for index in (*in_place, *revived)})
    trash_leave(step, node_ids=[node_of[index] for index in revived])
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
    for decision in decisions:
        if decision.item.parent_node_id is None and decision.action in (*WRITES, RestoreAction.MERGED):
            step.record(Change.Action.RESTORE, node_id=None, path=decision.path)


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


def _with_open_row(step: ChangeStep, node_ids: list[int]) -> set[int]:
    """Which of these nodes have an open row (live, or inside a deleted folder)."""
    found: set[int] = set()
    for start in range(0, len(node_ids), IDS_PER_QUERY):
        found.update(
            selectors.versions(tenant=step.tenant)
            .filter(node_id__in=node_ids[start : start + IDS_PER_QUERY], valid_to__isnull=True)
            .values_list("node_id", flat=True)
        )
    return found


def _folder_map_save(step: ChangeStep, planner: RestorePlanner, decisions: Sequence[Decision], *, job_id: int) -> None:
    """Where each folder of the group went, so a resumed job puts the rest of
    its contents there too (None: skipped, with everything in it)."""
    rows = []
    for decision in decisions:
        item = decision.item
        if item.kind != Node.Kind.FOLDER or item.node_id not in planner.folder_map:
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
