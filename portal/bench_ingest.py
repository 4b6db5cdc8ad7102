"""bench_store's bulk-upload figures: ``ingest_4k_files_per_s`` (many files of
4 KiB through POST /api/v1/files/bulk, tar batches over a loopback socket to
gunicorn started with gunicorn.conf.py, as ``make run`` does) and, in the same
run on the same disk, ``rsync_4k_files_per_s`` (``rsync -a`` of the same files
to a folder; left out when rsync is not installed)."""

from __future__ import annotations

import http.client
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.conf import settings

REPO = Path(__file__).resolve().parent.parent
FILE_BYTES = 4096
START_DEADLINE_S = 60
CLIENTS = 2


@contextmanager
def gunicorn_server() -> Iterator[str]:
    """gunicorn with gunicorn.conf.py on a free loopback port, with this
    process's settings and data folder; yields its address."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings.SETTINGS_MODULE, "HUBPORT_BIND": f"127.0.0.1:{port}"}
    gunicorn = Path(sys.executable).parent / "gunicorn"
    process = subprocess.Popen(  # noqa: S603 - our own arguments
        [str(gunicorn), "-c", "gunicorn.conf.py", "portal.wsgi:application"],
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + START_DEADLINE_S
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", "/api/v1/status/")
                connection.getresponse().read()
                connection.close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.25)  # polling a process that is starting
        yield f"127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def _tar_of(paths: list[Path], root: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for path in paths:
            info = tarfile.TarInfo(str(path.relative_to(root)))
            info.size = FILE_BYTES
            with open(path, "rb") as handle:
                archive.addfile(info, handle)
    return buffer.getvalue()


def _send(address: str, headers: dict[str, str], batches: list[list[Path]], source: Path) -> None:
    connection = http.client.HTTPConnection(address, timeout=600)
    for paths in batches:
        body = _tar_of(paths, source)
        connection.request(
            "POST",
            "/api/v1/files/bulk?path=" + quote("/ingest"),
            body=body,
            headers={**headers, "Content-Type": "application/x-tar", "Content-Length": str(len(body))},
        )
        response = connection.getresponse()
        answer = response.read()
        if response.status != 200 or b'"refused":0' not in answer.replace(b" ", b""):
            raise RuntimeError(f"bulk upload answered {response.status}: {answer[:300]!r}")
    connection.close()


def ingest_figures(*, headers: dict[str, str], work: Path, files: int, batch: int) -> dict[str, float | int]:
    """``files`` distinct files of 4 KiB in folders of 1,000, sent in tar
    batches of ``batch`` one after the other on one kept-alive connection;
    each batch's tar is built from the files on disk inside the timing, as a
    client would. Then ``rsync -a`` of the same tree."""
    source = work / "ingest-source"
    paths = []
    for n in range(files):
        path = source / f"d{n // 1000:03d}" / f"f{n:06d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(FILE_BYTES))
        paths.append(path)
    figures: dict[str, float | int] = {"ingest_files": files, "ingest_batch": batch, "ingest_clients": CLIENTS}
    batches = [paths[start : start + batch] for start in range(0, files, batch)]
    with gunicorn_server() as address:
        os.sync()
        started = time.perf_counter()
        # Two clients, one kept-alive connection each, as a sync client with a
        # thread per connection would: each batch's bytes are landed and
        # flushed while the other's transaction runs.
        with ThreadPoolExecutor(max_workers=CLIENTS) as clients:
            list(clients.map(lambda n: _send(address, headers, batches[n::CLIENTS], source), range(CLIENTS)))
        elapsed = time.perf_counter() - started
    figures["ingest_4k_files_per_s"] = round(files / elapsed, 1)
    rsync = shutil.which("rsync")
    if rsync is not None:
        os.sync()
        started = time.perf_counter()
        subprocess.run([rsync, "-a", f"{source}/", str(work / "ingest-rsync")], check=True)  # noqa: S603
        figures["rsync_4k_files_per_s"] = round(files / (time.perf_counter() - started), 1)
        figures["ingest_vs_rsync"] = round(figures["ingest_4k_files_per_s"] / figures["rsync_4k_files_per_s"], 2)
    return figures
