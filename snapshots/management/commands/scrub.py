"""Re-read and re-hash every copy of every blob now, repairing what a good
copy allows:

    manage.py scrub [--hub CODE] [--tenant ID] [--mib-s N] [--json]

Prints, per run, ``{"checked", "repaired", "lost", "bytes", "seconds",
"findings": [...]}`` (findings name tenant, blob and facility ids, never a
file name). Exits 1 when a blob has no good copy in any facility.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from snapshots.scrub import ScrubResult, scrub_pass


class Command(BaseCommand):
    help = "Check every copy of every blob (one hub, or all) and repair bad copies from a good one."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--hub", choices=settings.HUB_CODES, help="Only this hub (default: every hub).")
        parser.add_argument("--tenant", type=int, default=None, help="Only this tenant's blobs (its id).")
        parser.add_argument("--mib-s", type=float, default=None, help="Read at most this many MiB a second.")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        codes = [options["hub"]] if options["hub"] else list(settings.HUB_CODES)
        total = ScrubResult()
        hubs: dict[str, dict[str, Any]] = {}
        for code in codes:
            result = scrub_pass(hub_code=code, mib_per_s=options["mib_s"], tenant_id=options["tenant"])
            hubs[code] = result.as_dict()
            total.checked += result.checked
            total.repaired += result.repaired
            total.lost += result.lost
            total.bytes += result.bytes
            total.seconds += result.seconds
            total.findings += [{"hub": code, **finding} for finding in result.findings]
        figures = {
            **total.as_dict(),
            "hubs": {code: {k: v for k, v in r.items() if k != "findings"} for code, r in hubs.items()},
        }
        figures.pop("skipped")
        if options["json"]:
            self.stdout.write(json.dumps(figures, sort_keys=True))
        else:
            for code, result in figures["hubs"].items():
                note = f" (skipped: {result['skipped']})" if result["skipped"] else ""
                self.stdout.write(
                    f"{code}: {result['checked']} checked, {result['repaired']} repaired, {result['lost']} lost, "
                    f"{result['bytes']} bytes in {result['seconds']} s{note}"
                )
        if total.lost:
            raise CommandError(f"{total.lost} blob(s) have no good copy in any facility; see the findings.")
