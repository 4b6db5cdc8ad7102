"""Copying files and folders inside the live tree, on the server: the copies
are new nodes whose versions point at the same blobs (the store is content
addressed per tenant), so no byte is read or written. A folder is copied with
everything in it in one step of the tenant clock; each copied file and folder
is in the activity log as an upload or a new folder would be, by the person
who copied. The quota counts the copy's bytes as it counts an upload's, and
the blobs are touched as an upload claiming them touches them (the collector's
grace runs from there)."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from django.utils import timezone

from snapshots import selectors
from snapshots.blobs import upload_length_check
from snapshots.errors import InvalidMove, NameConflict, NotFound, WrongKind
from snapshots.models import Blob, Change, Node, NodeVersion
from snapshots.paths import join_path, split_path
from snapshots.selectors.subtrees import live_subtrees
from snapshots.services.dav_state import dav_locks_refuse
from snapshots.services.files import _check_quota
from snapshots.services.kernel import (
    IDS_PER_QUERY,
    NewVersion,
    actor_for,
    chain_parents,
    change_step,
    counters_move,
    nodes_create,
    versions_open,
)

if TYPE_CHECKING:
    from hubs.models import Tenant
    from portal.models import User


def node_copy(*, tenant: Tenant, from_path: str, to_path: str, acting_user: User | None) -> NodeVersion:
    """Copy a file or folder to the full path ``to_path``, whose parent folder
    must exist and whose name must be free (as for a move); returns the copy's
    version."""
    source_names, target_names = split_path(from_path), split_path(to_path)
    if not source_names:
        raise InvalidMove("The root folder cannot be copied; copy the items in it instead.")
    if not target_names:
        raise InvalidMove("Nothing can be copied to / itself; give the full new path, e.g. /Archive/report.pdf.")
    if target_names[: len(source_names)] == source_names:
        raise InvalidMove("A folder cannot be copied into itself or into one of its own folders.")
    dav_locks_refuse(tenant=tenant, paths=[join_path(target_names)], members=[join_path(target_names)])
    with change_step(tenant=tenant, actor=actor_for(acting_user)) as step:
        try:
            target_parents = selectors.resolve(tenant=tenant, names=target_names[:-1])
        except NotFound as exc:
            raise NotFound(f"The destination folder {join_path(target_names[:-1])} does not exist.") from exc
        if target_parents[-1].kind != Node.Kind.FOLDER:
            raise WrongKind(f"{join_path(target_names[:-1])} is a file, not a folder.")
        if selectors.live_child(tenant=tenant, parent_id=target_parents[-1].node_id, name=target_names[-1]):
            raise NameConflict(f"{join_path(target_names)} already exists.")
        subtree = live_subtrees(tenant=tenant, paths=[join_path(source_names)])
        entries = [entry for entry in subtree.entries if entry.relative]
        largest = max((entry.version.size for entry in entries if entry.version.kind == Node.Kind.FILE), default=0)
        upload_length_check(content_length=largest, max_bytes=tenant.effective_max_file_bytes)
        _check_quota(tenant=tenant, additional=subtree.bytes)

        # The chosen item's entry is the one-name path; what it holds comes after it, parents first.
        node_ids = nodes_create(
            step, kinds=[entry.version.kind for entry in entries], sizes=[entry.version.size for entry in entries]
        )
        new_node = {entry.relative: node_id for entry, node_id in zip(entries, node_ids, strict=True)}
        top = entries[0].relative
        parent_of: dict[int, int | None] = chain_parents(target_parents)
        rows: list[NewVersion] = []
        deltas: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for entry, node_id in zip(entries, node_ids, strict=True):
            is_top = entry.relative == top
            parent = target_parents[-1].node_id if is_top else new_node[entry.relative[:-1]]
            parent_of[node_id] = parent
            version = entry.version
            rows.append(
                NewVersion(
                    node_id=node_id,
                    parent_id=parent,
                    name=target_names[-1] if is_top else version.name,
                    kind=version.kind,
                    blob_id=version.blob_id,
                    size=version.size,
                    blob=version.blob if is_top else None,
                )
            )
            relative = target_names[:-1] + [target_names[-1], *entry.relative[1:]]
            if version.kind == Node.Kind.FILE:
                deltas[parent][0] += 1
                deltas[parent][1] += version.size
                step.record(Change.Action.CREATE, node_id=node_id, path=join_path(relative))
            else:
                step.record(Change.Action.MKDIR, node_id=node_id, path=join_path(relative))
        [copy] = versions_open(step, rows[:1])
        versions_open(step, rows[1:], read_back=False)
        counters_move(step, deltas={node: (files, size) for node, (files, size) in deltas.items()}, parent_of=parent_of)
        _blobs_touch(tenant, {row.blob_id for row in rows if row.blob_id is not None})
        return copy


def _blobs_touch(tenant: Tenant, blob_ids: set[int]) -> None:
    ids, now = sorted(blob_ids), timezone.now()
    for start in range(0, len(ids), IDS_PER_QUERY):
        Blob.objects.for_tenant(tenant).filter(pk__in=ids[start : start + IDS_PER_QUERY]).update(touched_at=now)
