"""The WSGI edge of /dav/: portal.wsgi sends every request under /dav/ here,
around Django's URL resolution, because WebDAV's methods, bodies and
Basic challenges are not Django views' (and CSRF has no place in them).

Around WsgiDAV this layer does what Django's middleware does for the pages:
Django's request signals (database connections checked and closed as for a
view), the credentials (``portal.dav.auth``), maintenance mode by impact (as
``portal.middleware.maintenance``: unavailable refuses everything, read-only
every write), and WsgiDAV's own loggers silenced: they quote paths, and a
file name is never in a log line. The access line is gunicorn's, with the path
after ``/dav/<slug>/`` withheld by ``portal.log_filters``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.core import signals
from django.utils import timezone
from wsgidav.error_printer import ErrorPrinter
from wsgidav.request_resolver import RequestResolver
from wsgidav.wsgidav_app import WsgiDAVApp

from hubs.models import MaintenanceWindow
from hubs.selectors import windows_running
from portal.dav.auth import DavCaller, dav_authenticate
from portal.dav.errors import CREATED_KEY
from portal.dav.permissions import dav_write_refusal
from portal.dav.state import HubLockManager, request_begins, request_ends

MOUNT_PATH = "/dav"
WRITE_METHODS = frozenset({"PUT", "DELETE", "MKCOL", "COPY", "MOVE", "PROPPATCH", "LOCK", "UNLOCK", "POST", "PATCH"})
REALM = "Hubport WebDAV"
logger = logging.getLogger("portal.dav")

StartResponse = Callable[..., Any]


class _WithheldWsgiDavLines(logging.Handler):
    """WsgiDAV's records, of ERROR and above, passed on as their level and exception class only."""

    def emit(self, record: logging.LogRecord) -> None:
        kind = type(record.exc_info[1]).__name__ if record.exc_info and record.exc_info[1] else "no exception"
        logger.log(record.levelno, "WebDAV library reported an error (%s); details withheld", kind)


def _silence_wsgidav() -> None:
    library = logging.getLogger("wsgidav")
    library.handlers = [_WithheldWsgiDavLines()]
    library.propagate = False
    library.setLevel(logging.ERROR)


def _config() -> dict[str, Any]:
    return {
        "mount_path": MOUNT_PATH,
        "provider_mapping": {"/": {"class": "portal.dav.provider.HubportProvider"}},
        "lock_storage": {"class": "portal.dav.state.HubLockStorage"},
        "property_manager": {"class": "portal.dav.state.HubPropertyManager"},
        # Credentials are checked before WsgiDAV (below); no directory pages for browsers.
        "middleware_stack": [ErrorPrinter, RequestResolver],
        "http_authenticator": {"domain_controller": None, "accept_basic": True, "accept_digest": False},
        "simple_dc": {"user_mapping": {"*": True}},
        "dir_browser": {"enable": False},
        "logging": {"enable": False},
        "verbose": 1,
        # A 1 GiB PUT streams through in blocks of this size.
        "block_size": 1024 * 1024,
    }


def _plain(start_response: StartResponse, status: str, text: str, headers: list[tuple[str, str]]) -> list[bytes]:
    body = (text + "\n").encode("utf-8")
    start_response(
        status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))), *headers]
    )
    return [body]


# PEP 3333 leaves these to the server; WsgiDAV sets Connection: close itself at times.
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers"})


