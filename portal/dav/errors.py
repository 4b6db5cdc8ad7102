"""Domain errors as WebDAV answers: the status is the one table's
(``portal.problems.STATUS_BY_CODE``), the body names only the code."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from wsgidav.dav_error import DAVError

from hubs.errors import DomainError
from portal.problems import status_for
from snapshots.services.dav_state import dav_locks_checked

T = TypeVar("T")
FORBIDDEN = 403


def refuse(status: int, code: str) -> DAVError:
    # WsgiDAV writes context_info into the error body, never into a log line here
    # (its loggers are silenced): a code, never a detail that names a file.
    return DAVError(status, context_info=code)


@contextmanager
def store_refusals() -> Iterator[None]:
    """A domain error raised by a service becomes the DAVError of its code."""
    try:
        yield
    except DomainError as exc:
        raise refuse(status_for(exc.code), exc.code) from None


# Where a request keeps the store lookups it made (path names to version, or None):
# WsgiDAV looks an item and its parent up several times in one request.
RESOLVED_KEY = "hubport.dav.resolved"
# Set by a MOVE or COPY the provider makes whole when its destination did not exist (201, not 204).
CREATED_KEY = "hubport.dav.created"


def call_store(environ: dict[str, Any], function: Callable[..., T], /, **kwargs: object) -> T:
    """A write through one of the store's services; the request's lookups are
    forgotten before and after it, so nothing read before a write is used after it."""
    environ.pop(RESOLVED_KEY, None)
    try:
        # WsgiDAV has checked the request's lock tokens: the store does not refuse its locks again.
        with store_refusals(), dav_locks_checked():
            return function(**kwargs)
    finally:
        environ.pop(RESOLVED_KEY, None)
