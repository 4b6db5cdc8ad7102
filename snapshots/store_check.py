"""The store's invariants, checked against a recount: what the fault suite and
the disaster-recovery drill run after each scenario, and what staff run when
they doubt a hub (``manage.py store_check``).

For every tenant of a hub (or one tenant):

- **counters**: every node's ``subtree_files`` and ``subtree_bytes`` equal a
  recount of the open version rows below it. This covers every node with an
  open row (the live tree, and what lies inside a deleted folder, which keeps
  its open rows) and every folder in Recently deleted (its counters describe
  what it held). The root's counters are the tenant's usage against its quota,
  so the quota is checked with them. A version row's kind must be its node's.
- **blobs**: every blob that a version row references (live or history: both
  can be brought back) has a row of the same size as the version, and its bytes
  in every facility of the hub, of its size and (unless ``hash_blobs=False``)
  its SHA-256. A facility marked unavailable is not read (it is listed in
  ``skipped_facilities``); a blob with ``needs_replication`` is in the
  replication backlog, so it needs a good copy in one available facility only.
- **names**: no two open rows in one folder have the same name as the store
  compares them (exact after NFC normalisation: names are case-sensitive).
- **clock**: the tenant clock is at or after every sequence number any row
  carries (versions, changes, snapshots), every closed row's interval is not
  empty, and the wall time of the steps never goes back as the sequence goes
  forward (``seq_at`` relies on it).
- **temporaries** (per hub): no temporary upload file older than the grace
  (``snapshots.blobs.TEMPORARY_GRACE``) in the spool folder or a folder
  facility's ``tmp/``: one would mean the hourly sweep is not running.

Queries are per tenant and set-based (a few queries a tenant, whatever its
size); hashing is the slow part. Problems name hubs, tenants, nodes, blobs and
facilities by id, never a file name.
"""

from __future__ import annotations

import time
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage
from django.db.models import Exists, F, Max, OuterRef
from django.db.models.expressions import Window
from django.db.models.functions import Lag
from django.utils import timezone

from hubs.models import Facility, Tenant
from hubs.storage import facility_storage
from snapshots.blobs import TEMPORARY_GRACE, spool_directory, temporary_claimed
from snapshots.models import Blob, Change, Node, NodeVersion, Snapshot, TenantClock
from snapshots.replication import sha256_of

# Problems listed at most: a store broken everywhere still prints a readable
# answer; ``problem_count`` says how many there were.
MAX_LISTED_PROBLEMS = 1_000
# Rows fetched a round trip when streaming a tenant's open rows: 100,000 rows
# in 20 fetches, and memory bounded by what the recount must keep anyway.
ROWS_PER_FETCH = 5_000
# Example ids a problem about many rows lists.
EXAMPLE_IDS = 10


class Kind:
    COUNTERS = "counters"
    KIND_MISMATCH = "kind_mismatch"
    CYCLE = "cycle"
    BLOB_MISSING = "blob_missing"
    BLOB_SIZE = "blob_size"
    BLOB_CORRUPT = "blob_corrupt"
    BLOB_NOT_REPLICATED = "blob_not_replicated"
    VERSION_SIZE = "version_size"
    DUPLICATE_NAME = "duplicate_name"
    CLOCK_BEHIND = "clock_behind"
    CLOCK_BACKWARDS = "clock_backwards"
    EMPTY_INTERVAL = "empty_interval"
    ORPHAN_TEMPORARY = "orphan_temporary"
    NO_CLOCK = "no_clock"


@dataclass
class StoreCheckResult:
    tenants: int = 0
    files: int = 0
    checked_blobs: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)
    problem_count: int = 0
    skipped_facilities: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    def add(self, kind: str, **ids: Any) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_LISTED_PROBLEMS:
            self.problems.append({"kind": kind, **ids})

    def merge(self, other: StoreCheckResult) -> None:
        self.tenants += other.tenants
        self.files += other.files
        self.checked_blobs += other.checked_blobs
        self.skipped_facilities += other.skipped_facilities
        self.seconds += other.seconds
        for problem in other.problems:
            if len(self.problems) < MAX_LISTED_PROBLEMS:
                self.problems.append(problem)
        self.problem_count += other.problem_count

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "tenants": self.tenants,
            "files": self.files,
            "checked_blobs": self.checked_blobs,
            "problems": self.problems,
            "problem_count": self.problem_count,
            "skipped_facilities": self.skipped_facilities,
            "seconds": round(self.seconds, 3),
        }


