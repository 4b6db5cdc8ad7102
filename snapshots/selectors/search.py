"""Search by name over the live tree or over Recently deleted, on the hub
database's own text index (migration ``snapshots 0006_name_search``).

The text is matched literally, as a case-insensitive substring of the name: no
operator, wildcard or quote means anything. In the live tree SQLite answers
from an FTS5 trigram table kept by triggers and a b-tree on (tenant_id,
lower(name)) (a text under three characters reads the tenant's rows newest
first, which stops as soon as a page is found); PostgreSQL from a pg_trgm GIN
index on ``lower(name)``. Recently deleted is read from its own partial index.
Letters fold as the database's ``lower()`` does: ASCII on SQLite (no ICU), the
database's locale on PostgreSQL.

A text with a ``/`` also matches paths: the part after the last ``/`` is
matched against names through the index, and the whole text must then be in
the hit's path ("reports/2026" finds /Reports/2026-plan.pdf).

Hits are ranked: the name equal to the text, then names starting with it, then
the rest; newest first within each (for a live item its latest change, which is
its version row's id: ids grow with the tenant's clock; for a deleted one its
deletion). Each rank is read newest first from an index and stops at what the
page needs (``_live_tier_ids``), so a text found in every one of 100,000 names
costs what a rare one does. Pages are keyset-paginated on (rank, id), or (rank,
deletion time, id) in Recently deleted.

An open row is not necessarily live: what was inside a deleted folder keeps its
open rows, unreachable (deleting a folder writes one row, not one per
descendant). Candidates are read in batches and each batch's paths resolved in
one query per folder level; unreachable ones are dropped. A page reads at most
``MAX_SCANNED`` candidates, so it may come back short, with a cursor, when a
deleted folder held many matches.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import connections
from django.db.models import Q
from django.db.models.functions import Lower

from hubs.routing import hub_database_alias
from snapshots.errors import InvalidCursor, InvalidSearch
from snapshots.models import NodeVersion, TenantClock
from snapshots.paths import MAX_PATH_DEPTH, join_path
from snapshots.selectors import Page, decode_cursor, encode_cursor, retention_start, versions, versions_of_nodes
from snapshots.selectors.trash import trash_original_paths

if TYPE_CHECKING:
    from hubs.models import Tenant

MAX_QUERY_CHARS = 255
# The trigram tokenizer indexes runs of three characters; a shorter text cannot use the index.
TRIGRAM = 3
# A page reads at most this many candidates: a deleted folder holding 100,000 matches costs a
# short page and a cursor, never a scan of all of them in one request.
MAX_SCANNED = 2_000
FTS_TABLE = "snapshots_name_search"
# Names with the text further in than the start, newest first, straight from the FTS5 table in
# rowid order (the version id grows with the tenant's clock), stopping at the LIMIT.
FTS_STREAM = (
    f"SELECT v.id FROM {FTS_TABLE} AS s JOIN snapshots_nodeversion AS v ON v.id = s.rowid "  # noqa: S608
    f"WHERE s.{FTS_TABLE} MATCH %s AND v.tenant_id = %s AND v.valid_to IS NULL AND v.parent_id IS NOT NULL "
    "AND instr(lower(v.name), %s) > 1 {below}ORDER BY s.rowid DESC LIMIT %s"
)
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True)
class SearchHit:
    version: NodeVersion
    path: str


def fold(text: str, *, vendor: str) -> str:
    """Lower-case ``text`` as the database's ``lower()`` does, so names and texts fold alike."""
    return text.translate(_ASCII_LOWER) if vendor == "sqlite" else text.lower()


def search_text(text: str) -> str:
    """The text as searched, or InvalidSearch saying what is wrong with it."""
    if not text.strip():
        raise InvalidSearch("Type part of a name to search for.")
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidSearch(f"Search for at most {MAX_QUERY_CHARS} characters.")
    if "\x00" in text:
        raise InvalidSearch("The search text cannot contain NUL characters.")
    if text.rsplit("/", 1)[-1] == "":
        raise InvalidSearch("Add part of a name after the last /.")
    return text


def _fts_phrase(text: str) -> str:
    # Inside an FTS5 string only the double quote is special (doubled): *, NEAR, -, AND, ^ are text.
    return '"' + text.replace('"', '""') + '"'


