"""Many items at once: move, delete, or bring back from Recently deleted a list
of items in ONE step of the tenant clock, so one request is one transaction
and one entry of the activity log (its rows share a sequence number), and a
refusal of any item changes nothing.

Each item goes through the same step-level function as a single move, delete
or restore (``move_in_step``, ``delete_in_step``, ``trash_restore_in_step``),
so no rule is written twice. An item inside another chosen folder is left out:
it moves or goes to Recently deleted with its folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.conf import settings

from snapshots.errors import InvalidMove, InvalidPath
from snapshots.models import NodeVersion
from snapshots.paths import join_path, split_path
from snapshots.services.files import delete_in_step, move_in_step
from snapshots.services.kernel import actor_for, change_step
from snapshots.services.trash import trash_restore_in_step

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
        return [delete_in_step(step, names=names) for names in items]


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
        moved = []
        for names in items:
            if folder_names[: len(names)] == names:
                raise InvalidMove(f"{join_path(names)} cannot be moved into itself or into one of its own folders.")
            moved.append(move_in_step(step, source_names=names, target_names=[*folder_names, names[-1]]))
        return moved


def trash_restore_many(*, tenant: Tenant, version_ids: Sequence[int], acting_user: User | None) -> list[NodeVersion]:
    """Bring back every chosen item of Recently deleted; all come back, or none does."""
    if not version_ids:
        raise InvalidPath("Choose at least one item.")
    if len(version_ids) > bulk_limit():
        raise InvalidPath(f"At most {bulk_limit():,} items can be restored at once; you chose {len(version_ids):,}.")
    unique = list(dict.fromkeys(version_ids))
    with change_step(tenant=tenant, actor=actor_for(acting_user)) as step:
        return [trash_restore_in_step(step, version_id=version_id) for version_id in unique]
