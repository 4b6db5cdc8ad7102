"""Locks and dead properties in the tenant's hub database, where every gunicorn
worker and thread sees them: WsgiDAV's lock storage and property manager
interfaces over ``snapshots.services.dav_state`` and its selectors. A client's
paths are the tenant's data; they never reach the control database or the
shared cache.

WsgiDAV keys both by URL path (``/<slug>/<names>``); the hub keeps the path
below the workspace (``/`` is the workspace itself). Within one request the
tenant's locks are read once, and a folder's members' properties once (a
PROPFIND of 10,000 entries asks for every entry's), until the request writes.
The lock storage's calls carry no request: the request being served on this
thread is kept here by the WSGI edge (``request_begins``).
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any

from django.utils import timezone
from wsgidav.dav_error import HTTP_FORBIDDEN, DAVError
from wsgidav.lock_man.lock_manager import LockManager, generate_lock_token, normalize_lock_root, validate_lock
from wsgidav.lock_man.lock_storage import LockStorageDict
from wsgidav.prop_man.property_manager import PropertyManager

from snapshots.models import DavLock, DavProperty
from snapshots.selectors.dav_state import dav_locks, dav_parent, dav_properties_in_folder
from snapshots.services.dav_state import (
    dav_lock_create,
    dav_lock_refresh,
    dav_locks_delete,
    dav_locks_serialized,
    dav_properties_copy,
    dav_properties_move,
    dav_properties_remove,
    dav_property_remove,
    dav_property_set,
)

LOCKS_KEY = "hubport.dav.locks"
PROPERTIES_KEY = "hubport.dav.properties"
NAME_MAX: int = DavProperty._meta.get_field("name").max_length or 255

_requests = threading.local()


def request_begins(environ: dict[str, Any]) -> None:
    """The request this thread serves from now on (its caller is set once authenticated)."""
    _requests.environ = environ


def request_ends() -> None:
    _requests.environ = None


def state_changed(environ: dict[str, Any]) -> None:
    """The store changed locks or properties under this request (a move or a
    delete carries them): what the request read of them is read again."""
    environ.pop(LOCKS_KEY, None)
    environ.pop(PROPERTIES_KEY, None)


def _environ() -> dict[str, Any] | None:
    return getattr(_requests, "environ", None)


def hub_path(environ: dict[str, Any], url: str) -> str | None:
    """WsgiDAV's URL path as the hub keeps it: below the caller's workspace, or
    None for a path outside it (``/`` above the workspaces, another slug)."""
    url = normalize_lock_root(re.sub("/+", "/", url))  # WsgiDAV's COPY may join with two slashes
    workspace = "/" + environ["hubport.dav"].tenant.slug
    if url == workspace:
        return "/"
    if url.startswith(workspace + "/"):
        return url[len(workspace) :]
    return None


def _url(environ: dict[str, Any], path: str) -> str:
    workspace = "/" + environ["hubport.dav"].tenant.slug
    return workspace if path == "/" else workspace + path


def _lock_dict(environ: dict[str, Any], row: DavLock) -> dict[str, Any]:
    return {
        "token": row.token,
        "root": _url(environ, row.path),
        "depth": row.depth,
        "scope": row.scope,
        "type": row.lock_type,
        "owner": row.owner.encode("utf-8"),  # WsgiDAV's locks carry the owner as XML bytes
        "principal": row.principal,
        "timeout": row.timeout_seconds,
        "expire": row.expires_at.timestamp(),
    }


def _text(value: bytes | str) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


class HubLockStorage:
    """WsgiDAV's lock storage (the interface of ``LockStorageDict``) on the hub's DavLock rows."""

    LOCK_TIME_OUT_DEFAULT = LockStorageDict.LOCK_TIME_OUT_DEFAULT
    LOCK_TIME_OUT_MAX = LockStorageDict.LOCK_TIME_OUT_MAX

    def __repr__(self) -> str:
        return self.__class__.__name__

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def cleanup(self) -> None:
        pass  # reads drop expired locks; snapshots.tasks.sweep_temporaries_task removes them hub by hub

    def clear(self) -> None:
        environ = _environ()
        if environ is not None:
            self._forget(environ)

    @staticmethod
    def _forget(environ: dict[str, Any]) -> None:
        environ.pop(LOCKS_KEY, None)

    def _locks(self) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """The tenant's live locks, read once per request; expired ones are deleted when seen."""
        environ = _environ()
        if environ is None or "hubport.dav" not in environ:
            return None, []
        known = environ.get(LOCKS_KEY)
        if known is None:
            tenant = environ["hubport.dav"].tenant
            now = timezone.now()
            rows = dav_locks(tenant=tenant)
            expired = [row.token for row in rows if row.expires_at < now]
            if expired:
                dav_locks_delete(tenant=tenant, tokens=expired)
            known = environ[LOCKS_KEY] = [_lock_dict(environ, row) for row in rows if row.expires_at >= now]
        return environ, known

    def get(self, token: str) -> dict[str, Any] | None:
        _, locks = self._locks()
        found = next((lock for lock in locks if lock["token"] == token), None)
        if found is not None and found["expire"] < time.time():
            self.delete(token)
            return None
        return found

    def create(self, path: str, lock: dict[str, Any]) -> dict[str, Any]:
        environ = _environ()
        assert environ is not None and lock.get("token") is None
        root = normalize_lock_root(path)
        where = hub_path(environ, root)
        if where is None:
            raise DAVError(HTTP_FORBIDDEN)
        timeout = float(lock.get("timeout") or self.LOCK_TIME_OUT_DEFAULT)
        if timeout < 0 or timeout > self.LOCK_TIME_OUT_MAX:
            timeout = self.LOCK_TIME_OUT_MAX
        lock.update(root=root, timeout=timeout, expire=time.time() + timeout)
        validate_lock(lock)
        row = dav_lock_create(
            tenant=environ["hubport.dav"].tenant,
            token=generate_lock_token(),
            path=where,
            depth=lock["depth"],
            scope=lock["scope"],
            lock_type=lock["type"],
            owner=_text(lock.get("owner") or b""),
            principal=lock["principal"],
            timeout_seconds=timeout,
        )
        self._forget(environ)
        lock.update(token=row.token, expire=row.expires_at.timestamp())
        return lock

    def refresh(self, token: str, *, timeout: float) -> dict[str, Any]:
        environ = _environ()
        assert environ is not None
        if timeout < 0 or timeout > self.LOCK_TIME_OUT_MAX:
            timeout = self.LOCK_TIME_OUT_MAX
        row = dav_lock_refresh(tenant=environ["hubport.dav"].tenant, token=token, timeout_seconds=timeout)
        self._forget(environ)
        if row is None:
            raise ValueError("Lock must exist")
        return _lock_dict(environ, row)

    def delete(self, token: str) -> bool:
        environ = _environ()
        if environ is None or "hubport.dav" not in environ:
            return False
        removed = dav_locks_delete(tenant=environ["hubport.dav"].tenant, tokens=[token])
        self._forget(environ)
        return removed > 0

    def get_lock_list(self, path: str, *, include_root: bool, include_children: bool, token_only: bool) -> list[Any]:
        path = normalize_lock_root(path)
        _, locks = self._locks()
        below = "/" if path == "/" else path + "/"
        found = [
            lock
            for lock in locks
            if (include_root and lock["root"] == path) or (include_children and lock["root"].startswith(below))
        ]
        return [lock["token"] for lock in found] if token_only else found


