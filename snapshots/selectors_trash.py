"""Reads the REST API needs beyond snapshots.selectors: finding a deleted item
by the path it had, and folder sizes for listings of live and deleted items."""

from __future__ import annotations

from typing import TYPE_CHECKING

from snapshots.errors import NotFound, WrongKind
from snapshots.models import Node, NodeVersion
from snapshots.paths import join_path, split_path
from snapshots.selectors import resolve, retention_start, versions

if TYPE_CHECKING:
    from portal.models import Tenant


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
