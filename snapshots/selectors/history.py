"""Reads of the tenant's history the REST API pages through: snapshots in the
retention, restore jobs, and the versions of one file.

Every page is keyset-paginated newest first, so the last page of a tenant with
years of jobs costs what the first does. Ids come from URLs: one past what a
database column holds is simply not there (never an overflow error), and
another tenant's id is exactly as absent as one never used.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Q, QuerySet

from snapshots.errors import NotFound, WrongKind
from snapshots.models import Node, NodeVersion, RestoreJob, Snapshot
from snapshots.paths import join_path, split_path
from snapshots.selectors import InvalidCursor, Page, decode_cursor, encode_cursor, resolve, retention_start, versions
from snapshots.selectors.trash import trash_item_at_path

if TYPE_CHECKING:
    from hubs.models import Tenant

MAX_DATABASE_ID = 2**63 - 1
_BAD_CURSOR = "The cursor is not valid; start again from the first page."


def _in_range(object_id: int) -> bool:
    return 1 <= object_id <= MAX_DATABASE_ID


def _newest_first_page(queryset: QuerySet, *, column: str, cursor: str | None, limit: int) -> Page:
    """A page of ``queryset`` ordered by (column, id) descending; ``column`` is a
    datetime (its cursor value is ISO 8601) or an integer."""
    queryset = queryset.order_by(f"-{column}", "-id")
    if cursor:
        after = decode_cursor(cursor, keys=("v", "id"))
        value, after_id = after["v"], after["id"]
        if not isinstance(after_id, int):
            raise InvalidCursor(_BAD_CURSOR)
        if column == "valid_from":
            if not isinstance(value, int):
                raise InvalidCursor(_BAD_CURSOR)
        else:
            if not isinstance(value, str):
                raise InvalidCursor(_BAD_CURSOR)
            try:
                value = datetime.fromisoformat(value)
            except ValueError as exc:
                raise InvalidCursor(_BAD_CURSOR) from exc
        queryset = queryset.filter(Q(**{f"{column}__lt": value}) | Q(**{column: value, "id__lt": after_id}))
    rows = list(queryset[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        value = getattr(rows[-1], column)
        next_cursor = encode_cursor({"v": value if isinstance(value, int) else value.isoformat(), "id": rows[-1].pk})
    return Page(items=rows, next_cursor=next_cursor)


# SECTION: snapshots


def snapshots_in_retention(*, tenant: Tenant) -> QuerySet[Snapshot]:
    """The snapshots a customer can still browse and restore from. An older one
    the daily expiry has not removed yet is already out of reach."""
    return Snapshot.objects.for_tenant(tenant).filter(taken_at__gte=retention_start())


def snapshot_page(*, tenant: Tenant, cursor: str | None = None, limit: int = 100) -> Page:
    return _newest_first_page(snapshots_in_retention(tenant=tenant), column="taken_at", cursor=cursor, limit=limit)


def snapshot_get(*, tenant: Tenant, snapshot_id: int) -> Snapshot:
    """One snapshot in the retention. The message is the one the restore
    service gives for an unknown snapshot, so both read the same."""
    snapshot = snapshots_in_retention(tenant=tenant).filter(pk=snapshot_id).first() if _in_range(snapshot_id) else None
    if snapshot is None:
        raise NotFound(f"There is no snapshot {snapshot_id}.")
    return snapshot


# SECTION: restore jobs


def restore_job_page(*, tenant: Tenant, cursor: str | None = None, limit: int = 100) -> Page:
    return _newest_first_page(RestoreJob.objects.for_tenant(tenant), column="created_at", cursor=cursor, limit=limit)


def restore_job_get(*, tenant: Tenant, job_id: int) -> RestoreJob:
    job = RestoreJob.objects.for_tenant(tenant).filter(pk=job_id).first() if _in_range(job_id) else None
    if job is None:
        raise NotFound(f"There is no restore job {job_id}.")
    return job


# SECTION: file versions


def _versions_in_retention(*, tenant: Tenant) -> QuerySet[NodeVersion]:
    """File version rows a customer can still download or restore: the current
    ones, and those replaced or deleted within the retention."""
    return (
        versions(tenant=tenant)
        .select_related("blob")
        .filter(kind=Node.Kind.FILE)
        .filter(Q(valid_to__isnull=True) | Q(closed_at__gte=retention_start()))
    )


def file_at_path_for_versions(*, tenant: Tenant, path: str) -> NodeVersion:
    """The live file at ``path``, else the file most recently deleted from there
    (still in Recently deleted). Raises NotFound, or WrongKind for a folder."""
    names = split_path(path)
    try:
        version = resolve(tenant=tenant, names=names)[-1]
    except NotFound:
        try:
            version = trash_item_at_path(tenant=tenant, path=path)
        except (NotFound, WrongKind) as exc:
            raise NotFound(f"There is no file at {join_path(names)}, live or recently deleted.") from exc
    if version.kind != Node.Kind.FILE:
        raise WrongKind(f"{join_path(names)} is a folder; only files have versions.")
    return version


def file_version_page(*, tenant: Tenant, node_id: int, cursor: str | None = None, limit: int = 100) -> Page:
    """A file's versions in the retention, newest first."""
    return _newest_first_page(
        _versions_in_retention(tenant=tenant).filter(node_id=node_id), column="valid_from", cursor=cursor, limit=limit
    )


def file_version_get(*, tenant: Tenant, version_id: int) -> NodeVersion:
    version = _versions_in_retention(tenant=tenant).filter(pk=version_id).first() if _in_range(version_id) else None
    if version is None:
        raise NotFound(f"There is no file version {version_id} in the last {settings.SNAPSHOT_RETENTION_DAYS} days.")
    return version
