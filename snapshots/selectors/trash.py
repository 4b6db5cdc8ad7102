"""Reads the REST API needs beyond snapshots.selectors: finding a deleted item
by the path it had, and folder sizes for listings of live and deleted items."""

from __future__ import annotations

from typing import TYPE_CHECKING

from snapshots.errors import InvalidPath, NotFound, WrongKind
from snapshots.models import Node, NodeVersion
from snapshots.paths import MAX_PATH_DEPTH, join_path, split_path
from snapshots.selectors import resolve, retention_start, versions, versions_of_nodes

if TYPE_CHECKING:
    from hubs.models import Tenant


def trash_item_at_path(*, tenant: Tenant, path: str) -> NodeVersion:
    """The most recently deleted, still restorable item that was called
    ``path``: its name in its (live) parent folder.

    The parent is matched by node id, so an item deleted from a folder that was
    renamed since is found under the folder's new path. Raises NotFound when
    nothing of that name was deleted there in the retention period.
    """
    names = split_path(path)
    if not names:
        raise NotFound("The root folder is never in Recently deleted.")
    parent = resolve(tenant=tenant, names=names[:-1])[-1]
    if parent.kind != Node.Kind.FOLDER:
        raise WrongKind(f"{join_path(names[:-1])} is a file, not a folder.")
    deleted = (
        versions(tenant=tenant)
        .select_related("blob")
        .filter(in_trash=True, parent_id=parent.node_id, name=names[-1], closed_at__gte=retention_start())
        .order_by("-closed_at", "-id")
        .first()
    )
    if deleted is None:
        raise NotFound(f"Nothing called {join_path(names)} is in Recently deleted.")
    return deleted


def subtree_bytes_of(*, tenant: Tenant, node_ids: list[int]) -> dict[int, int]:
    """Bytes below each of these folders, in one query: a listing page's folder
    sizes, and the sizes deleted folders had (descendants follow their parent,
    so a deleted folder's counters still describe what it held)."""
    if not node_ids:
        return {}
    return dict(Node.objects.for_tenant(tenant).filter(pk__in=node_ids).values_list("pk", "subtree_bytes"))


def trash_original_paths(*, tenant: Tenant, items: list[NodeVersion]) -> dict[int, str]:
    """Where each deleted item was just before it was deleted, by version id.

    The same answer as selectors.trash_original_path, for a whole page at once:
    one query per folder level (all versions of that level's folders) instead
    of one per level per item, so a page of 1,000 items three folders deep
    costs 4 queries, not 4,000.
    """
    # Each walk: (folder whose name comes next, clock value, names so far, leaf first).
    walks: dict[int, tuple[int | None, int, list[str]]] = {
        item.pk: (item.parent_id, item.valid_to - 1, [item.name]) for item in items if item.valid_to is not None
    }
    history: dict[int, list[tuple[int, int | None, int | None, str]]] = {}
    paths: dict[int, str] = {}
    for _ in range(MAX_PATH_DEPTH + 1):
        if not walks:
            break
        wanted = {node_id for node_id, _, _ in walks.values() if node_id is not None and node_id not in history}
        for node_id, parent_id, name, valid_from, valid_to in versions_of_nodes(
            tenant=tenant, node_ids=wanted
        ).values_list("node_id", "parent_id", "name", "valid_from", "valid_to"):
            history.setdefault(node_id, []).append((valid_from, valid_to, parent_id, name))
        next_walks: dict[int, tuple[int | None, int, list[str]]] = {}
        for version_id, (folder_id, seq, names) in walks.items():
            visible = next(
                (
                    (parent_id, name)
                    for valid_from, valid_to, parent_id, name in history.get(folder_id or 0, [])
                    if valid_from <= seq and (valid_to is None or valid_to > seq)
                ),
                None,
            )
            if visible is None:
                raise NotFound("That item did not exist at that time.")
            folder_parent_id, folder_name = visible
            if folder_parent_id is None:  # the root folder: the walk is complete
                paths[version_id] = join_path(list(reversed(names)))
            else:
                next_walks[version_id] = (folder_parent_id, seq, [*names, folder_name])
        walks = next_walks
    if walks:
        raise InvalidPath("The folder structure is too deep to resolve.")
    return paths