def _fixed_headers(environ: dict[str, Any], start_response: StartResponse) -> StartResponse:
    """Three corrections to WsgiDAV 4.3.3's answers: it answers a LOCK with
    ``Content-Type: application`` (clients, neon so litmus, then find no
    activelock in the body: it is XML); it may add ``Connection``, a
    hop-by-hop header an application must not set (wsgiref refuses it); and a
    MOVE or COPY its provider made whole answers 204 even where it made a new
    resource, which RFC 4918 (9.9.4) answers with 201."""

    def fixed(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if status.startswith("204") and environ.get(CREATED_KEY):
            status = "201 Created"
        headers = [
            (name, "application/xml; charset=utf-8")
            if name.lower() == "content-type" and value.startswith("application;")
            else (name, value)
            for name, value in headers
            if name.lower() not in HOP_BY_HOP
        ]
        return start_response(status, headers, exc_info) if exc_info is not None else start_response(status, headers)

    return fixed


class _Finished:
    """The response's iterable; Django's request_finished is sent when the server closes it."""

    def __init__(self, inner: Iterable[bytes], sender: type) -> None:
        self.inner = inner
        self.sender = sender

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.inner)

    def close(self) -> None:
        try:
            close = getattr(self.inner, "close", None)
            if close is not None:
                close()
        finally:
            request_ends()
            signals.request_finished.send(sender=self.sender)


class DavApplication:
    def __init__(self) -> None:
        _silence_wsgidav()  # first: the app logs its configuration as it starts
        self.dav = WsgiDAVApp(_config())
        # WsgiDAV makes its own LockManager; ours takes each lock in one step across workers.
        locks = HubLockManager(self.dav.lock_manager.storage)
        self.dav.lock_manager = locks
        for provider in self.dav.provider_map.values():
            provider.set_lock_manager(locks)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        signals.request_started.send(sender=self.__class__, environ=environ)
        request_begins(environ)
        try:
            response = self._respond(environ, start_response)
        except BaseException:
            request_ends()
            signals.request_finished.send(sender=self.__class__)
            raise
        return _Finished(response, self.__class__)

    def _respond(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        outcome = dav_authenticate(environ)
        if not isinstance(outcome, DavCaller):
            headers = [("WWW-Authenticate", f'Basic realm="{REALM}", charset="UTF-8"')]
            if outcome.retry_after:
                headers.append(("Retry-After", str(outcome.retry_after)))
            status = {401: "401 Unauthorized", 429: "429 Too Many Requests"}[outcome.status]
            return _plain(start_response, status, outcome.detail, headers)
        if environ.get("REQUEST_METHOD", "") in WRITE_METHODS:
            role_refusal = dav_write_refusal(outcome)
            if role_refusal is not None:
                return _plain(start_response, "403 Forbidden", role_refusal, [])
        refusal = self._maintenance(environ, outcome)
        if refusal is not None:
            return _plain(start_response, "503 Service Unavailable", refusal, [])
        environ["hubport.dav"] = outcome
        # Locks belong to a person (their id: a lock table never holds an email).
        environ["wsgidav.auth.user_name"] = f"user-{outcome.user.pk}"
        # WsgiDAV expects its mount point in SCRIPT_NAME, as a server mounting it there would set it.
        environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + MOUNT_PATH
        environ["PATH_INFO"] = environ["PATH_INFO"][len(MOUNT_PATH) :] or "/"
        return self.dav(environ, _fixed_headers(environ, start_response))

    @staticmethod
    def _maintenance(environ: dict[str, Any], who: DavCaller) -> str | None:
        running = list(windows_running(now=timezone.now()).prefetch_related("hubs"))
        hub_code = who.tenant.hub_id
        affecting = [window for window in running if any(hub.code == hub_code for hub in window.hubs.all())]
        for window in affecting:
            if window.impact == MaintenanceWindow.Impact.UNAVAILABLE:
                return "Your hub is in maintenance; WebDAV is back when the window ends."
            if (
                window.impact == MaintenanceWindow.Impact.READ_ONLY
                and environ.get("REQUEST_METHOD", "") in WRITE_METHODS
            ):
                return "Your hub is in read-only maintenance; changes are refused until the window ends."
        return None


def dispatching(django_application: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """The project's WSGI application: /dav and everything under it to WebDAV, the rest to Django."""
    dav: DavApplication | None = None

    def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        nonlocal dav
        path = environ.get("PATH_INFO", "")
        if path == MOUNT_PATH or path.startswith(MOUNT_PATH + "/"):
            if dav is None:
                dav = DavApplication()
            return dav(environ, start_response)
        return django_application(environ, start_response)

    return application
