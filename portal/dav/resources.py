"""The live tree as WsgiDAV resources. Every read is a selector, every write a
service of the store (``snapshots.services``), so a write over WebDAV makes
versions, respects the quota, the size limit and the name rules, and is in
the activity log like a write from the pages.

Provider paths are ``/<tenant-slug>/<path in the store>``; ``/`` lists the
workspace the credentials open.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable, Iterator
from typing import Any

from django.conf import settings
from wsgidav import util
from wsgidav.dav_error import HTTP_FORBIDDEN, DAVError
from wsgidav.dav_provider import DAVCollection, DAVNonCollection

from portal.dav.errors import CREATED_KEY, RESOLVED_KEY, call_store, refuse, store_refusals
from portal.dav.permissions import dav_write_check
from portal.dav.state import state_changed
from snapshots import selectors
from snapshots.blob_repairs import blob_copy_bad
from snapshots.blobs import VerifiedRead, blob_open
from snapshots.models import Blob, Node, NodeVersion
from snapshots.paths import join_path
from snapshots.services import file_write, folder_create, node_copy, node_delete, node_move

SNAPSHOTS_FOLDER = ".snapshots"
# A PROPFIND of depth 1 reads the folder in pages this long (one query each).
LISTING_PAGE = 2000


def caller(environ: dict[str, Any]) -> Any:
    return environ["hubport.dav"]


def split_provider_path(path: str) -> tuple[str, list[str]]:
    parts = [part for part in path.split("/") if part]
    if not parts:
        return "", []
    return parts[0], parts[1:]


def children(*, tenant: Any, folder: NodeVersion, seq: int | None) -> Iterator[NodeVersion]:
    cursor = None
    while True:
        page = selectors.folder_children(tenant=tenant, folder=folder, seq=seq, cursor=cursor, limit=LISTING_PAGE)
        yield from page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


class IterableStream:
    """WsgiDAV hands a PUT body over as an iterable of chunks; the store reads a stream."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = b""

    def read(self, size: int = -1, /) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        if size < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


class FileWriter:
    """What WsgiDAV writes a PUT body into: the body goes to ``file_write`` as it arrives."""

    def __init__(self, resource: LiveFile) -> None:
        self.resource = resource

    def writelines(self, chunks: Iterable[bytes]) -> None:
        environ = self.resource.environ
        length = environ.get("CONTENT_LENGTH")
        who = caller(environ)
        self.resource.version = call_store(
            environ,
            file_write,
            tenant=who.tenant,
            path=self.resource.store_path,
            stream=IterableStream(chunks),
            content_length=int(length) if length and length.isdigit() else None,
            acting_user=who.user,
        )

    def close(self) -> None:
        pass


class VersionMixin:
    """What a file or folder of the store answers about itself."""

    version: NodeVersion | None

    def get_creation_date(self) -> float | None:
        return self.version.changed_at.timestamp() if self.version else None

    def get_last_modified(self) -> float | None:
        return self.version.changed_at.timestamp() if self.version else None

    def get_display_name(self) -> str:
        return self.version.name if self.version else ""