def _live_tier_ids(
    *, tenant: Tenant, folded: str, vendor: str, rank: int, below_id: int | None, count: int
) -> list[int]:
    """Up to ``count`` ids of live-looking rows (open, not the root) in one rank, newest first.

    0: the name is the text; 1: it starts with it; 2: it has it further in.
    Each tier is read newest first straight from an index and stops at ``count``:
    on SQLite ranks 0 and 1 are a range of (tenant_id, lower(name)), rank 2
    streams the FTS5 table in rowid order; on PostgreSQL the trigram index
    serves =, LIKE 'text%' and LIKE '%text%'. So a text in all 100,000 names
    reads 50 of them, not all of them.
    """
    if vendor == "sqlite" and rank == 2 and len(folded) >= TRIGRAM:
        match = f"tenant : {_fts_phrase(f'#{tenant.pk}#')} AND name : {_fts_phrase(folded)}"
        params: list[str | int] = [match, tenant.pk, folded]
        below = ""
        if below_id is not None:
            below, params = "AND s.rowid < %s ", [*params, below_id]
        with connections[hub_database_alias(tenant.hub_id)].cursor() as cursor:
            cursor.execute(FTS_STREAM.format(below=below), [*params, count])
            return [row[0] for row in cursor.fetchall()]
    queryset = versions(tenant=tenant).filter(valid_to__isnull=True).annotate(folded_name=Lower("name"))
    if below_id is not None:
        queryset = queryset.filter(id__lt=below_id)
    if rank == 0:
        queryset = queryset.filter(folded_name=folded)
    elif rank == 1 and vendor == "sqlite":
        # A range, which the index serves (LIKE 'text%' would scan); names never hold U+10FFFF.
        queryset = queryset.filter(folded_name__gt=folded, folded_name__lt=folded + "\U0010ffff")
    elif rank == 1:
        queryset = queryset.filter(folded_name__startswith=folded).exclude(folded_name=folded)
    else:
        queryset = queryset.filter(parent__isnull=False, folded_name__contains=folded).exclude(
            folded_name__startswith=folded
        )
    return list(queryset.order_by("-id").values_list("id", flat=True)[:count])


def _live_batch(
    *, tenant: Tenant, folded: str, vendor: str, after: dict[str, int] | None, count: int
) -> list[NodeVersion]:
    """The next ``count`` candidates of the live tree after ``after`` ({r, id}), in rank order."""
    first_rank = after["r"] if after else 0
    found: list[tuple[int, int]] = []
    for rank in range(first_rank, 3):
        below_id = after["id"] if after and rank == first_rank else None
        ids = _live_tier_ids(
            tenant=tenant, folded=folded, vendor=vendor, rank=rank, below_id=below_id, count=count - len(found)
        )
        found += [(rank, version_id) for version_id in ids]
        if len(found) >= count:
            break
    rows = versions(tenant=tenant).select_related("blob").in_bulk([version_id for _, version_id in found])
    batch = []
    for rank, version_id in found:
        row = rows[version_id]
        row.rank = rank  # type: ignore[attr-defined]
        batch.append(row)
    return batch


def _deleted_batch(*, tenant: Tenant, folded: str, after: dict[str, object] | None, count: int) -> list[NodeVersion]:
    """The next ``count`` items of Recently deleted after ``after`` ({r, at, id}), in rank
    order, the newest deletion first within a rank. Each rank reads the tenant's
    Recently deleted newest first from its own partial index (``version_trash``)
    and stops at ``count``: it holds 28 days of deletions, not the tree, and the
    name index would hand back every live match too."""
    first_rank = int(str(after["r"])) if after else 0
    found: list[NodeVersion] = []
    for rank in range(first_rank, 3):
        queryset = (
            versions(tenant=tenant)
            .filter(in_trash=True, closed_at__gte=retention_start())
            .annotate(folded_name=Lower("name"))
            .select_related("blob")
            .order_by("-closed_at", "-id")
        )
        if rank == 0:
            queryset = queryset.filter(folded_name=folded)
        elif rank == 1:
            queryset = queryset.filter(folded_name__startswith=folded).exclude(folded_name=folded)
        else:
            queryset = queryset.filter(folded_name__contains=folded).exclude(folded_name__startswith=folded)
        if after is not None and rank == first_rank:
            at = datetime.fromisoformat(str(after["at"]))
            queryset = queryset.filter(Q(closed_at__lt=at) | Q(closed_at=at, id__lt=after["id"]))
        rows = list(queryset[: count - len(found)])
        for row in rows:
            row.rank = rank  # type: ignore[attr-defined]
        found += rows
        if len(found) >= count:
            break
    return found


def _decode(cursor: str, *, deleted: bool) -> dict[str, object]:
    keys = ("r", "at", "id") if deleted else ("r", "id")
    after = decode_cursor(cursor, keys=keys)
    if not isinstance(after["r"], int) or not 0 <= after["r"] <= 2 or not isinstance(after["id"], int):
        raise InvalidCursor("The cursor is not valid; start again from the first page.")
    if deleted:
        try:
            datetime.fromisoformat(after["at"])
        except (TypeError, ValueError) as exc:
            raise InvalidCursor("The cursor is not valid; start again from the first page.") from exc
    return after


