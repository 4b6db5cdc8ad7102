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
from django.db.models import F
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
    until it commits. The step's Change rows share one sequence number; the
    first one is the step's clock entry.
    """
    alias = hub_database_alias(tenant.hub_id)
    with transaction.atomic(using=alias):
        clock = TenantClock.objects.for_tenant(tenant).select_for_update().get()
        now = timezone.now()
        step = ChangeStep(
            tenant=tenant, clock=clock, seq=clock.seq + 1, now=now, actor=actor, restore_job_id=restore_job_id
        )
        yield step
        if not step.changes and not step.wrote_rows:
            return  # nothing changed: the clock is not bumped
        TenantClock.objects.for_tenant(tenant).filter(pk=clock.pk).update(seq=step.seq)
        rows_insert(step, step.changes)


def rows_insert(step: ChangeStep, rows: Sequence[DataPlaneModel]) -> None:
    """Insert rows of one model that nobody reads back in this step, on the
    tenant's hub, in one executemany: a restore batch writes thousands
    (10,000 Change rows take 0.46 s through bulk_create on SQLite, which
    prepares every field of every row and batches 83 rows a statement under
    its 999-variable limit; here a tenth of that). Plain values only: ids,
    text, booleans and this step's time."""
    if not rows:
        return
    model = type(rows[0])
    connection = connections[hub_database_alias(step.tenant.hub_id)]
    columns = [column for column in model._meta.concrete_fields if not column.primary_key]
    moments = {column.attname for column in columns if isinstance(column, models.DateTimeField)}
    quote = connection.ops.quote_name
    names = []
    for column in columns:
        assert column.column is not None  # a concrete field has its column
        names.append(quote(column.column))

    def value_of(row: DataPlaneModel, attname: str) -> Any:
        value = getattr(row, attname)
        return connection.ops.adapt_datetimefield_value(value) if attname in moments and value is not None else value

    values = [tuple(value_of(row, column.attname) for column in columns) for row in rows]
    head = f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(names)}) VALUES "  # noqa: S608 - model's names
    one = f"({', '.join(['%s'] * len(columns))})"
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.executemany(head + one, values)
            return
        # PostgreSQL runs an executemany as one INSERT a row, each its own round
        # of parse, plan and execute (1,000 version rows: 0.24 s on a busy
        # machine); multi-row statements of 500 rows take a tenth of that.
        for start in range(0, len(values), ROWS_PER_STATEMENT):
            part = values[start : start + ROWS_PER_STATEMENT]
            cursor.execute(head + ", ".join([one] * len(part)), [value for row in part for value in row])


# Rows a multi-row INSERT on PostgreSQL: 500 rows of the widest table (16
# columns) is 8,000 parameters, far under the protocol's 65,535.
ROWS_PER_STATEMENT = 500


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


def versions_open(step: ChangeStep, rows: Sequence[NewVersion], *, read_back: bool = True) -> list[NodeVersion]:
    """Open the rows, valid from this step; returns them saved, in order
    (with ``read_back=False``, nothing: a restore batch inserts thousands it
    never reads, through ``rows_insert``).

    The unique live-name constraint is the last word on names: a name taken
    meanwhile refuses the whole set with NameConflict, and writes nothing.
    """
    if not rows:
        return []
    versions = [
        NodeVersion(
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
        for row in rows
    ]
    try:
        # A savepoint, so a refused set leaves the step usable for the caller's error handling.
        with transaction.atomic(using=hub_database_alias(step.tenant.hub_id)):
            if not read_back:
                rows_insert(step, versions)
                step.wrote_rows = True
                return []
            saved = NodeVersion.objects.for_tenant(step.tenant).bulk_create(versions)
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
    for start in range(0, len(ids), IDS_PER_QUERY):
        NodeVersion.objects.for_tenant(step.tenant).filter(pk__in=ids[start : start + IDS_PER_QUERY]).update(**closed)
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
    ids = list(node_ids)
    for start in range(0, len(ids), IDS_PER_QUERY):
        NodeVersion.objects.for_tenant(step.tenant).filter(
            node_id__in=ids[start : start + IDS_PER_QUERY], in_trash=True
        ).update(in_trash=False)


def file_counters_set(step: ChangeStep, *, sizes: Mapping[int, int]) -> None:
    """A file node's counters: one file, of its (new) size. Nodes of one size share an UPDATE."""
    by_size: dict[int, list[int]] = defaultdict(list)
    for node_id, size in sizes.items():
        by_size[size].append(node_id)
    for size, node_ids in by_size.items():
        for start in range(0, len(node_ids), IDS_PER_QUERY):
            Node.objects.for_tenant(step.tenant).filter(pk__in=node_ids[start : start + IDS_PER_QUERY]).update(
                subtree_files=1, subtree_bytes=size
            )


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
        for start in range(0, len(ids), IDS_PER_QUERY):
            found.update(
                selectors.versions(tenant=step.tenant)
                .filter(node_id__in=ids[start : start + IDS_PER_QUERY], valid_to__isnull=True)
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
    for (files, size), node_ids in by_change.items():
        for start in range(0, len(node_ids), IDS_PER_QUERY):
            Node.objects.for_tenant(step.tenant).filter(pk__in=node_ids[start : start + IDS_PER_QUERY]).update(
                subtree_files=F("subtree_files") + files, subtree_bytes=F("subtree_bytes") + size
            )


# ---------------------------------------------------------------- folders on the way


def folders_ensure(step: ChangeStep, names: Sequence[str]) -> list[NodeVersion]:
    """The chain of live folder versions for ``names``, from the root, making
    the missing ones (like ``mkdir -p``); a file on the way is WrongKind."""
    chain = [selectors.root_version(tenant=step.tenant)]
    for depth, name in enumerate(names):
        child = selectors.live_child(tenant=step.tenant, parent_id=chain[-1].node_id, name=name)
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