class LiveItem(VersionMixin):
    """A file or folder of the live tree (or the place for a new one)."""

    path: str
    environ: dict[str, Any]

    @property
    def names(self) -> list[str]:
        return split_provider_path(self.path)[1]

    @property
    def store_path(self) -> str:
        return join_path(self.names)

    def _write_check(self) -> None:
        dav_write_check(caller(self.environ))

    def _lock_check(self) -> None:
        """Handled natively, a DELETE or MOVE skips WsgiDAV's check of the item's own
        locks and its descendants' (it checks only the parent): the same check here."""
        locks = self.provider.lock_manager  # type: ignore[attr-defined]
        if locks is None:
            return
        if "wsgidav.conditions.if" not in self.environ:
            util.parse_if_header_dict(self.environ)
        locks.check_write_permission(
            url=self.get_ref_url(),  # type: ignore[attr-defined]
            depth="infinity",
            token_list=self.environ["wsgidav.ifLockTokenList"],
            principal=self.environ["wsgidav.auth.user_name"],
        )

    def handle_delete(self) -> bool:
        self._write_check()
        self._lock_check()
        who = caller(self.environ)
        # node_delete takes the item's dead properties and locks (and its descendants') with it.
        call_store(self.environ, node_delete, tenant=who.tenant, path=self.store_path, acting_user=who.user)
        state_changed(self.environ)
        return True

    def delete(self) -> None:
        self.handle_delete()

    def _destination_cleared(self, dest_path: str) -> str:
        """The store path of a MOVE's or COPY's destination, with what stood there
        deleted first (Overwrite: T was checked by WsgiDAV; RFC 4918 9.8.4): the
        replaced item goes to Recently deleted. Notes whether the answer is 201."""
        target = live_target(self.environ, dest_path)
        existing = self.provider.get_resource_inst(dest_path, self.environ)  # type: ignore[attr-defined]
        self.environ[CREATED_KEY] = existing is None
        if existing is not None:
            existing.delete()
        return target

    def handle_move(self, dest_path: str) -> bool:
        self._write_check()
        self._lock_check()
        who = caller(self.environ)
        target = self._destination_cleared(dest_path)
        # node_move takes the dead properties along and ends the source's locks (a lock
        # stays with its URL, RFC 4918 7.7), in its own transaction.
        call_store(
            self.environ, node_move, tenant=who.tenant, from_path=self.store_path, to_path=target, acting_user=who.user
        )
        state_changed(self.environ)
        return True

    def handle_copy(self, dest_path: str, *, depth_infinity: bool) -> bool:
        """A COPY on the server: ``node_copy`` makes the copy (a folder with all it
        holds) in one step, with the source's blobs; its dead properties come along.
        A folder's Depth 0 COPY (the folder alone) is left to WsgiDAV."""
        if self.version is not None and self.version.kind == Node.Kind.FOLDER and not depth_infinity:
            return False
        self._write_check()
        who = caller(self.environ)
        target = self._destination_cleared(dest_path)
        call_store(
            self.environ, node_copy, tenant=who.tenant, from_path=self.store_path, to_path=target, acting_user=who.user
        )
        properties = self.provider.prop_manager  # type: ignore[attr-defined]
        if properties is not None:
            destination = self.provider.get_resource_inst(dest_path, self.environ)  # type: ignore[attr-defined]
            properties.copy_properties(
                self.get_ref_url(),  # type: ignore[attr-defined]
                destination.get_ref_url(),
                self.environ,
                with_children=True,
            )
        return True

    def copy_move_single(self, dest_path: str, *, is_move: bool) -> None:
        """A folder's Depth 0 COPY: the folder alone, with its dead properties."""
        assert not is_move  # moves are handled whole by handle_move, files' copies by handle_copy
        self._write_check()
        who = caller(self.environ)
        target = live_target(self.environ, dest_path)
        call_store(self.environ, folder_create, tenant=who.tenant, path=target, acting_user=who.user, exist_ok=True)
        properties = self.provider.prop_manager  # type: ignore[attr-defined]
        if properties is not None:
            destination = self.provider.get_resource_inst(dest_path, self.environ)  # type: ignore[attr-defined]
            properties.copy_properties(self.get_ref_url(), destination.get_ref_url(), self.environ)  # type: ignore[attr-defined]


def live_target(environ: dict[str, Any], dest_path: str) -> str:
    """The store path of a COPY or MOVE destination in the caller's live tree."""
    slug, names = split_provider_path(dest_path)
    if slug != caller(environ).tenant.slug or not names or names[0] == SNAPSHOTS_FOLDER:
        raise refuse(HTTP_FORBIDDEN, "read_only_destination")
    return join_path(names)


def open_content(tenant: Any, version: NodeVersion) -> VerifiedRead:
    assert version.blob is not None  # a file version always has its blob

    def on_mismatch(blob: Blob, facility_role: str) -> None:
        blob_copy_bad(tenant=tenant, blob=blob, facility_role=facility_role)

    with store_refusals():
        return blob_open(tenant=tenant, blob=version.blob, on_mismatch=on_mismatch)


class LiveFile(LiveItem, DAVNonCollection):
    def __init__(self, path: str, environ: dict[str, Any], version: NodeVersion | None) -> None:
        super().__init__(path, environ)
        self.version = version

    def get_content_length(self) -> int:
        return self.version.size if self.version else 0

    def get_content_type(self) -> str:
        return mimetypes.guess_type(self.name)[0] or "application/octet-stream"

    def get_etag(self) -> str | None:
        return self.version.blob.sha256 if self.version and self.version.blob else None

    def support_etag(self) -> bool:
        return True

    def support_ranges(self) -> bool:
        return True

    def get_content(self) -> VerifiedRead:
        if self.version is None:
            raise refuse(404, "not_found")
        return open_content(caller(self.environ).tenant, self.version)

    def begin_write(self, *, content_type: str | None = None) -> FileWriter:
        self._write_check()
        return FileWriter(self)

    def end_write(self, *, with_errors: bool) -> None:
        pass


