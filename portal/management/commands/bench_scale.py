"""Benchmark of one large tenant against one ten times smaller. Prints one JSON object.

Each size is a tenant with four weeks of history (``tenant_with_history``):
the files, 1 % of them deleted and 0.2 % rewritten hour by hour, and about 760
snapshots in the retention. Then, at each size: a snapshot, a 10,000-file
folder listed through the API, Recently deleted and the Snapshots page through
Django's test client signed in (no socket: the figure is Django's, middleware
and templates included, without the server's), search through the API,
"restore everything" after everything was deleted (the restore service run
inline, as the worker runs it), and expiry four weeks later. Every figure of
the large tenant is compared with the small one's: flat means within 2×, and
no page may take over 200 ms at p95.

Run it on a scratch data folder: it makes tenants named bench-<hex> and leaves
them there.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse
from django.utils import timezone

from hubs.models import Tenant
from hubs.routing import hub_database_alias
from portal.benchmarks import (
    LIST_FOLDER,
    TREE_FOLDER,
    bench_tenant,
    emit,
    hub_database_bytes,
    median,
    percentile,
    tenant_with_history,
)
from portal.models import User
from portal.tokens import api_token_create
from snapshots import expiry, selectors, services
from snapshots.models import RestoreJob
from snapshots.selectors.history import snapshots_in_retention
from snapshots.services import RestoreRequest
from snapshots.statistics import hub_statistics_refresh

PAGE_BUDGET_MS = 200
FLAT_WITHIN = 2.0
LIST_FILES = 10_000
QUICK_FILES, QUICK_COMPARE = 2000, 200
# Figures compared between the sizes (hub_db_bytes per file: the database grows with the tenant by design).
COMPARED = (
    "snapshot_ms",
    "list_10k_p95_ms",
    "trash_page_p95_ms",
    "snapshots_page_p95_ms",
    "snapshots_page_bytes",
    "search_p95_ms",
    "restore_everything_files_per_s",
    "expiry_rows_per_s",
    "hub_db_bytes_per_file",
)
PAGES = ("trash_page_p95_ms", "snapshots_page_p95_ms", "list_10k_p95_ms", "search_p95_ms")
SEARCHES = ("file00003-000123.bin", "00003-0001", "file00003", ".bin")
# The compared size in one hub, the large one in another (SQLite files of their own; PostgreSQL databases).
HUBS = ("de", "uk")


class Command(BaseCommand):
    help = "Measure a large tenant (a million files by default) against a tenth of it; prints JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--files", type=int, default=1_000_000)
        parser.add_argument("--compare", type=int, default=100_000, help="The smaller tenant measured first (0: none).")
        parser.add_argument("--quick", action="store_true", help=f"{QUICK_FILES} against {QUICK_COMPARE} files.")
        parser.add_argument("--runs", type=int, default=30, help="Requests per page measured (p95 of them).")
        parser.add_argument(
            "--reads-only",
            action="store_true",
            help="Leave out restoring everything (20 minutes at a million files on a busy machine) and expiry; "
            "the tenants stay as measured.",
        )
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["quick"]:
            options["files"], options["compare"] = QUICK_FILES, QUICK_COMPARE
        if options["files"] < 100 or not 0 <= options["compare"] < options["files"]:
            raise CommandError("--files must be at least 100, and --compare smaller than --files.")
        # Restores' emails would land on stdout with the console backend; the test client's host must be
        # allowed; pages name their static files without a collectstatic manifest, as in the tests.
        with override_settings(
            EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
            ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"],
            STORAGES={
                **settings.STORAGES,
                "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
            },
        ):
            self._measure(options)

    def _measure(self, options: dict) -> None:
        started = time.monotonic()
        runs = options["runs"]
        sizes = [size for size in (options["compare"], options["files"]) if size]
        # Each size in a hub of its own: expiry works hub by hub, and each hub database holds one tenant.
        built = [self._build(size, hub_code=hub) for size, hub in zip(sizes, HUBS, strict=False)]
        rows = {entry.files: entry.row for entry in built}
        # The reads of both sizes take turns, request by request, so a busy machine (or this process's
        # own state after building a million rows) weighs on both alike: the ratio is what is compared.
        for name, figure in (
            ("snapshot_ms", lambda entry: entry.snapshot_now),
            ("list_10k_p95_ms", lambda entry: entry.api_get(f"{reverse('api_files')}?path={entry.list_folder}")),
            ("trash_page_p95_ms", lambda entry: entry.page_get(reverse("trash"))),
            ("snapshots_page_p95_ms", lambda entry: entry.page_get(reverse("snapshots"))),
        ):
            taken = in_turns([figure(entry) for entry in built], runs=20 if name == "snapshot_ms" else runs)
            for entry, samples in zip(built, taken, strict=True):
                entry.row[name] = round(median(samples) if name == "snapshot_ms" else percentile(samples, 0.95), 3)
        for entry in built:
            entry.row["snapshots_page_bytes"] = entry.page_get(reverse("snapshots"))()
            entry.row["snapshots_in_retention"] = snapshots_in_retention(tenant=entry.tenant).count()
        searches = [
            in_turns([entry.api_get(f"{reverse('api_search')}?q={text}") for entry in built], runs=max(5, runs // 4))
            for text in SEARCHES
        ]
        for index, entry in enumerate(built):
            entry.row["search_p95_ms"] = round(percentile([x for found in searches for x in found[index]], 0.95), 2)
            # The machine may be shared: its load while the reads were measured, to read them by.
            entry.row["load_average_1min"] = round(os.getloadavg()[0], 2)
        if not options["reads_only"]:
            for entry in built:
                entry.row.update(restore_everything(entry.tenant, entry.user, snapshot_id=entry.last_snapshot_id()))
                entry.row.update(expire_four_weeks_later(entry.tenant))

        large = rows[options["files"]]
        figures: dict[str, Any] = {
            "database": connections[hub_database_alias(HUBS[0])].vendor,
            "debug": settings.DEBUG,
            "measured_through": (
                "pages (Recently deleted, Snapshots): django.test.Client signed in; "
                "list and search: the REST API through django.test.Client with a token; no socket; "
                "both sizes' requests in turns"
            ),
            "files": options["files"],
            **large,
        }
        figures["pages_over_200ms"] = sorted(
            f"{key}@{size}" for size, row in rows.items() for key in PAGES if row[key] > PAGE_BUDGET_MS
        )
        if options["compare"]:
            small = rows[options["compare"]]
            figures["compare"] = options["compare"]
            figures["at_compare"] = small
            ratios = {
                key: round(large[key] / small[key], 2) if small.get(key) else None for key in COMPARED if key in large
            }
            figures["ratios"] = ratios
            figures["not_flat"] = sorted(
                key for key, ratio in ratios.items() if ratio is None or not 1 / FLAT_WITHIN <= ratio <= FLAT_WITHIN
            )
        figures["total_s"] = round(time.monotonic() - started, 1)
        emit(figures, options["json"], self.stdout)

    def _build(self, files: int, *, hub_code: str) -> BuiltTenant:
        tenant, user = bench_tenant(hub_code=hub_code)
        bytes_before = hub_database_bytes(hub_code)
        started = time.monotonic()
        history = tenant_with_history(tenant=tenant, user=user, files=files, list_files=min(LIST_FILES, files // 2))
        row: dict[str, Any] = {"hub": hub_code, "build_s": round(time.monotonic() - started, 1)}
        row["hub_db_bytes"] = hub_database_bytes(hub_code) - bytes_before
        row["hub_db_bytes_per_file"] = round(row["hub_db_bytes"] / files, 1)
        row["deleted_items"] = history.deleted
        row["rewritten_files"] = history.rewritten
        entry = BuiltTenant(tenant=tenant, user=user, files=files, list_folder=history.list_folder, row=row)
        # As built, before any refresh of the planner's statistics: a page must not need them.
        row["trash_page_p95_ms_before_analyze"] = round(
            percentile(in_turns([entry.page_get(reverse("trash"))], 30)[0], 0.95), 2
        )
        row["analyze_s"] = round(hub_statistics_refresh(hub_code=hub_code), 2)
        return entry


class BuiltTenant:
    """One size's tenant, signed in on the pages and with an API token, and its figures so far."""

    def __init__(self, *, tenant: Tenant, user: User, files: int, list_folder: str, row: dict[str, Any]) -> None:
        self.tenant, self.user, self.files, self.list_folder, self.row = tenant, user, files, list_folder, row
        self.browser = Client()
        self.browser.force_login(user)
        _, token = api_token_create(user=user, tenant=tenant, name="bench scale")
        self.api = Client(headers={"Authorization": f"Bearer {token}"})

    def page_get(self, url: str) -> Callable[[], int]:
        return _getter(self.browser, url)

    def api_get(self, url: str) -> Callable[[], int]:
        return _getter(self.api, url)

    def snapshot_now(self) -> int:
        snapshot = services.snapshot_create(tenant=self.tenant, acting_user=self.user)
        return snapshot.file_count

    def last_snapshot_id(self) -> int:
        return snapshots_in_retention(tenant=self.tenant).order_by("-taken_at", "-id").values_list("pk", flat=True)[0]


