"""WebDAV tests: a real gunicorn (gunicorn.conf.py, portal.wsgi) on the test's
databases, facility folders and cache, for the clients (litmus, rclone); and
the WSGI application called in-process for the refusals."""

from __future__ import annotations

import base64
import io
import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.core import signals
from django.db import close_old_connections

from portal.testing.servers import live_server
from portal.tokens import api_token_create

NAME_MARK = "Board-minutes-7d2f"  # in every file name the tests make: never in a log line


@dataclass
class DavServer:
    base: str
    port: int
    log_path: Path
    process: subprocess.Popen[bytes]
    cache_url: str


@dataclass
class DavAccount:
    tenant: Any
    user: Any
    email: str
    password: str
    dav_token: str
    api_token: str
    extra: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
def dav_account(make_tenant) -> DavAccount:
    made = make_tenant()
    _, dav_token = api_token_create(user=made.user, tenant=made.tenant, name="rclone", scope="dav")
    _, api_token = api_token_create(user=made.user, tenant=made.tenant, name="script", scope="api")
    return DavAccount(
        tenant=made.tenant,
        user=made.user,
        email=made.user.email,
        password=made.user.raw_password,
        dav_token=dav_token,
        api_token=api_token,
    )


@pytest.fixture
def dav_server(transactional_db, tmp_path) -> Iterator[DavServer]:
    """gunicorn with two workers (locks and properties must be shared between them)."""
    data_dir = tmp_path / "data"
    log_path = tmp_path / "gunicorn.log"
    # The test settings' in-memory cache is one per process; a file cache the
    # workers share, which the residency test reads back.
    extra = {} if os.environ.get("CACHE_URL") else {"CACHE_URL": f"filecache://{data_dir / 'cache'}"}
    with live_server(data_dir, log_path, workers=2, extra_env=extra) as web:
        cache_url = web.env["CACHE_URL"]
        yield DavServer(f"{web.base}/dav", web.port, log_path, process=web.process, cache_url=cache_url)
    log_text = log_path.read_text(errors="replace")
    assert NAME_MARK not in log_text, "a file name reached a log line"


@dataclass
class DavAnswer:
    status: int
    headers: dict[str, str]
    body: bytes


@pytest.fixture
def dav_call(db) -> Iterator[Callable[..., DavAnswer]]:
    """Call the project's WSGI application in this process, as gunicorn would.

    Django's request signals close the database connection at the end of a
    request; inside a test's transaction that would end the test's data, so
    (as Django's test client does) close_old_connections is held off meanwhile.
    """
    from portal.wsgi import application

    def call(
        method: str, path: str, *, body: bytes = b"", auth: tuple[str, str] | None = None, **headers: str
    ) -> DavAnswer:
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
            "SERVER_NAME": "testserver",
            "HTTP_HOST": "testserver",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": io.StringIO(),
            "wsgi.url_scheme": "http",
            "wsgi.version": (1, 0),
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            "CONTENT_LENGTH": str(len(body)),
        }
        if auth is not None:
            environ["HTTP_AUTHORIZATION"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        for name, value in headers.items():
            environ["HTTP_" + name.upper()] = value
        answer: dict[str, Any] = {}

        def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            answer["status"] = int(status.split()[0])
            answer["headers"] = {name.lower(): value for name, value in response_headers}

        # Held off for this request only, as Django's test client does around each of its own.
        signals.request_started.disconnect(close_old_connections)
        signals.request_finished.disconnect(close_old_connections)
        try:
            chunks = application(environ, start_response)
            try:
                content = b"".join(chunks)
            finally:
                getattr(chunks, "close", lambda: None)()
        finally:
            signals.request_started.connect(close_old_connections)
            signals.request_finished.connect(close_old_connections)
        return DavAnswer(answer["status"], answer["headers"], content)

    yield call