def store_check(
    *,
    hub_code: str,
    tenant_id: int | None = None,
    hash_blobs: bool = True,
    temporary_grace: timedelta = TEMPORARY_GRACE,
    spool: bool = True,
) -> StoreCheckResult:
    """Check the store of one hub (only ``tenant_id``'s rows when given); the
    spool folder, shared by every hub of the installation, with ``spool``."""
    started = time.monotonic()
    result = StoreCheckResult()
    facilities = list(Facility.objects.filter(hub_id=hub_code).order_by("role"))
    storages: dict[str, Storage] = {}
    for facility in facilities:
        if facility.is_available:
            storages[facility.role] = facility_storage(hub_code, facility.role)
        else:
            result.skipped_facilities.append(f"{hub_code}/{facility.role}")
    if tenant_id is None:
        tenant_ids = list(
            TenantClock.objects.for_hub(hub_code).order_by("tenant_id").values_list("tenant_id", flat=True)
        )
    else:
        tenant_ids = [tenant_id]
    for one in tenant_ids:
        result.tenants += 1
        _check_tenant(one, hub_code=hub_code, storages=storages, hash_blobs=hash_blobs, result=result)
    _check_temporaries(hub_code=hub_code, grace=temporary_grace, spool=spool, result=result)
    result.seconds = time.monotonic() - started
    return result


def store_check_hubs(
    *,
    hub_codes: Iterable[str] | None = None,
    tenant_id: int | None = None,
    hash_blobs: bool = True,
    temporary_grace: timedelta = TEMPORARY_GRACE,
) -> StoreCheckResult:
    """Check several hubs (every hub by default), or the hub of ``tenant_id``."""
    if tenant_id is not None:
        hub_codes = [Tenant.objects.values_list("hub_id", flat=True).get(pk=tenant_id)]
    total = StoreCheckResult()
    codes = list(hub_codes) if hub_codes is not None else list(settings.HUB_CODES)
    for index, code in enumerate(codes):
        total.merge(
            store_check(
                hub_code=code,
                tenant_id=tenant_id,
                hash_blobs=hash_blobs,
                temporary_grace=temporary_grace,
                spool=index == 0,
            )
        )
    return total


# ---------------------------------------------------------------- one tenant


def _check_tenant(
    tenant_id: int, *, hub_code: str, storages: dict[str, Storage], hash_blobs: bool, result: StoreCheckResult
) -> None:
    clock = TenantClock.objects.for_tenant_id(tenant_id, hub_code=hub_code).values_list("seq", flat=True).first()
    if clock is None:
        result.add(Kind.NO_CLOCK, hub=hub_code, tenant=tenant_id)
        return
    _check_tree(tenant_id, hub_code=hub_code, result=result)
    _check_clock(tenant_id, hub_code=hub_code, clock=clock, result=result)
    _check_blobs(tenant_id, hub_code=hub_code, storages=storages, hash_blobs=hash_blobs, result=result)