def _getter(client: Client, url: str) -> Callable[[], int]:
    def get() -> int:
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
        return len(response.content)

    return get


def in_turns(requests: list[Callable[[], int]], runs: int) -> list[list[float]]:
    """Milliseconds of ``runs`` calls of each of ``requests``, the callers taking turns; one
    unmeasured call each first (it fills caches: the session, the tenant's hub row)."""
    for request in requests:
        request()
    samples: list[list[float]] = [[] for _ in requests]
    for _ in range(runs):
        for request, own in zip(requests, samples, strict=True):
            started = time.perf_counter()
            request()
            own.append((time.perf_counter() - started) * 1000)
    return samples


def restore_everything(tenant: Tenant, user: User, *, snapshot_id: int) -> dict[str, float | int]:
    """Everything deleted, then everything restored from the last snapshot,
    by the restore service the worker runs (inline here)."""
    services.nodes_delete(tenant=tenant, paths=[TREE_FOLDER, LIST_FOLDER], acting_user=user)
    files_before = selectors.live_usage(tenant=tenant).live_files
    started = time.perf_counter()
    job = services.restore_start(tenant=tenant, acting_user=user, request=RestoreRequest(snapshot_id=snapshot_id))
    finished = services.restore_run(tenant=tenant, job_id=job.pk)
    elapsed = time.perf_counter() - started
    if finished is None or finished.state != RestoreJob.State.SUCCEEDED:
        raise RuntimeError(f"the restore ended {finished.state if finished else 'missing'}")
    files = selectors.live_usage(tenant=tenant).live_files - files_before
    return {
        "restore_everything_files": files,
        "restore_everything_items": finished.restored,
        "restore_everything_s": round(elapsed, 1),
        "restore_everything_files_per_s": round(files / elapsed, 1),
    }


def expire_four_weeks_later(tenant: Tenant) -> dict[str, float | int]:
    """Expiry run as if four weeks and an hour had passed: every snapshot, every
    closed version (the rewrites, the deletions, and the whole tree deleted
    before the restore) and the activity go."""
    started = time.perf_counter()
    report = expiry.expiry_run(
        hub_code=tenant.hub_id, now=timezone.now() + timedelta(days=settings.SNAPSHOT_RETENTION_DAYS, hours=1)
    )
    elapsed = time.perf_counter() - started
    rows = report.snapshots + report.versions + report.nodes + report.changes + report.restore_jobs
    return {
        "expiry_rows": rows,
        "expiry_versions": report.versions,
        "expiry_rows_per_s": round(rows / elapsed, 1),
    }
