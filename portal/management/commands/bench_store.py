"""Benchmark of the versioned store through the API path. Prints one JSON object.

Run it on a scratch data folder: it makes a tenant named bench-<hex> and leaves
it there (HUBPORT_DATA_DIR=/tmp/bench make ... or any disposable database).
``--quick`` runs every part at a reduced size (CI runs it on PostgreSQL): the
figures keep their names, and ``quick`` says they come from the small run.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import io
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from hubs.models import Tenant
from hubs.routing import hub_database_alias
from portal.bench_ingest import ingest_figures
from portal.bench_requests import small_request_figures
from portal.benchmarks import (
    STORE_TARGETS,
    bench_tenant,
    bulk_tree,
    emit,
    flat_folder,
    median,
    peak_rss_mib,
    percentile,
    targets_check,
    wsgi_server,
)
from portal.models import User
from portal.tokens import api_token_create
from snapshots import selectors
from snapshots.selectors.search import name_index_bytes
from snapshots.services import file_write, node_delete

MIB = 1024 * 1024
RENAME_ROUNDS = 5
PARTS = ("upload", "small_requests", "list", "dav", "tree", "bulk", "ingest")

# The full run and --quick (about a minute on a busy two-core machine, still
# every part): option -> (full, quick); a value given on the command line wins.
SIZES = {
    "upload_mib": (1024, 64),
    "list_files": (10_000, 2_000),
    "tree_files": (100_000, 45_000),  # 45 folders: the searches and deletes name part00042 and part00043
    "list_requests": (40, 20),
    "search_rounds": (10, 3),
    "dav_mib": (1024, 64),
    "bulk_items": (1000, 200),
    "zip_files": (200, 40),
    "small_requests": (200, 50),
    "ingest_files": (10_000, 2_000),
}


class Command(BaseCommand):
    help = "Measure upload, listing and folder operations of the store; prints JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print one JSON object (the default prints lines).")
        parser.add_argument("--quick", action="store_true", help="Every part at a reduced size (seconds).")
        parser.add_argument(
            "--gross-factor",
            type=float,
            default=None,
            help="Exit non-zero when a figure misses its target by more than this factor (CI: a gross regression).",
        )
        parser.add_argument(
            "--parts",
            default=",".join(PARTS),
            help=f"Comma-separated parts to measure, of {', '.join(PARTS)} (default: all). tree is the "
            "100,000-file tree: search, folder rename and delete.",
        )
        parser.add_argument("--upload-mib", type=int)
        parser.add_argument("--list-files", type=int)
        parser.add_argument("--tree-files", type=int)
        parser.add_argument("--list-requests", type=int)
        parser.add_argument("--search-rounds", type=int, help="Times each search text is asked.")
        parser.add_argument("--dav-mib", type=int, help="MiB of the WebDAV PUT (dav_upload_mib_s).")
        parser.add_argument("--bulk-items", type=int, help="Items moved, deleted and restored at once.")
        parser.add_argument("--zip-files", type=int, help="Files of 256 KiB in the zip.")
        parser.add_argument(
            "--small-requests",
            type=int,
            help="4 KiB PUTs and small GETs through gunicorn (put_4k_p50_ms, get_small_p50_ms).",
        )
        parser.add_argument("--ingest-files", type=int, help="4 KiB files of ingest_4k_files_per_s.")
        parser.add_argument("--ingest-batch", type=int, default=1000, help="Files a bulk upload request carries.")

    def handle(self, *args: Any, **options: Any) -> None:
        parts = set(options["parts"].split(","))
        if unknown := parts - set(PARTS):
            raise CommandError(f"Unknown part(s): {', '.join(sorted(unknown))}; use {', '.join(PARTS)}.")
        for option, sizes in SIZES.items():
            if options[option] is None:
                options[option] = sizes[1] if options["quick"] else sizes[0]
        tenant, user = bench_tenant()
        _, token = api_token_create(user=user, tenant=tenant, name="bench")
        headers = {"Authorization": f"Bearer {token}"}
        figures: dict[str, float | int | str] = {
            "hub": tenant.hub_id,
            "database": settings.DATABASES["hub_uk"]["ENGINE"],
        }
        work = Path(tempfile.mkdtemp(prefix="bench-", dir=settings.DATA_DIR))
        try:
            ceilings: dict[str, float] = {}
            if "upload" in parts:
                ceilings = ceiling_figures(work=work, mib=options["upload_mib"])
                figures.update(ceilings)
            if "small_requests" in parts:
                # Before the big files: single small requests through the server `make run` uses.
                figures.update(small_request_figures(token=token, work=work, rounds=options["small_requests"]))

            with wsgi_server() as address:
                connection = http.client.HTTPConnection(address, timeout=600, blocksize=MIB)
                if "upload" in parts:
                    figures.update(
                        upload_figures(connection, headers, work=work, mib=options["upload_mib"], ceilings=ceilings)
                    )
                if parts & {"list", "dav"}:
                    flat_folder(tenant=tenant, user=user, folder="/list10k", files=options["list_files"])
                if "list" in parts:
                    figures.update(list_figures(connection, headers, requests=options["list_requests"]))
                if "dav" in parts:
                    figures.update(
                        dav_figures(
                            tenant=tenant, user=user, work=work, mib=options["dav_mib"], folder="/list10k/part00000"
                        )
                    )
                if "tree" in parts:
                    bulk_tree(tenant=tenant, user=user, folder="/tree100k", files=options["tree_files"])
                    # Recently deleted gets 500 files of one folder, deleted one by one.
                    for n in range(min(500, options["tree_files"] // 200)):
                        node_delete(tenant=tenant, path=f"/tree100k/part00042/file00042-{n:06d}.bin", acting_user=user)
                    figures.update(
                        search_figures(connection, headers, rounds=options["search_rounds"], hub_code=tenant.hub_id)
                    )
                if "bulk" in parts:
                    figures.update(
                        bulk_figures(
                            connection,
                            headers,
                            tenant=tenant,
                            user=user,
                            work=work,
                            items=options["bulk_items"],
                            zip_files=options["zip_files"],
                        )
                    )
                if "tree" in parts:
                    figures.update(folder_figures(connection, headers))
                connection.close()
            if "ingest" in parts:
                figures.update(
                    ingest_figures(
                        headers=headers, work=work, files=options["ingest_files"], batch=options["ingest_batch"]
                    )
                )
        finally:
            shutil.rmtree(work, ignore_errors=True)
        figures["tenant"] = tenant.slug
        figures["quick"] = options["quick"]
        gross = targets_check(figures, STORE_TARGETS, gross_factor=options["gross_factor"] or float("inf"))
        emit(figures, options["json"], self.stdout)
        if gross:
            raise CommandError(f"Far off target (over {options['gross_factor']:g} times): {', '.join(gross)}")


def ceiling_figures(*, work: Path, mib: int) -> dict[str, float]:
    """The upload's source file, and this machine's ceilings to read the upload against."""
    figures: dict[str, float] = {}
    source = work / "source.bin"
    with open(source, "wb") as handle:
        for _ in range(mib):
            handle.write(os.urandom(MIB))
    figures["upload_bytes"] = mib * MIB

    # Each measurement starts with no dirty pages: otherwise the kernel's
    # write-back of the previous step throttles the next one.
    os.sync()
    started = time.perf_counter()
    subprocess.run(["cp", str(source), str(work / "copy.bin")], check=True)  # noqa: S603, S607
    figures["cp_mib_s"] = round(mib / (time.perf_counter() - started), 1)
    (work / "copy.bin").unlink()
    # Ceilings on this machine, to read the upload figure against: hashing
    # alone, and one copy written from user space (an upload must hash
    # every byte and write two copies from user space; cp copies in the
    # kernel with copy_file_range and hashes nothing).
    started = time.perf_counter()
    digest = hashlib.sha256()
    with open(source, "rb") as handle:
        while chunk := handle.read(MIB):
            digest.update(chunk)
    sha256_only_mib_s = round(mib / (time.perf_counter() - started), 1)
    figures["sha256_only_mib_s"] = sha256_only_mib_s
    os.sync()
    started = time.perf_counter()
    with open(source, "rb") as handle, open(work / "write.bin", "wb") as out:
        while chunk := handle.read(MIB):
            out.write(chunk)
    user_space_write_mib_s = round(mib / (time.perf_counter() - started), 1)
    figures["user_space_write_mib_s"] = user_space_write_mib_s
    figures["upload_ceiling_mib_s"] = min(sha256_only_mib_s, round(user_space_write_mib_s / 2, 1))
    (work / "write.bin").unlink()
    os.sync()
    return figures


def upload_figures(
    connection: http.client.HTTPConnection, headers: dict[str, str], *, work: Path, mib: int, ceilings: dict[str, float]
) -> dict[str, float | int | str]:
    """One PUT of ``ceiling_figures``' source file through the API, read against its ceilings."""
    size = mib * MIB
    started = time.perf_counter()
    with open(work / "source.bin", "rb") as body:
        connection.request(
            "PUT",
            "/api/v1/files/content?path=" + quote("/bench/big.bin"),
            body=body,
            headers={**headers, "Content-Length": str(size), "Content-Type": "application/octet-stream"},
        )
        response = connection.getresponse()
        response.read()
    elapsed = time.perf_counter() - started
    if response.status not in (200, 201):
        raise RuntimeError(f"upload answered {response.status}")
    upload_mib_s = round(mib / elapsed, 1)
    return {
        "upload_mib_s": upload_mib_s,
        "upload_vs_cp": round(upload_mib_s / ceilings["cp_mib_s"], 2),
        "upload_vs_ceiling": round(upload_mib_s / ceilings["upload_ceiling_mib_s"], 2),
        "upload_peak_rss_mib": round(peak_rss_mib(), 1),
        "blob_fsync": settings.HUBPORT_BLOB_FSYNC,
    }


