"""``/dav/<slug>/.snapshots/``: every snapshot in the retention as a read-only
folder named by its hub-local time and kind (``2026-11-30 17.10 manual``),
showing the tree as it was. Writes inside are refused with 403; a COPY from
inside into the live tree is a restore (``restore_start`` takes the
pre-restore snapshot and records the job), run before the answer so the client
sees the files when the COPY returns.
"""

from __future__ import annotations

import logging
from typing import Any

from wsgidav import util
from wsgidav.dav_error import HTTP_FORBIDDEN
from wsgidav.dav_provider import DAVCollection, DAVNonCollection

from portal.dav.errors import CREATED_KEY, call_store, refuse
from portal.dav.permissions import dav_write_check
from portal.dav.resources import (
    SNAPSHOTS_FOLDER,
    VersionMixin,
    caller,
    children,
    live_target,
    open_content,
    split_provider_path,
)
from snapshots import selectors
from snapshots.errors import InvalidPath, NotFound
from snapshots.models import Node, NodeVersion, RestoreJob, Snapshot
from snapshots.paths import join_path, split_path
from snapshots.selectors.history import snapshots_in_retention
from snapshots.services import RestoreRequest, restore_run, restore_start

logger = logging.getLogger("portal.dav")


def snapshot_labels(*, tenant: Any) -> dict[str, Snapshot]:
    """Folder name to snapshot, oldest first; a second snapshot in the same minute of the same kind gets (2)."""
    labels: dict[str, Snapshot] = {}
    zone = tenant.hub.zone
    for snapshot in snapshots_in_retention(tenant=tenant).order_by("taken_at", "pk"):
        base = f"{snapshot.taken_at.astimezone(zone):%Y-%m-%d %H.%M} {snapshot.kind.replace('_', '-')}"
        label, number = base, 2
        while label in labels:
            label, number = f"{base} ({number})", number + 1
        labels[label] = snapshot
    return labels


class ReadOnly:
    """Every write a client may try inside .snapshots: 403."""

    path: str
    environ: dict[str, Any]

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise refuse(HTTP_FORBIDDEN, "snapshot_read_only")

    create_empty_resource = _refuse
    create_collection = _refuse
    begin_write = _refuse
    delete = _refuse
    handle_delete = _refuse
    handle_move = _refuse
    set_property_value = _refuse
    remove_all_properties = _refuse

    def prevent_locking(self) -> bool:
        return True

    def support_recursive_delete(self) -> bool:
        return False

    def support_recursive_move(self, dest_path: str) -> bool:
        return False

    def copy_move_single(self, dest_path: str, *, is_move: bool) -> None:
        raise refuse(HTTP_FORBIDDEN, "snapshot_read_only")

    def get_etag(self) -> str | None:
        return None

    def support_etag(self) -> bool:
        return False


class SnapshotsFolder(ReadOnly, DAVCollection):
    def get_member_names(self) -> list[str]:
        return list(snapshot_labels(tenant=caller(self.environ).tenant))

    def get_member(self, name: str) -> Any:
        return self.provider.get_resource_inst(util.join_uri(self.path, name), self.environ)


class SnapshotItem(ReadOnly, VersionMixin):
    snapshot: Snapshot
    version: NodeVersion | None
    inner_names: list[str]

    def handle_copy(self, dest_path: str, *, depth_infinity: bool) -> bool:
        """COPY out of a snapshot into the live tree: a restore of this item into the destination's folder."""
        who = caller(self.environ)
        dav_write_check(who)
        target = split_path(live_target(self.environ, dest_path))
        if not self.inner_names or target[-1] != self.inner_names[-1]:
            # A restore brings an item back under its own name.
            raise refuse(HTTP_FORBIDDEN, "restore_keeps_name")
        overwrite = self.environ.get("HTTP_OVERWRITE", "T") == "T"
        destination = self.provider.get_resource_inst(dest_path, self.environ)  # type: ignore[attr-defined]
        self.environ[CREATED_KEY] = destination is None
        request = RestoreRequest(
            snapshot_id=self.snapshot.pk,
            paths=(join_path(self.inner_names),),
            target=join_path(target[:-1]),
            conflict=RestoreJob.Conflict.OVERWRITE if overwrite else RestoreJob.Conflict.SKIP,
        )
        job = call_store(self.environ, restore_start, tenant=who.tenant, request=request, acting_user=who.user)
        finished = call_store(self.environ, restore_run, tenant=who.tenant, job_id=job.pk)
        if finished is None or finished.state != RestoreJob.State.SUCCEEDED:
            logger.warning("Restore job %s of tenant %s over WebDAV did not succeed", job.pk, who.tenant.pk)
            raise refuse(500, "restore_failed")
        logger.info("Restore job %s of tenant %s made by a WebDAV COPY", job.pk, who.tenant.pk)
        return True


class SnapshotFolder(SnapshotItem, DAVCollection):
    def __init__(self, path: str, environ: dict[str, Any], snapshot: Snapshot, version: NodeVersion, inner: list[str]):
        super().__init__(path, environ)
        self.snapshot, self.version, self.inner_names = snapshot, version, inner

    def get_member_names(self) -> list[str]:
        return [member.name for member in self.get_member_list()]

    def get_member_list(self) -> list[Any]:
        assert self.version is not None
        tenant = caller(self.environ).tenant
        return [
            _item(util.join_uri(self.path, row.name), self.environ, self.snapshot, row, [*self.inner_names, row.name])
            for row in children(tenant=tenant, folder=self.version, seq=self.snapshot.seq)
        ]

    def get_member(self, name: str) -> Any:
        return self.provider.get_resource_inst(util.join_uri(self.path, name), self.environ)


class SnapshotFile(SnapshotItem, DAVNonCollection):
    def __init__(self, path: str, environ: dict[str, Any], snapshot: Snapshot, version: NodeVersion, inner: list[str]):
        super().__init__(path, environ)
        self.snapshot, self.version, self.inner_names = snapshot, version, inner

    def get_content_length(self) -> int:
        return self.version.size if self.version else 0

    def get_content_type(self) -> str:
        return "application/octet-stream"

    def get_etag(self) -> str | None:
        return self.version.blob.sha256 if self.version and self.version.blob else None

    def support_etag(self) -> bool:
        return True

    def support_ranges(self) -> bool:
        return True

    def get_content(self) -> Any:
        assert self.version is not None
        return open_content(caller(self.environ).tenant, self.version)


def _item(path: str, environ: dict[str, Any], snapshot: Snapshot, version: NodeVersion, inner: list[str]) -> Any:
    kind = SnapshotFolder if version.kind == Node.Kind.FOLDER else SnapshotFile
    return kind(path, environ, snapshot, version, inner)


def snapshot_resource(path: str, environ: dict[str, Any], names: list[str]) -> Any:
    """The resource at ``names`` below ``.snapshots``, or None."""
    tenant = caller(environ).tenant
    if not names:
        return SnapshotsFolder(path, environ)
    snapshot = snapshot_labels(tenant=tenant).get(names[0])
    if snapshot is None:
        return None
    inner = names[1:]
    try:
        version = selectors.resolve(tenant=tenant, names=inner, seq=snapshot.seq)[-1]
    except (NotFound, InvalidPath):
        return None
    return _item(path, environ, snapshot, version, inner)


__all__ = ["SNAPSHOTS_FOLDER", "snapshot_resource", "split_provider_path"]