def _check_tree(tenant_id: int, *, hub_code: str, result: StoreCheckResult) -> None:
    """Counters against a recount, kinds, and names, from one pass over the open rows."""
    versions = NodeVersion.objects.for_tenant_id(tenant_id, hub_code=hub_code)
    children: dict[int, list[int]] = defaultdict(list)
    own: dict[int, tuple[str, int]] = {}  # node -> (kind, size) of its open row
    names: dict[tuple[int | None, str], list[int]] = defaultdict(list)
    open_rows = versions.filter(valid_to__isnull=True).values_list("node_id", "parent_id", "name", "kind", "size")
    for node_id, parent_id, name, kind, size in open_rows.iterator(chunk_size=ROWS_PER_FETCH):
        own[node_id] = (kind, size)
        if parent_id is not None:
            children[parent_id].append(node_id)
        names[(parent_id, unicodedata.normalize("NFC", name))].append(node_id)
    for (parent_id, _name), node_ids in names.items():
        if len(node_ids) > 1:
            result.add(Kind.DUPLICATE_NAME, hub=hub_code, tenant=tenant_id, parent=parent_id, nodes=sorted(node_ids))
    result.files += sum(1 for kind, _size in own.values() if kind == Node.Kind.FILE)

    trashed_folders = set(
        versions.filter(in_trash=True, kind=Node.Kind.FOLDER).values_list("node_id", flat=True).distinct()
    )
    checked = set(own) | trashed_folders
    counters = {
        node_id: (kind, files, size)
        for node_id, kind, files, size in Node.objects.for_tenant_id(tenant_id, hub_code=hub_code)
        .filter(pk__in=_node_ids_query(versions))
        .values_list("id", "kind", "subtree_files", "subtree_bytes")
        .iterator(chunk_size=ROWS_PER_FETCH)
    }
    expected = _recount(checked, children=children, own=own, result=result, hub_code=hub_code, tenant_id=tenant_id)
    for node_id in sorted(checked):
        kind, files, size = counters.get(node_id, ("", 0, 0))
        if node_id in own and own[node_id][0] != kind:
            result.add(Kind.KIND_MISMATCH, hub=hub_code, tenant=tenant_id, node=node_id)
            continue
        if node_id in expected and (files, size) != expected[node_id]:
            result.add(
                Kind.COUNTERS,
                hub=hub_code,
                tenant=tenant_id,
                node=node_id,
                stored=[files, size],
                recount=list(expected[node_id]),
            )


def _node_ids_query(versions: Any) -> Any:
    """The nodes the recount covers, as a subquery (no id list travels)."""
    return (
        versions.filter(valid_to__isnull=True)
        .values("node_id")
        .union(versions.filter(in_trash=True, kind=Node.Kind.FOLDER).values("node_id"))
    )


def _recount(
    nodes: set[int],
    *,
    children: dict[int, list[int]],
    own: dict[int, tuple[str, int]],
    result: StoreCheckResult,
    hub_code: str,
    tenant_id: int,
) -> dict[int, tuple[int, int]]:
    """(files, bytes) below each node, from the open rows, without recursion
    (a tree 10,000 folders deep must not exhaust Python's stack)."""
    totals: dict[int, tuple[int, int]] = {}
    in_progress: set[int] = set()
    for start in nodes:
        if start in totals:
            continue
        stack = [start]
        while stack:
            node_id = stack[-1]
            kind, size = own.get(node_id, (Node.Kind.FOLDER, 0))
            if kind == Node.Kind.FILE:
                totals[node_id] = (1, size)
                stack.pop()
                continue
            if node_id not in in_progress:
                in_progress.add(node_id)
                for child in children.get(node_id, ()):
                    if child in in_progress and child not in totals:
                        result.add(Kind.CYCLE, hub=hub_code, tenant=tenant_id, node=child)
                        totals[child] = (0, 0)
                    elif child not in totals:
                        stack.append(child)
                continue
            stack.pop()
            if node_id in totals:
                continue
            files = size_total = 0
            for child in children.get(node_id, ()):
                child_files, child_bytes = totals.get(child, (0, 0))
                files += child_files
                size_total += child_bytes
            totals[node_id] = (files, size_total)
    return totals