def list_figures(connection: http.client.HTTPConnection, headers: dict[str, str], *, requests: int) -> dict[str, float]:
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        connection.request("GET", "/api/v1/files/?path=/list10k/part00000", headers=headers)
        response = connection.getresponse()
        response.read()
        samples.append((time.perf_counter() - started) * 1000)
        if response.status != 200:
            raise RuntimeError(f"listing answered {response.status}")
    return {"list_10k_p95_ms": round(percentile(samples, 0.95), 2), "list_10k_page_items": 200}


def folder_figures(connection: http.client.HTTPConnection, headers: dict[str, str]) -> dict[str, float]:
    """The median of five renames of the 100,000-file tree, each one request (one
    sample on a shared machine was mostly its noise), the slowest beside it; then its delete."""
    figures: dict[str, float] = {}
    renames = []
    names = [f"/tree100k-{n}" for n in range(RENAME_ROUNDS - 1)]
    for before, after in zip(["/tree100k", *names], [*names, "/tree100k-renamed"], strict=True):
        started = time.perf_counter()
        connection.request(
            "POST",
            "/api/v1/files/move",
            body=json.dumps({"from": before, "to": after}),
            headers={**headers, "Content-Type": "application/json"},
        )
        response = connection.getresponse()
        response.read()
        renames.append((time.perf_counter() - started) * 1000)
        if response.status != 200:
            raise RuntimeError(f"rename answered {response.status}")
    figures["folder_rename_100k_ms"] = round(median(renames), 2)
    figures["folder_rename_100k_max_ms"] = round(max(renames), 2)
    started = time.perf_counter()
    connection.request("DELETE", "/api/v1/files/?path=/tree100k-renamed", headers=headers)
    response = connection.getresponse()
    response.read()
    figures["folder_delete_100k_ms"] = round((time.perf_counter() - started) * 1000, 2)
    if response.status != 204:
        raise RuntimeError(f"delete answered {response.status}")
    return figures


