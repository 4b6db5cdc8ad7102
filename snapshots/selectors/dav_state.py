"""Reads of WebDAV's state in the hub: locks and dead properties (the writes
are ``snapshots.services.dav_state``). Paths are WebDAV URL paths below the
workspace (``/`` is the workspace itself); see the models."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from snapshots.models import DavLock, DavProperty

if TYPE_CHECKING:
    from hubs.models import Tenant


def dav_path_key(path: str) -> str:
    return hashlib.sha256(path.encode("utf-8")).hexdigest()


def dav_parent(path: str) -> str:
    """``/a/b`` -> ``/a``, ``/a`` -> ``/``; the workspace's own parent is ``""``."""
    if path == "/":
        return ""
    return path.rsplit("/", 1)[0] or "/"


def dav_locks(*, tenant: Tenant) -> list[DavLock]:
    """Every lock the tenant's clients hold, expired ones included (a few: a
    lock is held for an edit); the caller drops and deletes the expired."""
    return list(DavLock.objects.for_tenant(tenant).order_by("pk"))


def dav_properties_in_folder(*, tenant: Tenant, folder: str) -> dict[str, dict[str, str]]:
    """Dead properties of every member of ``folder``, by path then name: one query
    for a whole PROPFIND of depth 1."""
    found: dict[str, dict[str, str]] = {}
    rows = DavProperty.objects.for_tenant(tenant).filter(folder_key=dav_path_key(folder))
    for path, name, value in rows.values_list("path", "name", "value"):
        found.setdefault(path, {})[name] = value
    return found
