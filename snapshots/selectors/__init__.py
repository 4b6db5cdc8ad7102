"""Reads of the versioned store: the tree as of any moment, paths, listings and
cursors here; ``history`` (snapshots, versions, restore jobs, activity),
``storage`` (usage against the quota) and ``trash`` (Recently deleted) beside it.

One function reads the tree as of any clock value; the live tree is the same
function at "now" (``seq=None``). A version row is visible at ``seq`` when
``valid_from <= seq < valid_to`` (an open row has no ``valid_to``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from snapshots.errors import InvalidCursor, InvalidPath, NotFound
from snapshots.models import Change, Node, NodeVersion, TenantClock
from snapshots.paths import MAX_RESTORED_NAMES, join_path, restored_name, split_path
from snapshots.selectors.visibility import visible_at

if TYPE_CHECKING:
    from hubs.models import Tenant


def versions(*, tenant: Tenant) -> QuerySet[NodeVersion]:
    return NodeVersion.objects.for_tenant(tenant)


def versions_by_key(*, tenant: Tenant) -> QuerySet[NodeVersion]:
    """The tenant's versions, for a read or write by node, parent or blob ids:
    the tenant is kept out of the choice of index (``for_tenant_by_key``), so
    ``node_id IN (...)`` is read through the node's index whatever the planner
    knows. SQLite without statistics, or with statistics sampled under
    ``analysis_limit``, took the tenant's index instead and read every version
    row of the tenant (187 ms a query at a million files, against 0.1 ms)."""
    return NodeVersion.objects.for_tenant_by_key(tenant)


def versions_of_nodes(*, tenant: Tenant, node_ids: Collection[int] | Any) -> QuerySet[NodeVersion]:
    """Every version of these nodes of the tenant (``node_ids``: ids, or the
    subquery ``kernel.ids_in`` gives), through ``version_node_from``."""
    return versions_by_key(tenant=tenant).filter(node_id__in=node_ids)


def clock_now(*, tenant: Tenant) -> int:
    return TenantClock.objects.for_tenant(tenant).values_list("seq", flat=True).get()


def seq_at(*, tenant: Tenant, moment: datetime) -> int:
    """The clock value in force at a wall-clock moment (0 before the tenant existed)."""
    seq = (
        Change.objects.for_tenant(tenant).filter(at__lte=moment).order_by("-seq").values_list("seq", flat=True).first()
    )
    return seq or 0


def retention_start() -> datetime:
    return timezone.now() - timedelta(days=settings.SNAPSHOT_RETENTION_DAYS)


def first_change_at(*, tenant: Tenant) -> datetime | None:
    """The wall time of the tenant's first step still on record: seq_at finds no tree before it (expiry keeps
    the last step before the retention edge, so for an account older than the edge this is before the edge)."""
    return Change.objects.for_tenant(tenant).order_by("seq").values_list("at", flat=True).first()


def root_version(*, tenant: Tenant, seq: int | None = None) -> NodeVersion:
    root_id = TenantClock.objects.for_tenant(tenant).values_list("root_id", flat=True).get()
    root = versions(tenant=tenant).filter(visible_at(seq), node_id=root_id).first()
    if root is None:
        raise NotFound("Your account did not exist yet at that time.")
    return root


def live_child(*, tenant: Tenant, parent_id: int, name: str) -> NodeVersion | None:
    return child_named(tenant=tenant, parent_id=parent_id, name=name, seq=None)


def live_names_taken(*, tenant: Tenant, folder: str, names: list[str]) -> dict[str, str]:
    """Which of ``names`` are held by a live item in ``folder``: name to its
    kind. A folder that does not exist (yet) holds none of them."""
    try:
        chain = resolve(tenant=tenant, names=split_path(folder))
    except NotFound:
        return {}
    if chain[-1].kind != Node.Kind.FOLDER:
        return {}
    taken: dict[str, str] = {}
    for start in range(0, len(names), 500):
        rows = versions(tenant=tenant).filter(
            valid_to__isnull=True, parent_id=chain[-1].node_id, name__in=names[start : start + 500]
        )
        taken.update(rows.values_list("name", "kind"))
    return taken


def child_named(*, tenant: Tenant, parent_id: int, name: str, seq: int | None) -> NodeVersion | None:
    return (
        versions(tenant=tenant).select_related("blob").filter(visible_at(seq), parent_id=parent_id, name=name).first()
    )


def live_version(*, tenant: Tenant, node_id: int) -> NodeVersion | None:
    return versions(tenant=tenant).filter(node_id=node_id, valid_to__isnull=True).first()


def resolve(*, tenant: Tenant, names: list[str], seq: int | None = None) -> list[NodeVersion]:
    """The chain of versions from the root to ``names`` as of ``seq``.

    Raises NotFound naming the first part of the path that did not exist.
    Read in one query (``lookup.path_lookup``), live or as of ``seq``.
    """
    from snapshots.selectors.lookup import path_lookup

    return path_lookup(tenant=tenant, names=names, seq=seq).chain_or_not_found()


def node_at_path(*, tenant: Tenant, path: str, seq: int | None = None) -> NodeVersion:
    return resolve(tenant=tenant, names=split_path(path), seq=seq)[-1]


def path_names_as_of(*, tenant: Tenant, node_id: int, seq: int | None) -> list[str]:
    """The names from the root to a node as of ``seq``, walking up its parents."""
    names: list[str] = []
    current = node_id
    for _ in range(512):
        version = versions(tenant=tenant).filter(visible_at(seq), node_id=current).first()
        if version is None:
            raise NotFound("That item did not exist at that time.")
        if version.parent_id is None:
            return list(reversed(names))
        names.append(version.name)
        current = version.parent_id
    raise InvalidPath("The folder structure is too deep to resolve.")


def path_of(*, tenant: Tenant, node_id: int, seq: int | None = None) -> str:
    return join_path(path_names_as_of(tenant=tenant, node_id=node_id, seq=seq))


def free_name(
    *, tenant: Tenant, parent_id: int, name: str, kind: str, naming: Callable[..., str] = restored_name
) -> str:
    """``name`` if it is free in the folder, else the first free name
    ``naming`` gives: the rule of restored items (``paths.restored_name``) or
    of kept-both uploads (``paths.copy_name``)."""
    if live_child(tenant=tenant, parent_id=parent_id, name=name) is None:
        return name
    for attempt in range(1, MAX_RESTORED_NAMES + 1):
        candidate = naming(name, is_folder=kind == Node.Kind.FOLDER, attempt=attempt)
        if live_child(tenant=tenant, parent_id=parent_id, name=candidate) is None:
            return candidate
    raise InvalidPath("Could not find a free name.")


# ---------------------------------------------------------------- listings and cursors


def encode_cursor(values: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *, keys: tuple[str, ...]) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, UnicodeError) as exc:
        raise InvalidCursor("The cursor is not valid; start again from the first page.") from exc
    if not isinstance(values, dict) or set(values) != set(keys):
        raise InvalidCursor("The cursor is not valid; start again from the first page.")
    for value in values.values():
        # JSON true/false are ints to Python, a database refuses ids past 64 bits,
        # and PostgreSQL refuses NUL in text.
        if (
            isinstance(value, bool)
            or (isinstance(value, int) and not -(2**63) <= value < 2**63)
            or (isinstance(value, str) and "\x00" in value)
        ):
            raise InvalidCursor("The cursor is not valid; start again from the first page.")
    return values


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_cursor: str | None


LISTING_ORDERS = {
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
    "size": ("size", "id"),
    "-size": ("-size", "-id"),
    "modified": ("changed_at", "id"),
    "-modified": ("-changed_at", "-id"),
}


def folder_children(
    *,
    tenant: Tenant,
    folder: NodeVersion,
    seq: int | None = None,
    order: str = "name",
    cursor: str | None = None,
    limit: int = 200,
    kind: str | None = None,
) -> Page:
    """One page of a folder's children as of ``seq``, keyset-paginated.

    ``kind`` ("file" or "folder") lists only that kind, so a listing can show
    folders first by paging through the folders, then the files."""
    if folder.kind != Node.Kind.FOLDER:
        raise InvalidPath("That path is a file, not a folder.")
    if order not in LISTING_ORDERS:
        raise InvalidPath(f"Unknown order {order!r}; use one of {', '.join(LISTING_ORDERS)}.")
    field_name, tiebreak = LISTING_ORDERS[order]
    column = field_name.lstrip("-")
    descending = field_name.startswith("-")
    queryset = (
        versions(tenant=tenant)
        .select_related("blob")
        .filter(visible_at(seq), parent_id=folder.node_id)
        .order_by(field_name, tiebreak)
    )
    if kind is not None:
        queryset = queryset.filter(kind=kind)
    if cursor:
        after = decode_cursor(cursor, keys=("v", "id"))
        value = after["v"]
        expected_type = int if column == "size" else str
        if not isinstance(after["id"], int) or not isinstance(value, expected_type):
            raise InvalidCursor("The cursor is not valid; start again from the first page.")
        if column == "changed_at":
            assert isinstance(value, str)  # expected_type is str for every column but size
            try:
                value = datetime.fromisoformat(value)
            except (TypeError, ValueError) as exc:
                raise InvalidCursor("The cursor is not valid; start again from the first page.") from exc
        op = "lt" if descending else "gt"
        queryset = queryset.filter(Q(**{f"{column}__{op}": value}) | Q(**{column: value, f"id__{op}": after["id"]}))
    rows = list(queryset[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        value = getattr(last, column)
        next_cursor = encode_cursor({"v": value.isoformat() if column == "changed_at" else value, "id": last.pk})
    return Page(items=rows, next_cursor=next_cursor)


def folder_listing(
    *,
    tenant: Tenant,
    folder: NodeVersion,
    seq: int | None = None,
    order: str = "name",
    cursor: str | None = None,
    limit: int = 100,
) -> Page:
    """A folder's children as of ``seq``, folders first, then files, on one cursor.

    The cursor is "d.<store cursor>" while folders remain and "f.<store cursor>"
    once files are being listed (the store's cursors never contain a dot).
    Folders have no size of their own in the store's order, so when sorting by
    size they are listed by name.
    """
    phase, inner = "d", None
    if cursor:
        phase, dot, rest = cursor.partition(".")
        if phase not in ("d", "f") or not dot:
            raise InvalidCursor("The cursor is not valid; start again from the first page.")
        inner = rest or None
    items: list[NodeVersion] = []
    if phase == "d":
        folder_order = order if order.lstrip("-") != "size" else "name"
        page = folder_children(
            tenant=tenant, folder=folder, seq=seq, order=folder_order, cursor=inner, limit=limit, kind=Node.Kind.FOLDER
        )
        if page.next_cursor:
            return Page(items=page.items, next_cursor=f"d.{page.next_cursor}")
        items, inner = page.items, None
    room = limit - len(items)
    files = folder_children(
        tenant=tenant, folder=folder, seq=seq, order=order, cursor=inner, limit=max(room, 1), kind=Node.Kind.FILE
    )
    if room == 0:
        # The folders filled the page exactly: offer the files only if there are any.
        return Page(items=items, next_cursor="f." if files.items else None)
    return Page(items=items + files.items, next_cursor=f"f.{files.next_cursor}" if files.next_cursor else None)


def tree_as_of(*, tenant: Tenant, seq: int | None = None) -> dict[str, str | None]:
    """Every path in the tree as of ``seq``: a file maps to its sha256, a folder to None."""
    root = root_version(tenant=tenant, seq=seq)
    rows = list(
        versions(tenant=tenant)
        .filter(visible_at(seq))
        .select_related("blob")
        .only("node_id", "parent_id", "name", "kind", "blob__sha256")
    )
    children: dict[int | None, list[NodeVersion]] = {}
    for row in rows:
        children.setdefault(row.parent_id, []).append(row)
    tree: dict[str, str | None] = {}
    stack = [(root.node_id, "")]
    while stack:
        node_id, prefix = stack.pop()
        for child in children.get(node_id, []):
            path = f"{prefix}/{child.name}"
            if child.kind == Node.Kind.FOLDER:
                tree[path] = None
                stack.append((child.node_id, path))
            else:
                tree[path] = child.blob.sha256 if child.blob else None
    return tree


# ---------------------------------------------------------------- usage


@dataclass(frozen=True)
class Usage:
    live_files: int
    live_bytes: int


def live_usage(*, tenant: Tenant) -> Usage:
    root_id = TenantClock.objects.for_tenant(tenant).values_list("root_id", flat=True).get()
    files, size = Node.objects.for_tenant(tenant).filter(pk=root_id).values_list("subtree_files", "subtree_bytes").get()
    return Usage(live_files=files, live_bytes=size)


# ---------------------------------------------------------------- recently deleted and activity


def trash_items(
    *,
    tenant: Tenant,
    folder: NodeVersion | None = None,
    query: str | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> Page:
    """Deleted files and folders still restorable, newest first, keyset-paginated
    on (closed_at, id) over a partial index, so the 500,000th item costs what
    the first does."""
    queryset = _trash_queryset(tenant=tenant, folder=folder, query=query).order_by("-closed_at", "-id")
    if cursor:
        after = decode_cursor(cursor, keys=("at", "id"))
        if not isinstance(after["id"], int) or not isinstance(after["at"], str):
            raise InvalidCursor("The cursor is not valid; start again from the first page.")
        try:
            at = datetime.fromisoformat(after["at"])
        except (TypeError, ValueError) as exc:
            raise InvalidCursor("The cursor is not valid; start again from the first page.") from exc
        queryset = queryset.filter(Q(closed_at__lt=at) | Q(closed_at=at, id__lt=after["id"]))
    rows = list(queryset[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last_closed_at = rows[-1].closed_at
        assert last_closed_at is not None  # the queryset filters on closed_at__gte
        next_cursor = encode_cursor({"at": last_closed_at.isoformat(), "id": rows[-1].pk})
    return Page(items=rows, next_cursor=next_cursor)


def trash_count(*, tenant: Tenant, folder: NodeVersion | None = None, query: str | None = None) -> int:
    """How many items ``trash_items`` lists over all its pages."""
    return _trash_queryset(tenant=tenant, folder=folder, query=query).count()


def _trash_queryset(*, tenant: Tenant, folder: NodeVersion | None, query: str | None) -> QuerySet[NodeVersion]:
    queryset = versions(tenant=tenant).filter(in_trash=True, closed_at__gte=retention_start())
    if folder is not None:
        queryset = queryset.filter(parent_id=folder.node_id)
    if query:
        if "\x00" in query:
            raise InvalidPath("The name filter cannot contain NUL characters.")
        queryset = queryset.filter(name__icontains=query)
    return queryset


def live_child_count(*, tenant: Tenant, folder: NodeVersion) -> int:
    """How many items a folder holds directly (not counting what its folders hold)."""
    return versions(tenant=tenant).filter(valid_to__isnull=True, parent_id=folder.node_id).count()


def trash_original_path(*, tenant: Tenant, version: NodeVersion) -> str:
    """Where a deleted item was, as of just before it was deleted."""
    assert version.valid_to is not None  # a deleted item's version is closed
    return path_of(tenant=tenant, node_id=version.node_id, seq=version.valid_to - 1)


def restorable_until(version: NodeVersion) -> datetime:
    assert version.closed_at is not None  # only closed (deleted) versions are restorable
    return version.closed_at + timedelta(days=settings.SNAPSHOT_RETENTION_DAYS)


def activity(*, tenant: Tenant, cursor: str | None = None, limit: int = 100) -> Page:
    queryset = Change.objects.for_tenant(tenant).order_by("-id")
    if cursor:
        after = decode_cursor(cursor, keys=("id",))
        if not isinstance(after["id"], int):
            raise InvalidCursor("The cursor is not valid; start again from the first page.")
        queryset = queryset.filter(id__lt=after["id"])
    rows = list(queryset[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor({"id": rows[-1].pk})
    return Page(items=rows, next_cursor=next_cursor)


def file_versions(*, tenant: Tenant, node_id: int) -> list[NodeVersion]:
    """Every version of a file in the retention, newest first."""
    return list(
        NodeVersion.objects.for_tenant(tenant)
        .select_related("blob")
        .filter(node_id=node_id, kind=Node.Kind.FILE)
        .filter(Q(valid_to__isnull=True) | Q(closed_at__gte=retention_start()))
        .order_by("-valid_from", "-id")
    )
