"""Purging an item from all history (support only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from django.db.models import Q

from snapshots import selectors
from snapshots.errors import InvalidPath, NotFound
from snapshots.models import Blob, Change, Node
from snapshots.paths import join_path, split_path
from snapshots.services.dav_state import dav_state_forget
from snapshots.services.kernel import actor_for, chain_parents, change_step, counters_move

if TYPE_CHECKING:
    from hubs.models import Tenant
    from portal.models import User

PURGED_PATH = "(purged)"


@dataclass(frozen=True)
class PurgeResult:
    change_id: int
    path: str
    versions: int
    blobs: int
    blob_bytes: int


def node_purge(*, tenant: Tenant, path: str, acting_user: User | None, reason: str) -> PurgeResult:
    """Remove a file or folder from all history at once (an erasure request, a
    secret uploaded by mistake): every version of it and of what it holds, its
    blobs in both facilities where nothing else uses them, and its names in
    the activity log. Support only; the written reason is kept with the
    hub-side record (a PURGE change), which the control-plane audit points to.

    ``path`` is a live item, or else the most recently deleted item of that path.
    """
    from snapshots.blobs import blob_discard_bytes
    from snapshots.selectors.trash import trash_item_at_path

    if not reason.strip():
        raise InvalidPath("A purge needs a written reason.")
    names = split_path(path)
    if not names:
        raise InvalidPath("The root folder cannot be purged.")
    actor = actor_for(acting_user, by_support=True)
    versions_of = selectors.versions_by_key(tenant=tenant)
    with change_step(tenant=tenant, actor=actor) as step:
        try:
            chain = selectors.resolve(tenant=tenant, names=names)
            target, live_parents = chain[-1], chain[:-1]
        except NotFound:
            target, live_parents = trash_item_at_path(tenant=tenant, path=path), []
        doomed = {target.node_id}
        frontier = {target.node_id}
        while frontier:
            below = set(
                # What is in it now (open rows) and what was deleted from inside it
                # (its last row is in Recently deleted); not what moved out of it.
                versions_of.filter(parent_id__in=list(frontier))
                .filter(Q(valid_to__isnull=True) | Q(in_trash=True))
                .values_list("node_id", flat=True)
            )
            frontier = below - doomed
            doomed |= frontier
        node = Node.objects.for_tenant(tenant).get(pk=target.node_id)
        if live_parents:
            counters_move(
                step,
                deltas={live_parents[-1].node_id: (-node.subtree_files, -node.subtree_bytes)},
                parent_of=chain_parents(live_parents),
            )
        doomed_list = sorted(doomed)
        blob_ids = set(
            versions_of.filter(node_id__in=doomed_list, blob__isnull=False).values_list("blob_id", flat=True)
        )
        removed_versions = versions_of.filter(node_id__in=doomed_list).count()
        versions_of.filter(node_id__in=doomed_list).delete()
        # Closed rows of items that moved out long ago still name a doomed folder as parent.
        versions_of.filter(parent_id__in=doomed_list).delete()
        Node.objects.for_tenant(tenant).filter(pk__in=doomed_list).delete()
        still_used = set(versions_of.filter(blob_id__in=blob_ids).values_list("blob_id", flat=True))
        purged_blobs = list(
            Blob.objects.for_tenant(tenant)
            .filter(pk__in=blob_ids - still_used)
            .values_list("pk", "sha256", "generation", "size")
        )
        Blob.objects.for_tenant(tenant).filter(pk__in=[row[0] for row in purged_blobs]).delete()
        purged_path = join_path(names)
        changes = Change.objects.for_tenant(tenant)
        changes.filter(node_id__in=doomed_list).update(path=PURGED_PATH, previous_path="")
        # Steps that name the item by path only (a restore of its folder, say).
        for field_name in ("path", "previous_path"):
            under = Q(**{field_name: purged_path}) | Q(**{f"{field_name}__startswith": purged_path + "/"})
            changes.filter(under).update(**{field_name: PURGED_PATH})
        # WebDAV's locks and dead properties name the item by its URL path too.
        dav_state_forget(tenant=tenant, path=quote(purged_path))
        purge_record = step.record(Change.Action.PURGE, node_id=None, path=join_path(names))
        purge_record.detail = reason.strip()

    def discard() -> None:
        for _, sha256, generation, _ in purged_blobs:
            blob_discard_bytes(tenant=tenant, sha256=sha256, generation=generation)

    discard()  # after the commit: the rows are gone, the bytes go at once
    record = Change.objects.for_tenant(tenant).filter(action=Change.Action.PURGE).order_by("-id").first()
    assert record is not None
    return PurgeResult(
        change_id=record.pk,
        path=join_path(names),
        versions=removed_versions,
        blobs=len(purged_blobs),
        blob_bytes=sum(row[3] for row in purged_blobs),
    )