# What people type: a whole name (one hit), part of one (ten), a folder's prefix
# (a thousand), a short text (everything), text in every name (100,000, the
# worst ranking), and a search of Recently deleted. Names are bulk_tree's:
# file<folder:05d>-<n:06d>.bin in part<folder:05d>.
SEARCHES = (
    ("name", {"q": "file00043-000123.bin"}),
    ("part", {"q": "00043-0001"}),
    ("folder_prefix", {"q": "file00043"}),
    ("short", {"q": "7"}),
    ("every_name", {"q": ".bin"}),
    ("deleted", {"q": "file00042", "deleted": "true"}),
)


def search_figures(
    connection: http.client.HTTPConnection, headers: dict[str, str], *, rounds: int, hub_code: str
) -> dict[str, float | int]:
    """GET /api/v1/search/ (first page of 50) for each text ``rounds`` times, over the socket."""
    connection_of_hub = connections[hub_database_alias(hub_code)]
    if connection_of_hub.vendor == "postgresql":
        # Autovacuum analyzes a table once a tenth of it changed, within its one-minute nap; the
        # bench searches seconds after inserting 100,000 rows, so it analyzes as autovacuum would.
        with connection_of_hub.cursor() as cursor:
            cursor.execute("ANALYZE snapshots_nodeversion")
    samples: list[float] = []
    figures: dict[str, float | int] = {}
    for label, params in SEARCHES:
        own: list[float] = []
        for _ in range(rounds):
            started = time.perf_counter()
            connection.request("GET", "/api/v1/search/?" + urlencode(params), headers=headers)
            response = connection.getresponse()
            response.read()
            own.append((time.perf_counter() - started) * 1000)
            if response.status != 200:
                raise RuntimeError(f"search answered {response.status}")
        figures[f"search_{label}_p95_ms"] = round(percentile(own, 0.95), 2)
        samples += own
    figures["search_p95_ms"] = round(percentile(samples, 0.95), 2)
    figures["search_index_bytes"] = name_index_bytes(hub_code=hub_code)
    return figures


