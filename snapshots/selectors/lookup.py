"""A live path resolved in one query (issue 14, part 1).

Walking a path level by level costs a query per level plus two for the root
(its id from the clock, then its row): three for ``/docs/a.txt``, and a
single upload walked its path four times. ``path_lookup`` reads the clock,
the root's counters (the quota's usage) and every level of the path in one
statement, a chain of LEFT JOINs that each use the live-name index, and
returns what exists of the path. The clock value it read lets a write reuse
the answer inside its step: the clock is bumped by every change of the
tenant's tree, so when the step finds it where the lookup read it, nothing
the lookup saw has changed (``snapshots.services.files``).

Many paths at once (``paths_lookup``, for the bulk services) go level by
level instead: one query per folder level for all of them, not one per path.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from django.db import connections
from django.db.models import Model, Q
from django.utils import timezone

from hubs.routing import hub_database_alias
from snapshots.errors import NotFound
from snapshots.models import Blob, DavLock, Node, NodeVersion, TenantClock
from snapshots.paths import join_path
from snapshots.selectors.visibility import visible_at

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from django.db.backends.base.base import BaseDatabaseWrapper

    from hubs.models import Tenant

# SQLite joins at most 64 tables in one statement; a level takes two (its row
# and its blob). Deeper paths continue one query a level past this.
JOINED_LEVELS = 24


@dataclass(frozen=True)
class PathLookup:
    """What exists of a live path: ``chain`` runs from the root as far as the
    path exists (and stops at a file that a longer path would go through)."""

    names: list[str]
    chain: list[NodeVersion]
    seq: int  # the tenant clock when it was read
    live_files: int
    live_bytes: int
    dav_locked: bool = False  # whether the tenant has an unexpired WebDAV lock anywhere

    @property
    def found(self) -> bool:
        return len(self.chain) == len(self.names) + 1

    @property
    def item(self) -> NodeVersion | None:
        """The live item at the path, or None."""
        return self.chain[-1] if self.found else None

    @property
    def first_new(self) -> str | None:
        """The path of the first item a write here adds to a folder that
        exists (the path itself, or the topmost folder made on the way);
        None when the path exists."""
        return None if self.found else join_path(self.names[: len(self.chain)])

    def chain_or_not_found(self) -> list[NodeVersion]:
        """The whole chain, or NotFound naming the first part of the path that does not exist."""
        if self.found:
            return self.chain
        depth = len(self.chain) - 1
        if self.chain[-1].kind != Node.Kind.FOLDER:
            raise NotFound(
                f"{join_path(self.names[:depth])} is a file, so {join_path(self.names[: depth + 1])} does not exist."
            )
        raise NotFound(f"{join_path(self.names[: depth + 1])} does not exist.")


def path_lookup(*, tenant: Tenant, names: list[str], seq: int | None = None) -> PathLookup:
    """The live chain of ``names`` from the root, the clock and the usage, in
    one query (one more a level past ``JOINED_LEVELS``). ``seq``: the chain as
    of that clock value instead (a restore's source); the usage is today's."""
    alias = hub_database_alias(tenant.hub_id)
    connection = connections[alias]
    joined = names[:JOINED_LEVELS]
    visible: list[int] = [] if seq is None else [seq, seq]
    parameters: list[Any] = [connection.ops.adapt_datetimefield_value(timezone.now()), *visible]
    for name in joined:
        parameters += [name, *visible]
    parameters.append(tenant.pk)
    with connection.cursor() as cursor:
        cursor.execute(_statement(alias, len(joined), seq is not None), parameters)
        row = cursor.fetchone()
    if row is None and seq is not None:
        raise NotFound("Your account did not exist yet at that time.")  # no root row then, as root_version says
    if row is None:
        raise TenantClock.DoesNotExist("The tenant has no clock: it is not provisioned.")
    clock_seq, live_files, live_bytes, dav_locked = row[0], row[1], row[2], bool(row[3])
    version_columns, blob_columns = _columns(NodeVersion), _columns(Blob)
    position = 4
    chain: list[NodeVersion] = []
    for level in range(len(joined) + 1):
        values = row[position : position + len(version_columns)]
        position += len(version_columns)
        blob_values: tuple[Any, ...] = ()
        if level:
            blob_values = row[position : position + len(blob_columns)]
            position += len(blob_columns)
        if values[0] is None:
            break
        version = instance_from_row(NodeVersion, connection, alias, values)
        if blob_values and blob_values[0] is not None:
            version.blob = instance_from_row(Blob, connection, alias, blob_values)
        chain.append(version)
    # Deeper than one statement joins: the rest one level at a time.
    if len(chain) == len(joined) + 1:
        while len(chain) <= len(names) and chain[-1].kind == Node.Kind.FOLDER:
            child = (
                NodeVersion.objects.for_tenant(tenant)
                .select_related("blob")
                .filter(visible_at(seq), parent_id=chain[-1].node_id, name=names[len(chain) - 1])
                .first()
            )
            if child is None:
                break
            chain.append(child)
    return PathLookup(
        names=list(names),
        chain=chain,
        seq=clock_seq,
        live_files=live_files,
        live_bytes=live_bytes,
        dav_locked=dav_locked,
    )


@cache
def _statement(alias: str, levels: int, at_seq: bool = False) -> str:
    """The statement for ``levels`` names; its parameters are the time now
    (for the locks), the names, then the tenant (``at_seq``: the clock value twice before the root's row and
    after each name, for the rows visible then)."""
    connection = connections[alias]
    quote = connection.ops.quote_name
    version_table = quote(NodeVersion._meta.db_table)
    blob_table = quote(Blob._meta.db_table)

    def columns(model: type[Model], table_alias: str) -> list[str]:
        return [f"{table_alias}.{quote(column)}" for _, column in _columns(model)]

    def visible(table_alias: str) -> str:
        if not at_seq:
            return f"{table_alias}.valid_to IS NULL"
        return f"{table_alias}.valid_from <= %s AND ({table_alias}.valid_to IS NULL OR {table_alias}.valid_to > %s)"

    # Whether any WebDAV lock of the tenant is unexpired (its first parameter: now), so a
    # write refuses a locked path without a query of its own when there is none.
    locked = (
        f"EXISTS (SELECT 1 FROM {quote(DavLock._meta.db_table)} l "  # noqa: S608 - names from models
        "WHERE l.tenant_id = c.tenant_id AND l.expires_at > %s)"
    )
    selected = ["c.seq", "r.subtree_files", "r.subtree_bytes", locked, *columns(NodeVersion, "v0")]
    joins = [
        f"JOIN {quote(Node._meta.db_table)} r ON r.id = c.root_id AND r.tenant_id = c.tenant_id",
        f"JOIN {version_table} v0 ON v0.tenant_id = c.tenant_id AND v0.node_id = c.root_id AND {visible('v0')}",
    ]
    for level in range(1, levels + 1):
        above = f"v{level - 1}"
        selected += columns(NodeVersion, f"v{level}") + columns(Blob, f"b{level}")
        joins.append(
            f"LEFT JOIN {version_table} v{level} ON v{level}.tenant_id = c.tenant_id "
            f"AND v{level}.parent_id = {above}.node_id AND v{level}.name = %s "
            f"AND {visible(f'v{level}')} AND {above}.kind = '{Node.Kind.FOLDER.value}'"
        )
        joins.append(f"LEFT JOIN {blob_table} b{level} ON b{level}.id = v{level}.blob_id")
    return (
        f"SELECT {', '.join(selected)} FROM {quote(TenantClock._meta.db_table)} c "  # noqa: S608 - names from models
        f"{' '.join(joins)} WHERE c.tenant_id = %s"
    )


def _columns(model: type[Model]) -> list[tuple[str, str]]:
    return [(field.attname, field.column) for field in model._meta.concrete_fields]  # type: ignore[misc]


def _converters(model: type[Model], connection: BaseDatabaseWrapper) -> list[tuple[list[Callable[..., Any]], Any]]:
    """Each column's converters, as the ORM applies them (SQLite hands back text for times)."""
    found = []
    for field in model._meta.concrete_fields:
        expression = field.get_col(model._meta.db_table)
        converters = connection.ops.get_db_converters(expression) + expression.get_db_converters(connection)
        found.append((converters, expression))
    return found


def instance_from_row(model: type[Model], connection: BaseDatabaseWrapper, alias: str, values: tuple[Any, ...]) -> Any:
    """A model instance from its concrete columns, in field order, as a raw statement returned them."""
    converted = []
    for value, (converters, expression) in zip(values, _converters(model, connection), strict=True):
        for converter in converters:
            value = converter(value, expression, connection)
        converted.append(value)
    return model.from_db(alias, [attname for attname, _ in _columns(model)], converted)


# Names a query asks for at most: the IN lists stay far under SQLite's variable limit.
NAMES_PER_QUERY = 500


def live_children_named(*, tenant: Tenant, wanted: Iterable[tuple[int, str]]) -> dict[tuple[int, str], NodeVersion]:
    """The open rows named ``(folder node id, name)``, with their blobs, by
    that pair; a pair nobody holds is absent. One query per 500 names,
    however many folders they are in: ``parent IN (...) AND name IN (...)``
    where that asks for little more than the pairs (items of a few folders),
    else one ``parent = ... AND name IN (...)`` term per folder."""
    by_folder: dict[int, set[str]] = {}
    for folder_id, name in wanted:
        by_folder.setdefault(folder_id, set()).add(name)
    chunks: list[list[tuple[int, list[str]]]] = [[]]
    count = 0
    for folder_id in sorted(by_folder):
        names = sorted(by_folder[folder_id])
        for start in range(0, len(names), NAMES_PER_QUERY):
            part = names[start : start + NAMES_PER_QUERY]
            if count + len(part) > NAMES_PER_QUERY and chunks[-1]:
                chunks.append([])
                count = 0
            chunks[-1].append((folder_id, part))
            count += len(part)
    found: dict[tuple[int, str], NodeVersion] = {}
    rows = NodeVersion.objects.for_tenant(tenant).select_related("blob").filter(valid_to__isnull=True)
    for chunk in chunks:
        if not chunk:
            continue
        folders = {folder_id for folder_id, _ in chunk}
        every_name = {name for _, part in chunk for name in part}
        asked = {(folder_id, name) for folder_id, part in chunk for name in part}
        if len(folders) * len(every_name) <= 4 * len(asked):
            query = rows.filter(parent_id__in=sorted(folders), name__in=sorted(every_name))
        else:
            terms = Q()
            for folder_id, part in chunk:
                terms |= Q(parent_id=folder_id, name__in=part)
            query = rows.filter(terms)
        for version in query:
            assert version.parent_id is not None  # a row with a name has a folder
            key = (version.parent_id, version.name)
            if key in asked:
                found[key] = version
    return found


def paths_lookup(*, tenant: Tenant, paths: Iterable[Sequence[str]]) -> dict[tuple[str, ...], PathLookup]:
    """``path_lookup`` for many paths at once, by their names: the clock, the
    usage and the root in one query, then one query per level of the
    deepest path (per 500 names of a level), whatever the number of paths.
    Many at once resolve their items so (``snapshots.services.bulk``)."""
    wanted = {tuple(names) for names in paths}
    base = path_lookup(tenant=tenant, names=[])
    found: dict[tuple[str, ...], NodeVersion | None] = {(): base.chain[0]}
    depth = max((len(names) for names in wanted), default=0)
    for level in range(1, depth + 1):
        prefixes = {names[:level] for names in wanted if len(names) >= level}
        asks: dict[tuple[str, ...], tuple[int, str]] = {}
        for prefix in prefixes:
            folder = found.get(prefix[:-1])
            if folder is not None and folder.kind == Node.Kind.FOLDER:
                asks[prefix] = (folder.node_id, prefix[-1])
        rows = live_children_named(tenant=tenant, wanted=asks.values()) if asks else {}
        for prefix in prefixes:
            found[prefix] = rows.get(asks[prefix]) if prefix in asks else None
    lookups = {}
    for names in wanted:
        chain = [base.chain[0]]
        for level in range(1, len(names) + 1):
            version = found.get(names[:level])
            if version is None:
                break
            chain.append(version)
        lookups[names] = PathLookup(
            names=list(names), chain=chain, seq=base.seq, live_files=base.live_files, live_bytes=base.live_bytes
        )
    return lookups


def live_rows(*, tenant: Tenant, node_ids: Sequence[int]) -> dict[int, NodeVersion]:
    """The open row of each of these nodes that has one, with its blob, by node id (one query per 500)."""
    ids = sorted(set(node_ids))
    found: dict[int, NodeVersion] = {}
    for start in range(0, len(ids), NAMES_PER_QUERY):
        for version in (
            NodeVersion.objects.for_tenant_by_key(tenant)  # as selectors.versions_of_nodes, which imports this module
            .select_related("blob")
            .filter(node_id__in=ids[start : start + NAMES_PER_QUERY], valid_to__isnull=True)
        ):
            found[version.node_id] = version
    return found


def subtree_counters(*, tenant: Tenant, node_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """The files and bytes each node holds (a file: itself), by node id (one query per 500)."""
    ids = sorted(set(node_ids))
    held: dict[int, tuple[int, int]] = {}
    for start in range(0, len(ids), NAMES_PER_QUERY):
        for node_id, files, size in (
            Node.objects.for_tenant(tenant)
            .filter(pk__in=ids[start : start + NAMES_PER_QUERY])
            .values_list("pk", "subtree_files", "subtree_bytes")
        ):
            held[node_id] = (files, size)
    return held