def _check_clock(tenant_id: int, *, hub_code: str, clock: int, result: StoreCheckResult) -> None:
    def scope(model: Any) -> Any:
        return model.objects.for_tenant_id(tenant_id, hub_code=hub_code)

    versions = scope(NodeVersion)
    seen = versions.aggregate(opened=Max("valid_from"), closed=Max("valid_to"))
    seen["changes"] = scope(Change).aggregate(seq=Max("seq"))["seq"]
    seen["snapshots"] = scope(Snapshot).aggregate(seq=Max("seq"))["seq"]
    ahead = {where: seq for where, seq in seen.items() if seq is not None and seq > clock}
    if ahead:
        result.add(Kind.CLOCK_BEHIND, hub=hub_code, tenant=tenant_id, clock=clock, ahead=ahead)
    empty = list(versions.filter(valid_to__lte=F("valid_from")).values_list("id", flat=True)[:EXAMPLE_IDS])
    if empty:
        result.add(Kind.EMPTY_INTERVAL, hub=hub_code, tenant=tenant_id, versions=empty)
    # The window runs in the database over the (tenant, seq) index: one row
    # back per step, whatever the number of changes.
    steps = scope(Change).annotate(before=Window(Lag("at"), order_by=[F("seq").asc(), F("id").asc()]))
    backwards = list(steps.filter(before__gt=F("at")).values_list("seq", flat=True)[:EXAMPLE_IDS])
    if backwards:
        result.add(Kind.CLOCK_BACKWARDS, hub=hub_code, tenant=tenant_id, seqs=backwards)


def _check_blobs(
    tenant_id: int, *, hub_code: str, storages: dict[str, Storage], hash_blobs: bool, result: StoreCheckResult
) -> None:
    versions = NodeVersion.objects.for_tenant_id(tenant_id, hub_code=hub_code)
    wrong_size = list(
        versions.filter(blob__isnull=False).exclude(size=F("blob__size")).values_list("id", flat=True)[:EXAMPLE_IDS]
    )
    if wrong_size:
        result.add(Kind.VERSION_SIZE, hub=hub_code, tenant=tenant_id, versions=wrong_size)
    referenced = Blob.objects.for_tenant_id(tenant_id, hub_code=hub_code).filter(
        Exists(NodeVersion.objects.for_hub(hub_code).filter(blob_id=OuterRef("pk")))
    )
    for blob in referenced.order_by("pk").iterator(chunk_size=ROWS_PER_FETCH):
        result.checked_blobs += 1
        states = {role: _copy_state(storage, blob, hash_blobs=hash_blobs) for role, storage in storages.items()}
        if blob.needs_replication:
            if storages and "good" not in states.values():
                result.add(Kind.BLOB_NOT_REPLICATED, hub=hub_code, tenant=tenant_id, blob=blob.pk, copies=states)
            continue
        for role, state in states.items():
            if state != "good":
                result.add(state, hub=hub_code, tenant=tenant_id, blob=blob.pk, facility=role)


def _copy_state(storage: Storage, blob: Blob, *, hash_blobs: bool) -> str:
    key = blob.storage_key
    try:
        if isinstance(storage, FileSystemStorage):
            size = Path(storage.path(key)).stat().st_size
        else:
            if not storage.exists(key):
                return Kind.BLOB_MISSING
            size = storage.size(key)
    except OSError:
        return Kind.BLOB_MISSING
    if size != blob.size:
        return Kind.BLOB_SIZE
    if hash_blobs and sha256_of(storage, key) != blob.sha256:
        return Kind.BLOB_CORRUPT
    return "good"


# ---------------------------------------------------------------- temporaries


def _check_temporaries(*, hub_code: str, grace: timedelta, spool: bool, result: StoreCheckResult) -> None:
    cutoff = timezone.now() - grace
    places: list[tuple[str, Iterable[Path]]] = []
    if spool:
        places.append(("spool", [*spool_directory().glob("upload-*"), *spool_directory().glob("replicate-*")]))
    for role in settings.FACILITY_ROLES:
        storage = facility_storage(hub_code, role)
        if isinstance(storage, FileSystemStorage):
            places.append((role, Path(storage.path("tmp")).glob("*")))
    for place, paths in places:
        # A temporary an upload or a copy still holds is work in progress, however old.
        old = sum(1 for path in paths if _older_than(path, cutoff) and not temporary_claimed(path))
        if old:
            result.add(Kind.ORPHAN_TEMPORARY, hub=hub_code, facility=place, count=old)


def _older_than(path: Path, cutoff: datetime) -> bool:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC) < cutoff
    except FileNotFoundError:
        return False
