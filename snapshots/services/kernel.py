"""The store's kernel: one step of the tenant clock, and the few set-based
operations every write is made of.

Every service names its tenant first and makes its change in one step: one
transaction on the tenant's hub database that locks the tenant clock, bumps
it, closes the version rows of what changes (``versions_close``), opens their
new rows (``versions_open``, on new nodes from ``nodes_create`` where needed),
moves the subtree counters of the folders above (``counters_move``) and writes
the Change rows (the activity log). Renaming, moving or deleting a folder
writes O(1) version rows: descendants follow their parent. A single-file
service calls these with one row; a restore batch with thousands.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connections, models, transaction
from django.db.models import Case, F, Value, When
from django.db.models.expressions import RawSQL
from django.utils import timezone

from hubs.dataplane import DataPlaneModel
from hubs.routing import hub_database_alias
from snapshots import selectors
from snapshots.errors import NameConflict, WrongKind
from snapshots.models import Blob, Change, Node, NodeVersion, TenantClock
from snapshots.paths import join_path

if TYPE_CHECKING:
    from datetime import datetime

    from hubs.models import Tenant
    from portal.models import User

# 500 ids a query keeps every IN list under SQLite's variable limit with room to spare.
IDS_PER_QUERY = 500


def ids_in(tenant: Tenant, ids: Sequence[int]) -> Iterator[Any]:
    """The values for a ``field__in`` filter over ``ids``, one per query: on
    PostgreSQL all of them as one array parameter (``IN (SELECT unnest(%s))``:
    one statement, where 500-id lists made a restore batch of 2,000 files a
    dozen round trips of thousands of placeholders each); elsewhere lists of
    ``IDS_PER_QUERY``."""
    if not ids:
        return
    if connections[hub_database_alias(tenant.hub_id)].vendor == "postgresql":
        yield RawSQL("SELECT unnest(%s::bigint[])", (list(ids),))
        return
    for start in range(0, len(ids), IDS_PER_QUERY):
        yield ids[start : start + IDS_PER_QUERY]


@dataclass(frozen=True)
class Actor:
    """Who makes a change, as the customer's activity log shows it."""

    user_id: int | None
    label: str
    by_support: bool = False


def actor_for(user: User | None, *, by_support: bool = False) -> Actor:
    if user is None:
        return Actor(user_id=None, label="Hubport" if not by_support else "Hubport support", by_support=by_support)
    label = "Hubport support" if by_support else (user.email or user.get_username())
    return Actor(user_id=user.pk, label=label, by_support=by_support)


@dataclass
class ChangeStep:
    """One step of the tenant clock, open inside its transaction."""

    tenant: Tenant
    clock: TenantClock
    seq: int
    now: datetime
    actor: Actor
    restore_job_id: int | None = None  # the restore job the step is a batch of: its changes carry the id
    changes: list[Change] = field(default_factory=list)
    wrote_rows: bool = False

    def record(self, action: str, *, node_id: int | None, path: str, previous_path: str = "") -> Change:
        change = Change(
            tenant_id=self.tenant.pk,
            seq=self.seq,
            at=self.now,
            action=action,
            actor_user_id=self.actor.user_id,
            actor_label=self.actor.label,
            by_support=self.actor.by_support,
            node_id=node_id,
            path=path,
            previous_path=previous_path,
            restore_job_id=self.restore_job_id,
        )
        self.changes.append(change)
        return change


@contextmanager
def change_step(*, tenant: Tenant, actor: Actor, restore_job_id: int | None = None) -> Iterator[ChangeStep]:
    """Open a transaction on the tenant's hub, lock and bump its clock.

    The clock row lock serialises a tenant's changes (on SQLite the IMMEDIATE
    transaction mode does the same), so path checks made inside the step hold
    until it commits; and since every change moves the clock, a step that
    finds it one past a value read earlier knows nothing changed since. The
    step's Change rows share one sequence number; the first one is the
    step's clock entry.
    """
    alias = hub_database_alias(tenant.hub_id)
    with transaction.atomic(using=alias):
        clock = _clock_bump(tenant=tenant, alias=alias)
        now = timezone.now()
        step = ChangeStep(
            tenant=tenant, clock=clock, seq=clock.seq, now=now, actor=actor, restore_job_id=restore_job_id
        )
        yield step
        if not step.changes and not step.wrote_rows:
            # Nothing changed: the bump is taken back, under the same lock (not
            # rolled back: the caller's own writes in this transaction, such as a
            # restore batch's progress, must commit).
            TenantClock.objects.for_tenant(tenant).filter(pk=clock.pk).update(seq=step.seq - 1)
            return
        rows_insert(step, step.changes)


