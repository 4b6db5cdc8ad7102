"""Many items at once: move, delete, or bring back from Recently deleted a list
of items in ONE step of the tenant clock, so one request is one transaction
and one entry of the activity log (its rows share a sequence number), and a
refusal of any item changes nothing.

Set-based: every path is resolved at once (``selectors.lookup.paths_lookup``,
a query per folder level), the rows of every item are closed and opened by a
few multi-row statements (the kernel's), and the folder counters move once for
all. The outcome is the one of moving, deleting or restoring the items one
after another with the single-item services (``move_in_step``,
``delete_in_step``, ``trash_restore_in_step``), refusals included: the items
are checked in that order, and the first refusal is the one a loop would have
met (``test_bulk_sets`` holds them to it). An item inside another chosen
folder is left out: it moves or goes to Recently deleted with its folder.
Bringing back is in ``bulk_trash``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.conf import settings

from snapshots.errors import InvalidMove, InvalidPath, NameConflict, NotFound, WrongKind
from snapshots.models import Change, Node, NodeVersion
from snapshots.paths import join_path, split_path
from snapshots.selectors.lookup import live_children_named, paths_lookup, subtree_counters
from snapshots.services.bulk_trash import trash_restore_set
from snapshots.services.dav_state import dav_state_follow
from snapshots.services.files import move_rows
from snapshots.services.kernel import (
    actor_for,
    chain_parents,
    change_step,
    counters_move,
    versions_close,
)

if TYPE_CHECKING:
    from hubs.models import Tenant
    from portal.models import User


def bulk_limit() -> int:
    return int(settings.HUBPORT_BULK_MAX_ITEMS)


def _outermost(paths: Sequence[str]) -> list[list[str]]:
    """The chosen items as name lists, each once, without those inside another chosen folder."""
    if not paths:
        raise InvalidPath("Choose at least one item.")
    if len(paths) > bulk_limit():
        raise InvalidPath(
            f"At most {bulk_limit():,} items can be changed at once; you chose {len(paths):,}. "
            "Choose their folder instead, or fewer items."
        )
    chosen = {tuple(split_path(path)) for path in paths}
    if () in chosen:
        raise InvalidPath("The root folder cannot be moved or deleted; choose what is in it instead.")
    return [
        list(names) for names in sorted(chosen) if not any(names[:depth] in chosen for depth in range(1, len(names)))
    ]


def nodes_delete(*, tenant: Tenant, paths: Sequence[str], acting_user: User | None) -> list[NodeVersion]:
    """Delete every chosen item; all go to Recently deleted, or none does."""
    items = _outermost(paths)
    with change_step(tenant=tenant, actor=actor_for(acting_user)) as step:
        lookups = paths_lookup(tenant=tenant, paths=items)
        # No chosen item holds another, so none changes what the next one finds:
        # the first that does not exist is the one a loop would have stopped at.
        chains = [lookups[tuple(names)].chain_or_not_found() for names in items]
        deleted = [chain[-1] for chain in chains]
        held = subtree_counters(tenant=step.tenant, node_ids=[version.node_id for version in deleted])
        versions_close(step, deleted, action=Change.Action.DELETE, to_trash=True)
        deltas: dict[int, tuple[int, int]] = defaultdict(lambda: (0, 0))
        parent_of: dict[int, int | None] = {}
        for chain, version in zip(chains, deleted, strict=True):
            assert version.parent_id is not None  # the root is never deleted
            files, size = held[version.node_id]
            before = deltas[version.parent_id]
            deltas[version.parent_id] = (before[0] - files, before[1] - size)
            parent_of.update(chain_parents(chain[:-1]))
        counters_move(step, deltas=deltas, parent_of=parent_of)
        for names, version in zip(items, deleted, strict=True):
            step.record(Change.Action.DELETE, node_id=version.node_id, path=join_path(names))
        dav_state_follow(tenant=tenant, removed=[join_path(names) for names in items])
        return deleted


def nodes_move(*, tenant: Tenant, paths: Sequence[str], to_folder: str, acting_user: User | None) -> list[NodeVersion]:
    """Move every chosen item into ``to_folder`` under its own name; all move, or none does."""
    items = _outermost(paths)
    folder_names = split_path(to_folder)
    names_there = [names[-1] for names in items]
    taken_twice = sorted({name for name in names_there if names_there.count(name) > 1})
    if taken_twice:
        raise InvalidMove(
            f"Two of the chosen items are named {taken_twice[0]}; one folder cannot hold both. Rename one first."
        )
    with change_step(tenant=tenant, actor=actor_for(acting_user)) as step:
        lookups = paths_lookup(tenant=tenant, paths=[*items, folder_names])
        destination = lookups[tuple(folder_names)]
        # The names the items take there, as the destination holds them now. No
        # item's move changes what the next one finds: their names differ, an
        # item already there stays, and none holds the destination.
        taken: set[str] = set()
        if destination.found and destination.chain[-1].kind == Node.Kind.FOLDER:
            folder_id = destination.chain[-1].node_id
            taken = {
                name for _, name in live_children_named(tenant=tenant, wanted=[(folder_id, n) for n in names_there])
            }
        moving: list[tuple[list[str], list[NodeVersion], list[str]]] = []
        staying: dict[int, NodeVersion] = {}
        for index, names in enumerate(items):
            # The same checks as move_in_step, in its order, item after item.
            if folder_names[: len(names)] == names:
                raise InvalidMove(f"{join_path(names)} cannot be moved into itself or into one of its own folders.")
            source_chain = lookups[tuple(names)].chain_or_not_found()
            target_names = [*folder_names, names[-1]]
            if target_names == names:
                staying[index] = source_chain[-1]
                continue
            if not destination.found:
                raise NotFound(f"The destination folder {join_path(folder_names)} does not exist.")
            if destination.chain[-1].kind != Node.Kind.FOLDER:
                raise WrongKind(f"{join_path(folder_names)} is a file, not a folder.")
            if source_chain[-1].node_id in chain_parents(destination.chain):
                raise InvalidMove("A folder cannot be moved into itself or into one of its own folders.")
            if names[-1] in taken:
                raise NameConflict(f"{join_path(target_names)} already exists.")
            moving.append((names, source_chain, target_names))
        moved = iter(move_rows(step, moving, target_chain=destination.chain))
        dav_state_follow(tenant=tenant, moved=[(join_path(names), join_path(target)) for names, _, target in moving])
        return [staying[index] if index in staying else next(moved) for index in range(len(items))]


def trash_restore_many(*, tenant: Tenant, version_ids: Sequence[int], acting_user: User | None) -> list[NodeVersion]:
    """Bring back every chosen item of Recently deleted; all come back, or none does."""
    if not version_ids:
        raise InvalidPath("Choose at least one item.")
    if len(version_ids) > bulk_limit():
        raise InvalidPath(f"At most {bulk_limit():,} items can be restored at once; you chose {len(version_ids):,}.")
    unique = list(dict.fromkeys(version_ids))
    with change_step(tenant=tenant, actor=actor_for(acting_user)) as step:
        return trash_restore_set(step, version_ids=unique)
