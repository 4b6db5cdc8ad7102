"""The one check every WebDAV write passes: who may change the workspace's files."""

from __future__ import annotations

from typing import Any


def dav_write_check(who: Any) -> None:
    """Refuse a write by a member who may only read (raises a 403 DAVError).

    Every role writes today; when read-only members exist, their check goes
    here and every write over WebDAV follows it.
    """
    return None