def _clock_bump(*, tenant: Tenant, alias: str) -> TenantClock:
    """Lock the tenant's clock and move it one step, in one statement (a
    SELECT ... FOR UPDATE and an UPDATE were two queries of every write);
    the clock it returns holds the step's own sequence number."""
    connection = connections[alias]
    table = connection.ops.quote_name(TenantClock._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET seq = seq + 1 WHERE tenant_id = %s RETURNING id, seq, root_id",  # noqa: S608
            [tenant.pk],
        )
        row = cursor.fetchone()
    if row is None:
        raise TenantClock.DoesNotExist("The tenant has no clock: it is not provisioned.")
    return TenantClock.from_db(alias, ["id", "tenant_id", "seq", "root_id"], [row[0], tenant.pk, row[1], row[2]])


def rows_insert(step: ChangeStep, rows: Sequence[DataPlaneModel]) -> None:
    """Insert rows of one model that nobody reads back in this step, on the
    tenant's hub, in one executemany (SQLite) or one COPY (PostgreSQL): a
    restore batch writes thousands (10,000 Change rows take
    0.46 s through bulk_create on SQLite, which prepares every field of every
    row and batches 83 rows a statement under its 999-variable limit; here a
    tenth of that). Plain values only: ids, text, booleans and this step's time."""
    if not rows:
        return
    columns = _insert_columns(type(rows[0]))
    adapt = _adapter(step)
    _values_insert(step, type(rows[0]), [tuple(adapt(row, column) for column in columns) for row in rows])


def rows_insert_varying(
    step: ChangeStep, prototype: DataPlaneModel, varying: Sequence[str], values: Iterable[Sequence[Any]]
) -> None:
    """Insert rows that are ``prototype`` but for the fields named in
    ``varying`` (no time among them), one sequence of values a row: as
    ``rows_insert``, without building a model object per row (on a restore of
    10,000 files, making the objects cost as much as inserting them)."""
    columns = _insert_columns(type(prototype))
    adapt = _adapter(step)
    base = [adapt(prototype, column) for column in columns]
    at = {column.attname: index for index, column in enumerate(columns)}
    positions = [at[name] for name in varying]
    rows = []
    for row_values in values:
        row = base.copy()
        for position, value in zip(positions, row_values, strict=True):
            row[position] = value
        rows.append(row)
    _values_insert(step, type(prototype), rows)


def _insert_columns(model: type[DataPlaneModel]) -> list[models.Field]:
    return [column for column in model._meta.concrete_fields if not column.primary_key]


def _adapter(step: ChangeStep) -> Any:
    """Reads a field of a row as the database takes it; a step's rows share
    one time or a few, so each moment is adapted once."""
    connection = connections[hub_database_alias(step.tenant.hub_id)]
    adapted: dict[Any, Any] = {}

    def value_of(row: DataPlaneModel, column: models.Field) -> Any:
        value = getattr(row, column.attname)
        if value is None or not isinstance(column, models.DateTimeField):
            return value
        if value not in adapted:
            adapted[value] = connection.ops.adapt_datetimefield_value(value)
        return adapted[value]

    return value_of


def _values_insert(step: ChangeStep, model: type[DataPlaneModel], values: Sequence[Sequence[Any]]) -> None:
    if not values:
        return
    connection = connections[hub_database_alias(step.tenant.hub_id)]
    columns = _insert_columns(model)
    quote = connection.ops.quote_name
    names = []
    for column in columns:
        assert column.column is not None  # a concrete field has its column
        names.append(quote(column.column))
    table = quote(model._meta.db_table)
    if connection.vendor == "postgresql":
        # PostgreSQL answers each statement over the socket (a restore batch's
        # 2,000 Change rows as 2,000 statements took longer than the rest of the
        # batch), and psycopg parses a multi-row INSERT's thousands of
        # placeholders in Python (5 s for a 10,000-file restore): COPY streams them.
        with connection.cursor() as cursor, connection.wrap_database_errors:
            with cursor.cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
        return
    # SQLite runs an executemany as one prepared statement stepped per row, in process.
    statement = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(columns))})"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.executemany(statement, values)