class LiveFolder(LiveItem, DAVCollection):
    def __init__(self, path: str, environ: dict[str, Any], version: NodeVersion) -> None:
        super().__init__(path, environ)
        self.version = version

    def get_etag(self) -> None:
        return None

    def support_etag(self) -> bool:
        return False

    def support_recursive_delete(self) -> bool:
        return True

    def support_recursive_move(self, dest_path: str) -> bool:
        return False

    def _shows_snapshots(self) -> bool:
        return not self.names and settings.HUBPORT_DAV_SHOW_SNAPSHOTS

    def get_member_names(self) -> list[str]:
        return [member.name for member in self.get_member_list()]

    def get_member_list(self) -> list[Any]:
        assert self.version is not None
        who = caller(self.environ)
        members: list[Any] = [
            live_resource(util.join_uri(self.path, row.name), self.environ, row)
            for row in children(tenant=who.tenant, folder=self.version, seq=None)
        ]
        if self._shows_snapshots():
            members.append(self.provider.get_resource_inst(util.join_uri(self.path, SNAPSHOTS_FOLDER), self.environ))
        return members

    def get_member(self, name: str) -> Any:
        return self.provider.get_resource_inst(util.join_uri(self.path, name), self.environ)

    def _new_name_check(self, name: str) -> None:
        self._write_check()
        if not self.names and name == SNAPSHOTS_FOLDER:
            raise refuse(HTTP_FORBIDDEN, "reserved_name")

    def create_empty_resource(self, name: str) -> LiveFile:
        self._new_name_check(name)
        resource = LiveFile(util.join_uri(self.path, name), self.environ, None)
        if self.environ.get("REQUEST_METHOD") == "LOCK":
            # A LOCK on an unmapped URL makes an empty file (RFC 4918 7.3); a PUT writes its body instead.
            who = caller(self.environ)
            resource.version = call_store(
                self.environ,
                file_write,
                tenant=who.tenant,
                path=resource.store_path,
                stream=IterableStream(()),
                content_length=0,
                acting_user=who.user,
            )
        return resource

    def create_collection(self, name: str) -> None:
        self._new_name_check(name)
        who = caller(self.environ)
        call_store(
            self.environ, folder_create, tenant=who.tenant, path=join_path([*self.names, name]), acting_user=who.user
        )


def live_resource(path: str, environ: dict[str, Any], version: NodeVersion) -> LiveFile | LiveFolder:
    if version.kind == Node.Kind.FOLDER:
        return LiveFolder(path, environ, version)
    return LiveFile(path, environ, version)


class WorkspacesRoot(DAVCollection):
    """``/dav/``: the workspace the credentials open, as one folder named by its slug."""

    def get_member_names(self) -> list[str]:
        return [caller(self.environ).tenant.slug]

    def prevent_locking(self) -> bool:
        return True  # a fixed folder above the workspace: no lock or property of a tenant's is kept for it

    def get_member(self, name: str) -> Any:
        return self.provider.get_resource_inst(util.join_uri(self.path, name), self.environ)

    def create_collection(self, name: str) -> None:
        raise refuse(HTTP_FORBIDDEN, "workspaces_fixed")

    def create_empty_resource(self, name: str) -> None:
        raise refuse(HTTP_FORBIDDEN, "workspaces_fixed")


def resolved_version(environ: dict[str, Any], tenant: Any, names: list[str]) -> NodeVersion | None:
    """The live version at ``names``, looked up once per request (every prefix
    of the path is kept too: the parent's lookup comes next)."""
    known: dict[tuple[str, ...], NodeVersion | None] = environ.setdefault(RESOLVED_KEY, {})
    key = tuple(names)
    if key in known:
        return known[key]
    try:
        with store_refusals():
            chain = selectors.resolve(tenant=tenant, names=names)
    except DAVError as exc:
        if exc.value not in (400, 404):
            raise
        known[key] = None  # a name the store would refuse is not there either
        return None
    for depth in range(len(names) + 1):
        known[key[:depth]] = chain[depth]
    return chain[-1]
