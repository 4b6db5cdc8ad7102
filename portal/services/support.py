"""Support staff acting on a tenant's content: snapshots, restores on the
customer's behalf, purges from all history.

Each function calls the versioned store (``snapshots``), which writes the
hub-side record with its file names in the tenant's hub database (the
Snapshot, the RestoreJob with ``by_support``, the PURGE change with the
reason), then writes the control-plane StaffAuditEntry: who did which kind of
action to which tenant, and the id of that hub-side record. No path or file
name is ever written to the control plane.

The two writes are on two databases, so they cannot share one transaction.
The hub side commits first and the audit entry right after it, inside a
transaction on ``default`` that also wraps the hub call: a refused request
writes nothing anywhere, and every hub-side support record is itself marked
as done by support, so even a failed audit write leaves a trace in the hub.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from django.db import transaction

from hubs.models import Tenant
from hubs.services import audit_record
from portal.models import User
from snapshots import selectors
from snapshots.errors import WrongKind
from snapshots.models import Node, NodeVersion, RestoreJob, Snapshot
from snapshots.paths import join_path, split_path
from snapshots.selectors import Page
from snapshots.services import (
    PurgeResult,
    RestoreRequest,
    RestoreSource,
    node_purge,
    restore_cancel,
    restore_source,
    restore_start,
    snapshot_create,
    support_view_record,
)

SUPPORT_SNAPSHOT_LABEL = "Taken by Hubport support"

Record = TypeVar("Record")


def _audited(
    *,
    tenant: Tenant,
    acting_user: User,
    action: str,
    hub_call: Callable[[], Record],
    record_id: Callable[[Record], object],
) -> Record:
    """Run ``hub_call`` (the hub-side write), then the control-plane audit entry
    naming ``action`` and the id of the record it made, both inside one
    transaction on ``default`` (the module's docstring says why)."""
    with transaction.atomic(using="default"):
        record = hub_call()
        audit_record(
            actor=acting_user,
            action=action,
            target=tenant,
            tenant=tenant,
            hub_record_id=str(record_id(record)),
        )
    return record


def support_snapshot(*, tenant: Tenant, acting_user: User) -> Snapshot:
    """Take a manual snapshot of ``tenant`` now, on a staff request."""
    return _audited(
        tenant=tenant,
        acting_user=acting_user,
        action="tenant.snapshot",
        hub_call=lambda: snapshot_create(
            tenant=tenant,
            kind=Snapshot.Kind.MANUAL,
            acting_user=acting_user,
            label=SUPPORT_SNAPSHOT_LABEL,
            by_support=True,
        ),
        record_id=lambda record: record.pk,
    )


def support_restore_start(*, tenant: Tenant, acting_user: User, request: RestoreRequest) -> RestoreJob:
    """Queue a restore on the customer's behalf. The customer's activity shows
    it as done by "Hubport support"; the staff member is named only in the
    control-plane audit entry, which points to the job."""
    return _audited(
        tenant=tenant,
        acting_user=acting_user,
        action="tenant.restore",
        hub_call=lambda: restore_start(tenant=tenant, request=request, acting_user=acting_user, by_support=True),
        record_id=lambda record: record.pk,
    )


def support_restore_cancel(*, tenant: Tenant, acting_user: User, job_id: int) -> RestoreJob:
    """Stop a restore job of ``tenant`` (whoever started it) on a staff request."""
    return _audited(
        tenant=tenant,
        acting_user=acting_user,
        action="tenant.restore_cancel",
        hub_call=lambda: restore_cancel(tenant=tenant, job_id=job_id, acting_user=acting_user),
        record_id=lambda record: record.pk,
    )


def support_purge(*, tenant: Tenant, acting_user: User, path: str, reason: str) -> PurgeResult:
    """Purge one file or folder of ``tenant`` from all history, with its bytes.

    The written reason is kept with the path in the hub's PURGE change only: a
    reason may well name what was purged, so the control-plane audit entry
    points to that record by id and holds neither.
    """
    return _audited(
        tenant=tenant,
        acting_user=acting_user,
        action="tenant.purge",
        hub_call=lambda: node_purge(tenant=tenant, path=path, acting_user=acting_user, reason=reason),
        record_id=lambda record: record.change_id,
    )


@dataclass(frozen=True)
class SupportListing:
    """One page of a folder as it was, as support sees it."""

    source: RestoreSource
    path: str
    page: Page
    view_id: int


def support_browse(
    *,
    tenant: Tenant,
    acting_user: User,
    snapshot_id: int | None = None,
    at: datetime | None = None,
    path: str = "/",
    cursor: str | None = None,
    limit: int = 100,
) -> SupportListing:
    """List a folder of ``tenant`` as of a snapshot or a moment, read only, so
    support picks what to restore instead of typing paths blind.

    Every listing is recorded: the folder's path in the tenant's hub
    (``SupportView``), and who looked at which tenant, pointing to that row, in
    the control-plane audit log (``tenant.browse``). A refused listing (no such
    snapshot, no such folder) records nothing.
    """
    source = restore_source(tenant=tenant, snapshot_id=snapshot_id, at=at)
    path = join_path(split_path(path))
    folder: NodeVersion = selectors.node_at_path(tenant=tenant, path=path, seq=source.seq)
    if folder.kind != Node.Kind.FOLDER:
        raise WrongKind(f"{path} is a file, not a folder.")
    page = selectors.folder_listing(tenant=tenant, folder=folder, seq=source.seq, cursor=cursor, limit=limit)
    view = _audited(
        tenant=tenant,
        acting_user=acting_user,
        action="tenant.browse",
        hub_call=lambda: support_view_record(tenant=tenant, staff=acting_user, source=source, path=path),
        record_id=lambda record: record.pk,
    )
    return SupportListing(source=source, path=path, page=page, view_id=view.pk)