# Many at once: 1,000 items moved, deleted and brought back, each in one request;
# and 200 files of 256 KiB (50 MiB, distinct bytes) as one zip, beside `zip -0`
# (stored, as ours) over the same files on disk (--bulk-items, --zip-files).
ZIP_FILE_BYTES = 256 * 1024


def _post_json(connection: http.client.HTTPConnection, headers: dict[str, str], url: str, body: object) -> bytes:
    connection.request("POST", url, body=json.dumps(body), headers={**headers, "Content-Type": "application/json"})
    response = connection.getresponse()
    payload = response.read()
    if response.status != 200:
        raise RuntimeError(f"{url} answered {response.status}")
    return payload


def bulk_figures(
    connection: http.client.HTTPConnection,
    headers: dict[str, str],
    *,
    tenant: Tenant,
    user: User,
    work: Path,
    items: int,
    zip_files: int,
) -> dict[str, float]:
    figures: dict[str, float] = {}
    flat_folder(tenant=tenant, user=user, folder="/bulk1k", files=items)
    folder = selectors.node_at_path(tenant=tenant, path="/bulk1k/part00000")
    names = [v.name for v in selectors.folder_children(tenant=tenant, folder=folder, limit=items).items]
    paths = [f"/bulk1k/part00000/{name}" for name in names]
    file_write(tenant=tenant, path="/bulk1k-to/.keep", stream=io.BytesIO(b""), content_length=0, acting_user=user)
    timings = {}
    for label, url, body in (
        ("move", "/api/v1/files/bulk-move", {"paths": paths, "to": "/bulk1k-to"}),
        ("delete", "/api/v1/files/bulk-delete", {"paths": [f"/bulk1k-to/{name}" for name in names]}),
    ):
        started = time.perf_counter()
        _post_json(connection, headers, url, body)
        timings[label] = time.perf_counter() - started
    deleted = selectors.trash_items(tenant=tenant, limit=items).items
    started = time.perf_counter()
    _post_json(connection, headers, "/api/v1/trash/bulk-restore", {"ids": [item.pk for item in deleted]})
    timings["restore"] = time.perf_counter() - started
    for label, seconds in timings.items():
        figures[f"bulk_{label}_1k_ms"] = round(seconds * 1000, 1)

    on_disk = work / "zipset"
    on_disk.mkdir()
    for n in range(zip_files):
        content = os.urandom(ZIP_FILE_BYTES)
        (on_disk / f"f{n:04d}.bin").write_bytes(content)
        file_write(
            tenant=tenant,
            path=f"/zipset/f{n:04d}.bin",
            stream=io.BytesIO(content),
            content_length=len(content),
            acting_user=user,
        )
    mib = zip_files * ZIP_FILE_BYTES / MIB
    started = time.perf_counter()
    connection.request(
        "POST",
        "/api/v1/files/zip",
        body=json.dumps({"paths": ["/zipset"]}),
        headers={**headers, "Content-Type": "application/json"},
    )
    response = connection.getresponse()
    received = 0
    while chunk := response.read(MIB):
        received += len(chunk)
    if response.status != 200 or received < zip_files * ZIP_FILE_BYTES:
        raise RuntimeError(f"zip answered {response.status} with {received} bytes")
    figures["zip_mib_s"] = round(mib / (time.perf_counter() - started), 1)
    os.sync()
    started = time.perf_counter()
    command = ["zip", "-0", "-q", "-r", str(work / "cli.zip"), "zipset"]
    subprocess.run(command, cwd=work, check=True)  # noqa: S603 - our own arguments; zip from PATH, as cp above
    figures["zip_cli_mib_s"] = round(mib / (time.perf_counter() - started), 1)
    figures["zip_vs_zip_cli"] = round(figures["zip_mib_s"] / figures["zip_cli_mib_s"], 2)
    return figures


