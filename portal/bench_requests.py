"""Single small requests through the real web server (issue 14, part 1):
``put_4k_p50_ms`` and ``get_small_p50_ms`` of ``bench_store``.

gunicorn is started with ``gunicorn.conf.py`` on the benchmark's own databases
and data folder, as ``make run`` starts it (bin/run-embedded), on a free
loopback port; the requests go one after another on one kept-alive
connection, so each figure is what a sync client that reuses its connection
waits: the server's fixed cost (routing, authentication, middleware, the
queries) plus the store's work (a PUT hashes, writes and fsyncs both copies
before its row commits).
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.conf import settings

from portal.benchmarks import median

SERVER_START_SECONDS = 60
SMALL_FILE_BYTES = 4096


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def gunicorn_server(*, log_path: Path) -> Iterator[int]:
    """gunicorn with gunicorn.conf.py on this process's settings and
    environment (so its databases and data folder); yields its port."""
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings.SETTINGS_MODULE,
        "HUBPORT_DATA_DIR": str(settings.DATA_DIR),
        "HUBPORT_BIND": f"127.0.0.1:{port}",
    }
    gunicorn = Path(sys.executable).parent / "gunicorn"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own arguments
            [str(gunicorn), "-c", "gunicorn.conf.py", "portal.wsgi:application"],
            cwd=settings.BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while not _answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start; its log is {log_path}")
            time.sleep(0.2)  # polling a process that is starting
        yield port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def _answers(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", "/api/v1/status/")
        status = connection.getresponse().status
        connection.close()
    except OSError:
        return False
    return status < 500


def small_request_figures(*, token: str, work: Path, rounds: int = 200) -> dict[str, float | int]:
    """``rounds`` uploads of a new 4 KiB file (distinct bytes each, so every
    one writes and fsyncs a new blob in both facilities), then ``rounds``
    downloads of one of them, on one kept-alive connection: the medians in
    milliseconds, request sent to response read."""
    headers = {"Authorization": f"Bearer {token}"}
    put_samples: list[float] = []
    get_samples: list[float] = []
    with gunicorn_server(log_path=work / "gunicorn.log") as port:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        # The first requests of a worker thread open its database connections
        # and warm its imports: not counted.
        for n in range(-5, rounds):
            body = os.urandom(SMALL_FILE_BYTES)
            started = time.perf_counter()
            connection.request(
                "PUT",
                "/api/v1/files/content?path=" + quote(f"/small/f{n + 5:06d}.bin"),
                body=body,
                headers={**headers, "Content-Type": "application/octet-stream"},
            )
            response = connection.getresponse()
            response.read()
            elapsed = (time.perf_counter() - started) * 1000
            if response.status != 201:
                raise RuntimeError(f"small upload answered {response.status}")
            if n >= 0:
                put_samples.append(elapsed)
        for n in range(-5, rounds):
            started = time.perf_counter()
            connection.request("GET", "/api/v1/files/content?path=/small/f000000.bin", headers=headers)
            response = connection.getresponse()
            content = response.read()
            elapsed = (time.perf_counter() - started) * 1000
            if response.status != 200 or len(content) != SMALL_FILE_BYTES:
                raise RuntimeError(f"small download answered {response.status}")
            if n >= 0:
                get_samples.append(elapsed)
        connection.close()
    return {
        "put_4k_p50_ms": round(median(put_samples), 2),
        "get_small_p50_ms": round(median(get_samples), 2),
        "small_requests": rounds,
    }