# ---------------------------------------------------------------- rows


@dataclass(frozen=True)
class NewVersion:
    """A version row to open: what a node is called from this step on, where,
    with which content. ``blob`` (when the caller holds it) saves a query to
    whoever reads the new row's content."""

    node_id: int
    parent_id: int
    name: str
    kind: str
    blob_id: int | None = None
    size: int = 0
    blob: Blob | None = None


# What differs between the rows one step opens (versions_open), in NewVersion's terms.
NEW_VERSION_FIELDS = ("node_id", "parent_id", "name", "kind", "blob_id", "size")


def nodes_create(step: ChangeStep, *, kinds: Sequence[str], sizes: Sequence[int] | None = None) -> list[int]:
    """New nodes, one per kind given, in that order. A file node's counters say
    it holds one file of its size; a folder starts empty."""
    sizes = sizes if sizes is not None else [0] * len(kinds)
    nodes = [
        Node(
            tenant_id=step.tenant.pk,
            kind=kind,
            created_at=step.now,
            subtree_files=1 if kind == Node.Kind.FILE else 0,
            subtree_bytes=size if kind == Node.Kind.FILE else 0,
        )
        for kind, size in zip(kinds, sizes, strict=True)
    ]
    if not nodes:
        return []
    return [node.pk for node in Node.objects.for_tenant(step.tenant).bulk_create(nodes)]


def versions_open(
    step: ChangeStep, rows: Sequence[NewVersion], *, read_back: bool = True, savepoint: bool = True
) -> list[NodeVersion]:
    """Open the rows, valid from this step; returns them saved, in order
    (with ``read_back=False``, nothing: a restore batch inserts thousands it
    never reads, through ``rows_insert``).

    The unique live-name constraint is the last word on names: a name taken
    meanwhile refuses the whole set with NameConflict, and writes nothing.
    The insert runs in a savepoint, so the step stays usable after that
    refusal; ``savepoint=False`` saves the savepoint's two statements for a
    caller whose step ends with the refusal (a single file's write).
    """
    if not rows:
        return []

    def row_of(row: NewVersion) -> NodeVersion:
        return NodeVersion(
            tenant_id=step.tenant.pk,
            node_id=row.node_id,
            parent_id=row.parent_id,
            name=row.name,
            kind=row.kind,
            blob_id=row.blob.pk if row.blob is not None else row.blob_id,
            size=row.size,
            valid_from=step.seq,
            changed_at=step.now,
            author_user_id=step.actor.user_id,
            author_label=step.actor.label,
        )

    try:
        # A savepoint, so a refused set leaves the step usable for the caller's error handling.
        with transaction.atomic(using=hub_database_alias(step.tenant.hub_id), savepoint=savepoint):
            if not read_back:
                rows_insert_varying(
                    step,
                    row_of(rows[0]),
                    NEW_VERSION_FIELDS,
                    (
                        (
                            row.node_id,
                            row.parent_id,
                            row.name,
                            row.kind,
                            row.blob.pk if row.blob else row.blob_id,
                            row.size,
                        )
                        for row in rows
                    ),
                )
                step.wrote_rows = True
                return []
            saved = NodeVersion.objects.for_tenant(step.tenant).bulk_create([row_of(row) for row in rows])
    except IntegrityError as exc:
        taken = f"An item named {rows[0].name!r}" if len(rows) == 1 else "An item of the same name"
        raise NameConflict(f"{taken} already exists there.") from exc
    for version, row in zip(saved, rows, strict=True):
        if row.blob is not None:
            version.blob = row.blob
    step.wrote_rows = True
    return saved


