"""Search by name over the live tree or over Recently deleted, on the hub
database's own text index (migration ``snapshots 0006_name_search``).

The text is matched literally, as a case-insensitive substring of the name: no
operator, wildcard or quote means anything. SQLite answers from an FTS5 trigram
table kept by triggers (texts of three characters or more; a shorter text scans
the tenant's rows, which still takes milliseconds); PostgreSQL from a pg_trgm
GIN index on ``lower(name)``. Letters fold as the database's ``lower()`` does:
ASCII on SQLite (no ICU), the database's locale on PostgreSQL.

A text with a ``/`` also matches paths: the part after the last ``/`` is
matched against names through the index, and the whole text must then be in
the hit's path ("reports/2026" finds /Reports/2026-plan.pdf).

Hits are ranked: the name equal to the text, then names starting with it, then
the rest; newest first within each (the latest change of a live item, the
deletion of a deleted one). Pages are keyset-paginated on (rank, time, id).
An open row is not necessarily live: what was inside a deleted folder keeps its
open rows, unreachable. Candidates are read in batches and each batch's paths
resolved in one query per folder level; unreachable ones are dropped. A page
reads at most ``MAX_SCANNED`` candidates, so it may come back short with a
cursor when a deleted folder held many matches.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import connections
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower

from hubs.routing import hub_database_alias
from snapshots.errors import InvalidCursor, InvalidSearch
from snapshots.models import NodeVersion, TenantClock
from snapshots.paths import MAX_PATH_DEPTH, join_path
from snapshots.selectors import Page, decode_cursor, encode_cursor, retention_start, versions
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
# The table's name is a constant and the MATCH expression a parameter.
FTS_ROWIDS = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s"  # noqa: S608
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


def _candidates(*, tenant: Tenant, name_text: str, deleted: bool, vendor: str) -> QuerySet[NodeVersion]:
    folded = fold(name_text, vendor=vendor)
    queryset = versions(tenant=tenant).annotate(folded_name=Lower("name"))
    if deleted:
        queryset = queryset.filter(in_trash=True, closed_at__gte=retention_start())
    else:
        queryset = queryset.filter(valid_to__isnull=True, parent__isnull=False)
    if vendor == "sqlite" and len(folded) >= TRIGRAM:
        match = f"tenant : {_fts_phrase(f'#{tenant.pk}#')} AND name : {_fts_phrase(folded)}"
        queryset = queryset.filter(
            id__in=RawSQL(FTS_ROWIDS, [match])  # noqa: S611
        )
    else:
        # PostgreSQL: lower(name) LIKE '%text%' (escaped), which the trigram GIN index serves.
        queryset = queryset.filter(folded_name__contains=folded)
    rank = Case(
        When(folded_name=folded, then=Value(0)),
        When(folded_name__startswith=folded, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    moment = "-closed_at" if deleted else "-changed_at"
    return queryset.annotate(rank=rank).select_related("blob").order_by("rank", moment, "-id")


def _after(queryset: QuerySet[NodeVersion], cursor: str, *, deleted: bool) -> QuerySet[NodeVersion]:
    after = decode_cursor(cursor, keys=("r", "at", "id"))
    rank, at_text, last_id = after["r"], after["at"], after["id"]
    if not isinstance(rank, int) or not isinstance(last_id, int) or not isinstance(at_text, str):
        raise InvalidCursor("The cursor is not valid; start again from the first page.")
    try:
        at = datetime.fromisoformat(at_text)
    except ValueError as exc:
        raise InvalidCursor("The cursor is not valid; start again from the first page.") from exc
    column = "closed_at" if deleted else "changed_at"
    return queryset.filter(
        Q(rank__gt=rank) | Q(rank=rank, **{f"{column}__lt": at}) | Q(rank=rank, **{column: at}, id__lt=last_id)
    )


def _cursor_of(version: NodeVersion, *, deleted: bool) -> str:
    moment = version.closed_at if deleted else version.changed_at
    assert moment is not None  # a deleted item's row is closed
    return encode_cursor({"r": version.rank, "at": moment.isoformat(), "id": version.pk})  # type: ignore[attr-defined]


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
            versions(tenant=tenant)
            .filter(node_id__in=wanted, valid_to__isnull=True)
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
    candidates = _candidates(tenant=tenant, name_text=name_text, deleted=deleted, vendor=vendor)
    hits: list[SearchHit] = []
    scanned = 0
    batch = max(limit * 2, 20)
    while scanned < MAX_SCANNED:
        queryset = _after(candidates, cursor, deleted=deleted) if cursor else candidates
        rows = list(queryset[:batch])
        scanned += len(rows)
        paths = trash_original_paths(tenant=tenant, items=rows) if deleted else live_paths(tenant=tenant, items=rows)
        for position, row in enumerate(rows, start=1):
            path = paths.get(row.pk)
            if path is None or (path_text is not None and path_text not in fold(path, vendor=vendor)):
                continue
            hits.append(SearchHit(version=row, path=path))
            if len(hits) == limit:
                next_cursor = _cursor_of(row, deleted=deleted)
                more = position < len(rows) or (
                    len(rows) == batch and _after(candidates, next_cursor, deleted=deleted).exists()
                )
                return Page(items=hits, next_cursor=next_cursor if more else None)
        if len(rows) < batch:
            return Page(items=hits, next_cursor=None)
        cursor = _cursor_of(rows[-1], deleted=deleted)
    # As many candidates read as one page may: the next page carries on from the last one read.
    return Page(items=hits, next_cursor=cursor)
