"""The plan of a restore: every item as of the source, parents first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from snapshots import selectors
from snapshots.models import Node
from snapshots.services.restore_request import ValidatedRestore

if TYPE_CHECKING:
    from hubs.models import Tenant


@dataclass(frozen=True)
class PlanItem:
    """One file or folder to restore, in parents-first order."""

    node_id: int
    parent_node_id: int | None  # the source folder it sits in; None for a top-level item
    name: str
    kind: str
    blob_id: int | None
    size: int
    depth: int
    top_parent_names: tuple[str, ...] | None  # top-level items: the source folder's path


def restore_plan(*, tenant: Tenant, request: ValidatedRestore) -> list[PlanItem]:
    """Every item of the restore as of the source, level by level in a fixed
    order, so a resumed job sees the same list as the first run."""
    seq = request.source.seq
    versions = selectors.versions(tenant=tenant)
    fields = ("node_id", "parent_id", "name", "kind", "blob_id", "size")
    level: list[PlanItem] = []
    if request.paths:
        for names in request.paths:
            version = selectors.resolve(tenant=tenant, names=names, seq=seq)[-1]
            level.append(
                PlanItem(
                    version.node_id,
                    None,
                    version.name,
                    version.kind,
                    version.blob_id,
                    version.size,
                    0,
                    tuple(names[:-1]),
                )
            )
    else:
        root = selectors.root_version(tenant=tenant, seq=seq)
        rows = versions.filter(selectors.visible_at(seq), parent_id=root.node_id).order_by("name").values_list(*fields)
        level = [PlanItem(row[0], None, row[2], row[3], row[4], row[5], 0, ()) for row in rows]
    plan: list[PlanItem] = []
    depth = 0
    while level:
        plan.extend(level)
        folder_ids = [item.node_id for item in level if item.kind == Node.Kind.FOLDER]
        depth += 1
        next_level: list[PlanItem] = []
        # 500 ids a query keeps every query under SQLite's variable limit.
        for start in range(0, len(folder_ids), 500):
            rows = (
                versions.filter(selectors.visible_at(seq), parent_id__in=folder_ids[start : start + 500])
                .order_by("parent_id", "name")
                .values_list(*fields)
            )
            next_level.extend(PlanItem(r[0], r[1], r[2], r[3], r[4], r[5], depth, None) for r in rows)
        level = next_level
    return plan