def versions_close(step: ChangeStep, rows: Sequence[NodeVersion | int], *, action: str, to_trash: bool = False) -> None:
    """End the rows (objects or ids) at this step, by ``action``; ``to_trash``
    puts each into Recently deleted (the row ended its node's life by a
    delete). The objects passed in say so too."""
    if not rows:
        return
    closed = {
        "valid_to": step.seq,
        "closed_at": step.now,
        "closed_by_user_id": step.actor.user_id,
        "closed_by_label": step.actor.label,
        "closed_by_action": action,
        "in_trash": to_trash,
    }
    ids = [row if isinstance(row, int) else row.pk for row in rows]
    for chunk in ids_in(step.tenant, ids):
        NodeVersion.objects.for_tenant(step.tenant).filter(pk__in=chunk).update(**closed)
    for row in rows:
        if isinstance(row, NodeVersion):
            for name, value in closed.items():
                setattr(row, name, value)
    step.wrote_rows = True


def versions_close_as(step: ChangeStep, version_ids: Sequence[int], *, ended: NodeVersion, to_trash: bool) -> None:
    """End open rows at the step where ``ended`` ended, by the same person and
    action. Deleting a folder writes one row: what was inside keeps its open
    rows, unreachable; when those rows must end (the folder came back as a
    copy), they end with the folder's deletion, so the tree as of every
    moment stays the same and each knows the path it had when it went."""
    closed = {
        "valid_to": ended.valid_to,
        "closed_at": ended.closed_at,
        "closed_by_user_id": ended.closed_by_user_id,
        "closed_by_label": ended.closed_by_label,
        "closed_by_action": ended.closed_by_action,
        "in_trash": to_trash,
    }
    ids = list(version_ids)
    for start in range(0, len(ids), IDS_PER_QUERY):
        NodeVersion.objects.for_tenant(step.tenant).filter(
            pk__in=ids[start : start + IDS_PER_QUERY], valid_to__isnull=True
        ).update(**closed)
    if ids:
        step.wrote_rows = True


def trash_leave(step: ChangeStep, *, node_ids: Iterable[int]) -> None:
    """These nodes are back: their rows leave Recently deleted."""
    for chunk in ids_in(step.tenant, list(node_ids)):
        selectors.versions_of_nodes(tenant=step.tenant, node_ids=chunk).filter(in_trash=True).update(in_trash=False)


def file_counters_set(step: ChangeStep, *, sizes: Mapping[int, int]) -> None:
    """A file node's counters: one file, of its (new) size. One UPDATE per 500
    nodes, whatever their sizes (a restore of real files brings back as many
    sizes as files: one UPDATE per size was one per file)."""
    node_ids = sorted(sizes)
    if len(set(sizes.values())) == 1:  # one size (a restore of one content): one UPDATE on PostgreSQL
        size_of_all = next(iter(sizes.values()))
        for chunk in ids_in(step.tenant, node_ids):
            Node.objects.for_tenant(step.tenant).filter(pk__in=chunk).update(subtree_files=1, subtree_bytes=size_of_all)
        return
    for start in range(0, len(node_ids), IDS_PER_QUERY):
        chunk = node_ids[start : start + IDS_PER_QUERY]
        chunk_sizes = {sizes[node_id] for node_id in chunk}
        size: Any = (
            Value(chunk_sizes.pop())
            if len(chunk_sizes) == 1
            else Case(*(When(pk=node_id, then=Value(sizes[node_id])) for node_id in chunk))
        )
        Node.objects.for_tenant(step.tenant).filter(pk__in=chunk).update(subtree_files=1, subtree_bytes=size)


# ---------------------------------------------------------------- counters


def chain_parents(chain: Sequence[NodeVersion]) -> dict[int, int | None]:
    """The parent links of a chain of versions the caller has already read."""
    return {version.node_id: version.parent_id for version in chain}


