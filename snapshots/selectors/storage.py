"""How much space a tenant uses, shown honestly: the live files the quota
counts, and the bytes kept only so that deleted and overwritten files can be
brought back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Exists, OuterRef, Sum

from snapshots.models import Blob, Node, NodeVersion
from snapshots.selectors import live_usage

if TYPE_CHECKING:
    from hubs.models import Tenant


@dataclass(frozen=True)
class StorageUsage:
    live_bytes: int
    live_files: int
    history_bytes: int
    quota_bytes: int


def history_bytes(*, tenant: Tenant) -> int:
    """Bytes held only by history: what the tenant's deleted and overwritten
    files take, which the quota does not count.

    It is the sum of two parts that never overlap:

    - the size of every blob of the tenant that some version row references
      and no open (``valid_to IS NULL``) row references: earlier contents of
      files, and files deleted on their own;
    - the ``subtree_bytes`` of the node of every ``in_trash`` folder row: the
      files inside a deleted folder keep their open rows (descendants follow
      their parent), so the first part does not see them, and the folder's
      counters still describe what it held when it was deleted. A folder
      deleted inside a folder deleted later is counted once: deleting the inner
      one took its bytes off the outer one's counters.

    Blobs are counted once each however many rows share them, as they are
    stored; files inside deleted folders are counted per file, as the quota
    counts live files, even where a live file has the same content. A deleted
    folder a restore job brought back has left Recently deleted, and so this
    figure (its files came back as themselves; what it held beyond the
    restore's source is in Recently deleted on its own). Rows stay until the
    daily expiry removes them, so the
    figure includes history up to a day older than the retention period. A
    blob no row references any more (waiting for the collector's grace
    period) is not counted: it is nobody's history.
    """
    versions = NodeVersion.objects.for_tenant(tenant)
    referenced = versions.filter(blob_id=OuterRef("pk"))
    only_history = (
        Blob.objects.for_tenant(tenant)
        .filter(Exists(referenced))
        .exclude(Exists(referenced.filter(valid_to__isnull=True)))
        .aggregate(total=Sum("size"))["total"]
        or 0
    )
    deleted_folders = versions.filter(in_trash=True, kind=Node.Kind.FOLDER).values("node_id")
    in_deleted_folders = (
        Node.objects.for_tenant(tenant).filter(pk__in=deleted_folders).aggregate(total=Sum("subtree_bytes"))["total"]
        or 0
    )
    return only_history + in_deleted_folders


def storage_usage(*, tenant: Tenant) -> StorageUsage:
    live = live_usage(tenant=tenant)
    return StorageUsage(
        live_bytes=live.live_bytes,
        live_files=live.live_files,
        history_bytes=history_bytes(tenant=tenant),
        quota_bytes=tenant.effective_quota_bytes,
    )
