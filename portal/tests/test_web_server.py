"""The real web server (gunicorn with gunicorn.conf.py, as `make run` and
production start it) on a migrated data folder of its own: request smuggling
shapes refused, DEBUG off, the Content-Security-Policy on its pages, and a
whole flow that leaves a marker file's name in no log line (issue 10, "A real
web server, everywhere")."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest

REPO = Path(__file__).resolve().parent.parent.parent
VENV_BIN = REPO / ".venv" / "bin"
START_DEADLINE_S = 45
MARKER = "Zebra-merger-plan-7f3a"

pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.skipif(not (VENV_BIN / "gunicorn").exists(), reason="runs gunicorn from .venv (make test makes it)"),
]


@dataclass
class Server:
    port: int
    token: str
    log_path: Path
    process: subprocess.Popen[bytes]

    def request(self, method: str, url: str, body: bytes | None = None, **headers: str) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, url, body=body, headers={"Authorization": f"Bearer {self.token}", **headers})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def json(self, method: str, url: str, payload: object) -> tuple[int, bytes]:
        return self.request(method, url, json.dumps(payload).encode(), **{"Content-Type": "application/json"})

    def raw(self, data: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(data_dir: Path) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "HUB_", "DATABASE_", "CELERY_", "CACHE_", "EMAIL_", "HUBPORT_"))
    }
    env.update(DJANGO_SETTINGS_MODULE="portal.settings.embedded", HUBPORT_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1")
    return env


def _manage(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [str(VENV_BIN / "python"), "manage.py", *args], cwd=REPO, env=env, check=True, timeout=120, capture_output=True
    ).stdout.decode()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("web-server")
    data_dir, log_path, port = base / "data", base / "server.log", _free_port()
    env = _env(data_dir)
    _manage(env, "migrate_all", "--verbosity", "0")
    _manage(env, "collectstatic", "--noinput", "--verbosity", "0")
    owner = "owner@web-server.test"
    _manage(env, "create_tenant", "--name", "Web Server Ltd", "--hub", "uk", "--owner", owner, "--password", "x" * 16)
    token = _manage(env, "create_api_token", owner).strip().split()[-1]
    env["HUBPORT_BIND"] = f"127.0.0.1:{port}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", "portal.wsgi:application"],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    running = Server(port=port, token=token, log_path=log_path, process=process)
    try:
        deadline = time.monotonic() + START_DEADLINE_S
        while True:
            try:
                if running.request("GET", "/api/v1/me/")[0] == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None, log_path.read_text(errors="replace")
            assert time.monotonic() < deadline, log_path.read_text(errors="replace")
            time.sleep(0.25)  # polling a process that is starting, not synchronising threads
        yield running
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def _status_line(answer: bytes) -> bytes:
    return answer.split(b"\r\n", 1)[0]


def test_two_content_lengths_are_refused(server: Server) -> None:
    answer = server.raw(
        b"POST /api/v1/files/folders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 2\r\nContent-Length: 40\r\n\r\n{}"
    )
    assert _status_line(answer).startswith(b"HTTP/1.1 400"), answer[:200]


def test_content_length_with_chunked_encoding_is_refused(server: Server) -> None:
    answer = server.raw(
        b"POST /api/v1/files/folders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
    )
    assert _status_line(answer).startswith(b"HTTP/1.1 400"), answer[:200]


def test_debug_is_off_so_an_unknown_page_lists_no_url_patterns(server: Server) -> None:
    status, body = server.request("GET", "/no-such-page/")
    assert status == 404
    assert b"URLconf" not in body and b"admin/" not in body


def test_a_whole_flow_leaves_the_marker_name_in_no_log_line(server: Server) -> None:
    folder = f"/{MARKER} folder"
    name = f"{folder}/{MARKER}.txt"
    assert server.json("POST", "/api/v1/files/folders", {"path": folder})[0] == 201
    status, _ = server.request(
        "PUT",
        f"/api/v1/files/content?{urlencode({'path': name})}",
        b"quarterly figures",
        **{"Content-Type": "application/octet-stream"},
    )
    assert status in (200, 201)
    renamed = f"{folder}/{MARKER} v2.txt"
    assert server.json("POST", "/api/v1/files/move", {"from": name, "to": renamed})[0] == 200
    assert server.request("GET", f"/api/v1/files/?{urlencode({'path': folder})}")[0] == 200
    assert server.request("GET", f"/api/v1/files/content?{urlencode({'path': renamed})}")[0] == 200
    assert server.request("DELETE", f"/api/v1/files/?{urlencode({'path': renamed})}")[0] in (200, 204)
    assert server.json("POST", "/api/v1/trash/restore", {"path": renamed})[0] == 200
    # Refusals and pages quote paths too: a name taken, an unknown path, a page URL.
    assert server.json("POST", "/api/v1/files/folders", {"path": folder})[0] == 409
    assert server.request("GET", f"/api/v1/files/content?{urlencode({'path': folder + '/gone.txt'})}")[0] == 404
    server.request("GET", f"/files/{quote(MARKER)}%20folder/")
    server.request("GET", f"/files/{MARKER}-missing/")
    log = server.log_path.read_text(errors="replace")
    assert '"PUT /api/v1/files/content?path=[withheld]' in log  # the access log is on, and filtered
    hits = [line for line in log.splitlines() if MARKER in line or quote(MARKER) in line]
    assert hits == []


def test_pages_carry_the_content_security_policy_and_their_stylesheets_are_served(server: Server) -> None:
    """Through gunicorn, with the manifest static storage: the policy header on a
    page and on the API docs, and every stylesheet and script they link answers."""
    for url, images in (("/login/", "img-src 'self'"), ("/api/docs/", "img-src 'self' data:")):
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        try:
            connection.request("GET", url)
            response = connection.getresponse()
            policy, body = response.getheader("Content-Security-Policy") or "", response.read().decode()
        finally:
            connection.close()
        assert response.status == 200, url
        assert "style-src 'self'" in policy and "script-src 'self'" in policy and images in policy, policy
        assert "unsafe" not in policy, policy
        for asset in re.findall(r'(?:href|src)="(/static/[^"]+)"', body):
            assert server.request("GET", asset)[0] == 200, asset


def test_a_request_line_over_the_limit_is_a_414_problem_that_quotes_nothing(server: Server) -> None:
    # gunicorn refuses it before Django sees it; the API documents 414 as a problem, so it is one.
    path = f"/{MARKER}-" + "a" * 9000
    answer = server.raw(f"GET /api/v1/files/content?path={path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    head, _, body = answer.partition(b"\r\n\r\n")
    assert _status_line(answer).startswith(b"HTTP/1.1 414"), answer[:200]
    assert b"Content-Type: application/problem+json" in head
    found = json.loads(body)
    assert (found["type"], found["status"]) == ("urn:hubport:problem:request_line_too_long", 414)
    assert MARKER.encode() not in answer


def test_too_many_header_fields_is_a_431_problem(server: Server) -> None:
    fields = "".join(f"X-Filler-{n}: {n}\r\n" for n in range(150))
    answer = server.raw(f"GET /api/v1/me/ HTTP/1.1\r\nHost: 127.0.0.1\r\n{fields}\r\n".encode())
    head, _, body = answer.partition(b"\r\n\r\n")
    assert _status_line(answer).startswith(b"HTTP/1.1 431"), answer[:200]
    assert json.loads(body)["type"] == "urn:hubport:problem:header_fields_too_large"