def counters_move(
    step: ChangeStep,
    *,
    deltas: Mapping[int, tuple[int, int]],
    parent_of: MutableMapping[int, int | None] | None = None,
) -> None:
    """Add (files, bytes) to each folder in ``deltas`` and to every folder above it.

    ``parent_of`` holds parent links the caller already knows; the others are
    read from the open rows, one query per folder level, and added to it.
    The walk up stops at the root, or at a folder with no open row (a deleted
    folder: its counters still describe what it holds, for Recently deleted).
    Folders whose total change is the same share one UPDATE, so moving a file
    up one chain is one query, and a restore batch a handful.
    """
    parent_of = parent_of if parent_of is not None else {}
    pending = [node_id for node_id, (files, size) in deltas.items() if files or size]
    unknown = {node_id for node_id in pending if node_id not in parent_of}
    while unknown:
        ids = sorted(unknown)
        found: dict[int, int | None] = {}
        for chunk in ids_in(step.tenant, ids):
            found.update(
                selectors.versions_of_nodes(tenant=step.tenant, node_ids=chunk)
                .filter(valid_to__isnull=True)
                .values_list("node_id", "parent_id")
            )
        for node_id in ids:
            parent_of[node_id] = found.get(node_id)
        unknown = {parent for parent in found.values() if parent is not None and parent not in parent_of}
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for node_id in pending:
        files, size = deltas[node_id]
        current: int | None = node_id
        while current is not None:
            totals[current][0] += files
            totals[current][1] += size
            current = parent_of.get(current)
    by_change: dict[tuple[int, int], list[int]] = defaultdict(list)
    for node_id, (files, size) in totals.items():
        if files or size:
            by_change[(files, size)].append(node_id)
    if len(by_change) > SHARED_CHANGES:
        _counters_add_each(step, {node_id: totals[node_id] for node_ids in by_change.values() for node_id in node_ids})
        return
    for (files, size), node_ids in by_change.items():
        for chunk in ids_in(step.tenant, node_ids):
            Node.objects.for_tenant(step.tenant).filter(pk__in=chunk).update(
                subtree_files=F("subtree_files") + files, subtree_bytes=F("subtree_bytes") + size
            )


# Distinct (files, bytes) changes that still get one UPDATE each; past that, the
# folders of many at once (items from many folders, each its own total) get
# their own change in one UPDATE per 500 folders (a bulk move of 1,000 files
# from 1,000 folders was 1,000 UPDATEs).
SHARED_CHANGES = 8


def _counters_add_each(step: ChangeStep, changes: Mapping[int, Sequence[int]]) -> None:
    node_ids = sorted(changes)
    for start in range(0, len(node_ids), IDS_PER_QUERY):
        chunk = node_ids[start : start + IDS_PER_QUERY]
        added = {
            column: Case(
                *(When(pk=node_id, then=Value(changes[node_id][index])) for node_id in chunk),
                output_field=models.BigIntegerField(),
            )
            for index, column in enumerate(("subtree_files", "subtree_bytes"))
        }
        Node.objects.for_tenant(step.tenant).filter(pk__in=chunk).update(
            subtree_files=F("subtree_files") + added["subtree_files"],
            subtree_bytes=F("subtree_bytes") + added["subtree_bytes"],
        )


# ---------------------------------------------------------------- folders on the way


def folders_ensure(
    step: ChangeStep, names: Sequence[str], *, known: Sequence[NodeVersion] | None = None
) -> list[NodeVersion]:
    """The chain of live folder versions for ``names``, from the root, making
    the missing ones (like ``mkdir -p``); a file on the way is WrongKind.

    ``known``: the chain from the root as far as it exists, as looked up under
    this step's lock (``selectors.lookup.path_lookup``); what lies past it is
    missing and made without asking again."""
    chain = [known[0] if known else selectors.root_version(tenant=step.tenant)]
    for depth, name in enumerate(names):
        if known is None:
            child = selectors.live_child(tenant=step.tenant, parent_id=chain[-1].node_id, name=name)
        else:
            child = known[depth + 1] if depth + 1 < len(known) else None
        if child is None:
            [node_id] = nodes_create(step, kinds=[Node.Kind.FOLDER])
            [child] = versions_open(
                step, [NewVersion(node_id=node_id, parent_id=chain[-1].node_id, name=name, kind=Node.Kind.FOLDER)]
            )
            step.record(Change.Action.MKDIR, node_id=node_id, path=join_path(names[: depth + 1]))
        elif child.kind != Node.Kind.FOLDER:
            raise WrongKind(f"{join_path(names[: depth + 1])} is a file, not a folder.")
        chain.append(child)
    return chain
