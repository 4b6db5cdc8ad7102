"""The one check every WebDAV write passes: the role table every edge asks
(``hubs.roles``). A read-only member browses, downloads and reads .snapshots;
every change (PUT, MKCOL, DELETE, MOVE, COPY, PROPPATCH, LOCK, UNLOCK) is
refused with 403 ``role_forbidden``: by method before WsgiDAV sees the request
(``portal.dav.app``), and again by each resource's write."""

from __future__ import annotations

from typing import Any

from hubs.errors import RoleForbidden
from hubs.roles import Action, role_check
from portal.dav.errors import store_refusals


def dav_write_refusal(who: Any) -> str | None:
    """Why ``who`` may not change files here, or None when they may."""
    try:
        role_check(who.membership.role, Action.CHANGE_FILES)
    except RoleForbidden as exc:
        return exc.detail
    return None


def dav_write_check(who: Any) -> None:
    """Refuse a write by a member whose role may not change files (a 403 DAVError)."""
    with store_refusals():
        role_check(who.membership.role, Action.CHANGE_FILES)
