"""How many blobs of a hub still miss one of its facilities, asked by hubs
(failover: the recovery point, and whether failing back may start) and
answered by the store, which registers the answer in its AppConfig.ready
(hubs never imports the store)."""

from __future__ import annotations

from collections.abc import Callable

# (blobs, bytes) still waiting for their second facility.
BacklogSource = Callable[[str], tuple[int, int]]

_source: list[BacklogSource] = []


def storage_backlog_register(source: BacklogSource) -> None:
    _source[:] = [source]


def storage_backlog(hub_code: str) -> tuple[int, int] | None:
    """None when nothing answers (the store is not installed)."""
    if not _source:
        return None
    return _source[0](hub_code)