def dav_figures(*, tenant: Tenant, user: User, work: Path, mib: int, folder: str) -> dict[str, float | int]:
    """WebDAV through portal.wsgi over a loopback socket: a PUT of ``mib`` MiB
    (``dav_upload_mib_s``, streamed into the store as it arrives) and a
    PROPFIND of depth 1 on ``folder`` (``dav_propfind_10k_ms``, every entry's
    properties in one answer)."""
    from portal.wsgi import application

    _, app_password = api_token_create(user=user, tenant=tenant, name="bench dav", scope="dav")
    basic = base64.b64encode(f"{user.email}:{app_password}".encode()).decode()
    headers = {"Authorization": f"Basic {basic}"}
    source = work / "dav.bin"
    with open(source, "wb") as handle:
        for _ in range(mib):
            handle.write(os.urandom(MIB))
    os.sync()
    figures: dict[str, float | int] = {}
    with wsgi_server(application) as address:
        connection = http.client.HTTPConnection(address, timeout=600, blocksize=MIB)
        started = time.perf_counter()
        with open(source, "rb") as body:
            connection.request(
                "PUT",
                f"/dav/{tenant.slug}/dav-big.bin",
                body=body,
                headers={**headers, "Content-Length": str(mib * MIB), "Content-Type": "application/octet-stream"},
            )
            response = connection.getresponse()
            response.read()
        elapsed = time.perf_counter() - started
        if response.status != 201:
            raise RuntimeError(f"WebDAV PUT answered {response.status}")
        figures["dav_upload_mib_s"] = round(mib / elapsed, 1)
        figures["dav_upload_peak_rss_mib"] = round(peak_rss_mib(), 1)
        started = time.perf_counter()
        connection.request("PROPFIND", f"/dav/{tenant.slug}{folder}/", headers={**headers, "Depth": "1"})
        response = connection.getresponse()
        listing = response.read()
        figures["dav_propfind_10k_ms"] = round((time.perf_counter() - started) * 1000, 2)
        if response.status != 207:
            raise RuntimeError(f"WebDAV PROPFIND answered {response.status}")
        figures["dav_propfind_entries"] = listing.count(b"<ns0:response>") - 1  # less the folder itself
        connection.close()
    source.unlink()
    return figures