def _position(version: NodeVersion, *, deleted: bool) -> dict[str, object]:
    rank: int = version.rank  # type: ignore[attr-defined]
    if not deleted:
        return {"r": rank, "id": version.pk}
    assert version.closed_at is not None  # a deleted item's row is closed
    return {"r": rank, "at": version.closed_at.isoformat(), "id": version.pk}


def live_paths(*, tenant: Tenant, items: list[NodeVersion]) -> dict[int, str]:
    """The live path of each open row, by version id; rows whose folder chain is
    broken (inside a deleted folder) are left out. One query per folder level
    for the whole batch."""
    root_id = TenantClock.objects.for_tenant(tenant).values_list("root_id", flat=True).get()
    folders: dict[int, tuple[int | None, str] | None] = {root_id: (None, "")}
    walks: dict[int, tuple[int | None, list[str]]] = {item.pk: (item.parent_id, [item.name]) for item in items}
    paths: dict[int, str] = {}
    for _ in range(MAX_PATH_DEPTH + 1):
        if not walks:
            break
        wanted = {folder for folder, _ in walks.values() if folder is not None and folder not in folders}
        found = dict.fromkeys(wanted)
        for node_id, parent_id, name in (
            versions_of_nodes(tenant=tenant, node_ids=wanted)
            .filter(valid_to__isnull=True)
            .values_list("node_id", "parent_id", "name")
        ):
            found[node_id] = (parent_id, name)
        folders.update(found)
        next_walks: dict[int, tuple[int | None, list[str]]] = {}
        for version_id, (folder_id, names) in walks.items():
            if folder_id == root_id:
                paths[version_id] = join_path(list(reversed(names)))
                continue
            folder = folders.get(folder_id) if folder_id is not None else None
            if folder is None:
                continue  # a folder on the way is deleted: not in the live tree
            next_walks[version_id] = (folder[0], [*names, folder[1]])
        walks = next_walks
    return paths


def search_names(
    *, tenant: Tenant, text: str, deleted: bool = False, cursor: str | None = None, limit: int = 50
) -> Page:
    """One page of ``SearchHit`` for ``text`` in the live tree, or in Recently
    deleted (``deleted=True``; each hit's path is where it was when deleted)."""
    text = search_text(text)
    vendor = connections[hub_database_alias(tenant.hub_id)].vendor
    folder_text, _, name_text = text.rpartition("/")
    path_text = fold(text, vendor=vendor) if folder_text or text.startswith("/") else None
    folded = fold(name_text, vendor=vendor)

    def batch_after(after: dict[str, object] | None, count: int) -> list[NodeVersion]:
        if deleted:
            return _deleted_batch(tenant=tenant, folded=folded, after=after, count=count)
        return _live_batch(tenant=tenant, folded=folded, vendor=vendor, after=after, count=count)  # type: ignore[arg-type]

    after = _decode(cursor, deleted=deleted) if cursor else None
    hits: list[SearchHit] = []
    scanned = 0
    batch_size = max(limit * 2, 20)
    while scanned < MAX_SCANNED:
        rows = batch_after(after, batch_size)
        scanned += len(rows)
        paths = trash_original_paths(tenant=tenant, items=rows) if deleted else live_paths(tenant=tenant, items=rows)
        for position, row in enumerate(rows, start=1):
            path = paths.get(row.pk)
            if path is None or (path_text is not None and path_text not in fold(path, vendor=vendor)):
                continue
            hits.append(SearchHit(version=row, path=path))
            if len(hits) == limit:
                here = _position(row, deleted=deleted)
                more = position < len(rows) or (len(rows) == batch_size and bool(batch_after(here, 1)))
                return Page(items=hits, next_cursor=encode_cursor(here) if more else None)
        if len(rows) < batch_size:
            return Page(items=hits, next_cursor=None)
        after = _position(rows[-1], deleted=deleted)
    # As many candidates read as one page may: the next page carries on from the last one read.
    return Page(items=hits, next_cursor=encode_cursor(after) if after else None)


def name_index_bytes(*, hub_code: str) -> int:
    """The size of the hub database's name index, every tenant's: the FTS5
    table's shadow tables on SQLite, the trigram index on PostgreSQL."""
    connection = connections[hub_database_alias(hub_code)]
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name LIKE %s", [f"{FTS_TABLE}%"])
        else:
            cursor.execute(
                "SELECT COALESCE(pg_relation_size(to_regclass('version_name_trgm')), 0) "
                "+ COALESCE(pg_relation_size(to_regclass('version_live_name')), 0)"
            )
        row = cursor.fetchone()
    return int(row[0]) if row else 0
