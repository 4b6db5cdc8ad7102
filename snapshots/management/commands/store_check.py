"""Check the store's invariants against a recount:

    manage.py store_check [--hub CODE] [--tenant ID] [--no-hash] [--json]

Prints ``{"ok", "tenants", "files", "checked_blobs", "problems": [...],
"problem_count", "skipped_facilities", "seconds"}``; each problem names its
kind and hub, tenant, node, blob or facility ids, never a file name. Exits 1
when a problem is found. What is checked: ``snapshots/store_check.py``.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from hubs.models import Tenant
from snapshots.blobs import TEMPORARY_GRACE
from snapshots.store_check import store_check_hubs


class Command(BaseCommand):
    help = "Check the store's invariants (counters, blobs in every facility, names, clock, temporaries)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--hub", choices=settings.HUB_CODES, help="Only this hub (default: every hub).")
        parser.add_argument("--tenant", type=int, default=None, help="Only this tenant (its id).")
        parser.add_argument(
            "--no-hash", action="store_true", help="Check each copy's presence and size only, not its SHA-256."
        )
        parser.add_argument(
            "--temporary-grace-seconds",
            type=float,
            default=TEMPORARY_GRACE.total_seconds(),
            help="A temporary upload file older than this is an orphan (default: the hourly sweep's grace).",
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant_id = options["tenant"]
        if tenant_id is not None:
            hub = Tenant.objects.filter(pk=tenant_id).values_list("hub_id", flat=True).first()
            if hub is None:
                raise CommandError(f"No tenant has the id {tenant_id}.")
            if options["hub"] and options["hub"] != hub:
                raise CommandError(f"Tenant {tenant_id} is in hub {hub}, not {options['hub']}.")
        result = store_check_hubs(
            hub_codes=[options["hub"]] if options["hub"] else None,
            tenant_id=tenant_id,
            hash_blobs=not options["no_hash"],
            temporary_grace=timedelta(seconds=options["temporary_grace_seconds"]),
        )
        figures = result.as_dict()
        if options["json"]:
            self.stdout.write(json.dumps(figures, sort_keys=True))
        else:
            self.stdout.write(
                f"{'ok' if result.ok else 'NOT OK'}: {result.tenants} tenants, {result.files} files, "
                f"{result.checked_blobs} blobs checked in {figures['seconds']} s, {result.problem_count} problems"
            )
            for problem in result.problems:
                self.stdout.write(json.dumps(problem, sort_keys=True))
        if not result.ok:
            raise CommandError(f"The store check found {result.problem_count} problem(s).", returncode=1)