class HubLockManager(LockManager):
    """WsgiDAV's lock manager, taking a lock under the tenant's clock row: the
    check for conflicting locks and the new lock are one step across workers."""

    def acquire(self, **kwargs: Any) -> Any:
        environ = _environ()
        if environ is None or "hubport.dav" not in environ:
            return super().acquire(**kwargs)
        with dav_locks_serialized(tenant=environ["hubport.dav"].tenant):
            environ.pop(LOCKS_KEY, None)  # read again inside the step
            return super().acquire(**kwargs)


class HubPropertyManager(PropertyManager):
    """WsgiDAV's dead-property store on the hub's DavProperty rows."""

    def __init__(self) -> None:
        super().__init__()
        self._loaded = True

    def __repr__(self) -> str:
        return self.__class__.__name__

    def _lazy_open(self) -> None:
        pass

    def _close(self) -> None:
        pass

    @staticmethod
    def _where(norm_url: str, environ: dict[str, Any] | None) -> tuple[Any, str] | None:
        if environ is None or "hubport.dav" not in environ:
            return None
        path = hub_path(environ, norm_url)
        return None if path is None else (environ["hubport.dav"].tenant, path)

    def _of(self, norm_url: str, environ: dict[str, Any] | None) -> dict[str, str]:
        where = self._where(norm_url, environ)
        if where is None:
            return {}
        assert environ is not None
        tenant, path = where
        folders: dict[str, dict[str, dict[str, str]]] = environ.setdefault(PROPERTIES_KEY, {})
        folder = dav_parent(path)
        if folder not in folders:
            folders[folder] = dav_properties_in_folder(tenant=tenant, folder=folder)
        return folders[folder].get(path, {})

    @staticmethod
    def _forget(environ: dict[str, Any] | None) -> None:
        if environ is not None:
            environ.pop(PROPERTIES_KEY, None)

    def get_properties(self, norm_url: str, environ: dict[str, Any] | None = None) -> list[str]:
        return list(self._of(norm_url, environ))

    def get_property(self, norm_url: str, name: str, environ: dict[str, Any] | None = None) -> str | None:
        return self._of(norm_url, environ).get(name)

    def write_property(
        self,
        norm_url: str,
        name: str,
        property_value: bytes | str,
        dry_run: bool = False,
        environ: dict[str, Any] | None = None,
    ) -> None:
        where = self._where(norm_url, environ)
        if where is None or len(name) > NAME_MAX:
            raise DAVError(HTTP_FORBIDDEN)
        if dry_run:
            return
        dav_property_set(tenant=where[0], path=where[1], name=name, value=_text(property_value))
        self._forget(environ)

    def remove_property(
        self, norm_url: str, name: str, dry_run: bool = False, environ: dict[str, Any] | None = None
    ) -> None:
        where = self._where(norm_url, environ)
        if where is None or dry_run:
            return
        dav_property_remove(tenant=where[0], path=where[1], name=name)
        self._forget(environ)

    def remove_properties(self, norm_url: str, environ: dict[str, Any] | None = None) -> None:
        """The resource is gone, and with it its descendants' properties."""
        where = self._where(norm_url, environ)
        if where is None:
            return
        dav_properties_remove(tenant=where[0], path=where[1])
        self._forget(environ)

    def copy_properties(
        self, src_url: str, dest_url: str, environ: dict[str, Any] | None = None, *, with_children: bool = False
    ) -> None:
        source, target = self._where(src_url, environ), self._where(dest_url, environ)
        if source is None or target is None:
            return
        dav_properties_copy(tenant=source[0], from_path=source[1], to_path=target[1], with_children=with_children)
        self._forget(environ)

    def move_properties(
        self, src_url: str, dest_url: str, with_children: bool, environ: dict[str, Any] | None = None
    ) -> None:
        source, target = self._where(src_url, environ), self._where(dest_url, environ)
        if source is None or target is None:
            return
        dav_properties_move(tenant=source[0], from_path=source[1], to_path=target[1], with_children=with_children)
        self._forget(environ)
