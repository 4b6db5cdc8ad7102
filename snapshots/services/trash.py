"""Bringing back one item: a deleted file or folder from Recently deleted, or
an earlier version of a file."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Q

from snapshots import selectors
from snapshots.errors import NotFound, NotRestorable
from snapshots.models import Change, Node, NodeVersion
from snapshots.paths import join_path
from snapshots.services.files import _check_quota
from snapshots.services.kernel import (
    ChangeStep,
    NewVersion,
    actor_for,
    chain_parents,
    change_step,
    counters_move,
    file_counters_set,
    folders_ensure,
    trash_leave,
    versions_close,
    versions_open,
)

if TYPE_CHECKING:
    from hubs.models import Tenant
    from portal.models import User

# ---------------------------------------------------------------- recently deleted


def trash_restore(
    *, tenant: Tenant, version_id: int, acting_user: User | None, by_support: bool = False
) -> NodeVersion:
    """Bring a deleted file or folder back to where it was.

    Missing folders on its original path are made again; a name taken in the
    meantime gets " (restored)" (then " (restored 2)", ...: the naming rule of
    restored items, ``paths.restored_name``). A folder comes back with
    everything that was in it when it was deleted.
    """
    with change_step(tenant=tenant, actor=actor_for(acting_user, by_support=by_support)) as step:
        return trash_restore_in_step(step, version_id=version_id)


def trash_restore_in_step(step: ChangeStep, *, version_id: int) -> NodeVersion:
    """One item back from Recently deleted inside an open step (one item of a bulk restore, or one of its own)."""
    tenant = step.tenant
    deleted = NodeVersion.objects.for_tenant(tenant).select_related("blob").filter(pk=version_id, in_trash=True).first()
    if deleted is None:
        raise NotFound("That item is not in Recently deleted (it may have been restored or expired).")
    if selectors.live_version(tenant=tenant, node_id=deleted.node_id) is not None:
        raise NotRestorable("That item is already back.")
    files, size = (
        Node.objects.for_tenant(tenant).filter(pk=deleted.node_id).values_list("subtree_files", "subtree_bytes").get()
    )
    _check_quota(tenant=tenant, additional=size)
    original_names = selectors.path_names_as_of(tenant=tenant, node_id=deleted.node_id, seq=deleted.valid_to - 1)
    parents = folders_ensure(step, original_names[:-1])
    parent_id = parents[-1].node_id
    name = selectors.free_name(tenant=tenant, parent_id=parent_id, name=deleted.name, kind=deleted.kind)
    trash_leave(step, node_ids=[deleted.node_id])
    [version] = versions_open(
        step,
        [
            NewVersion(
                node_id=deleted.node_id,
                parent_id=parent_id,
                name=name,
                kind=deleted.kind,
                blob=deleted.blob,
                size=deleted.size,
            )
        ],
    )
    counters_move(step, deltas={parent_id: (files, size)}, parent_of=chain_parents(parents))
    step.record(Change.Action.RESTORE, node_id=deleted.node_id, path=join_path([*original_names[:-1], name]))
    return version


# ---------------------------------------------------------------- versions


def version_restore(*, tenant: Tenant, version_id: int, acting_user: User | None) -> NodeVersion:
    """Make an earlier version of a file its current content (no bytes copied).

    A live file gets a new version with the old content, in place. A deleted
    file comes back where it last was (a name taken meanwhile gets
    " (restored)"), with that version's content.
    """
    chosen = (
        NodeVersion.objects.for_tenant(tenant)
        .select_related("blob")
        .filter(pk=version_id, kind=Node.Kind.FILE)
        .filter(Q(valid_to__isnull=True) | Q(closed_at__gte=selectors.retention_start()))
        .first()
    )
    if chosen is None:
        raise NotFound(f"There is no file version {version_id} in the last {settings.SNAPSHOT_RETENTION_DAYS} days.")
    with change_step(tenant=tenant, actor=actor_for(acting_user)) as step:
        current = selectors.live_version(tenant=tenant, node_id=chosen.node_id)
        if current is not None:
            chain = selectors.resolve(
                tenant=tenant, names=selectors.path_names_as_of(tenant=tenant, node_id=chosen.node_id, seq=None)
            )
            if current.blob_id == chosen.blob_id:
                return current
            _check_quota(tenant=tenant, additional=chosen.size - current.size)
            versions_close(step, [current], action=Change.Action.RESTORE)
            parent_id, name, parents = current.parent_id, current.name, chain[:-1]
            size_delta, files_delta = chosen.size - current.size, 0
        else:
            last = NodeVersion.objects.for_tenant(tenant).filter(node_id=chosen.node_id).order_by("-valid_from").first()
            assert last is not None and last.valid_to is not None
            _check_quota(tenant=tenant, additional=chosen.size)
            names = selectors.path_names_as_of(tenant=tenant, node_id=chosen.node_id, seq=last.valid_to - 1)
            parents = folders_ensure(step, names[:-1])
            parent_id = parents[-1].node_id
            name = selectors.free_name(tenant=tenant, parent_id=parent_id, name=last.name, kind=Node.Kind.FILE)
            trash_leave(step, node_ids=[chosen.node_id])
            size_delta, files_delta = chosen.size, 1
        assert parent_id is not None  # a file always has a folder
        [version] = versions_open(
            step,
            [
                NewVersion(
                    node_id=chosen.node_id,
                    parent_id=parent_id,
                    name=name,
                    kind=Node.Kind.FILE,
                    blob=chosen.blob,
                    size=chosen.size,
                )
            ],
        )
        file_counters_set(step, sizes={chosen.node_id: chosen.size})
        counters_move(step, deltas={parent_id: (files_delta, size_delta)}, parent_of=chain_parents(parents))
        step.record(
            Change.Action.RESTORE,
            node_id=chosen.node_id,
            path=selectors.path_of(tenant=tenant, node_id=parent_id).rstrip("/") + "/" + name,
        )
        return version
