"""Run one round of probes now, in this process, recorded exactly as a
scheduled round is (one ProbeResult row per probe).

    manage.py probes_run [--hub CODE] [--json]

Without --hub: every hub, then the control plane. --json prints
{"count": N, "failed": N, "probes": [{"hub", "name", "component", "severity",
"ok", "latency_ms", "detail"}]}; otherwise one line per probe. Exits 0 either
way: a failed probe is a finding, not an error of the command.
"""

from __future__ import annotations

import json
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from hubs.models import ProbeResult
from hubs.services.probes import probe_round_run


class Command(BaseCommand):
    help = "Run one round of probes now (every hub and the control plane, or one hub) and record it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--hub", choices=settings.HUB_CODES, help="Only this hub's probes.")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        hub_codes: list[str | None] = [options["hub"]] if options["hub"] else [*settings.HUB_CODES, None]
        started = time.perf_counter()
        rows: list[ProbeResult] = []
        for hub_code in hub_codes:
            rows.extend(probe_round_run(hub_code=hub_code))
        seconds = time.perf_counter() - started
        failed = [row for row in rows if not row.ok]
        if options["json"]:
            probes = [
                {
                    "hub": row.hub_id,
                    "name": row.name,
                    "component": row.component,
                    "severity": row.severity,
                    "ok": row.ok,
                    "latency_ms": row.latency_ms,
                    "detail": row.detail,
                }
                for row in rows
            ]
            self.stdout.write(json.dumps({"count": len(rows), "failed": len(failed), "probes": probes}))
            return
        for row in rows:
            state = "ok  " if row.ok else "FAIL"
            where = row.hub_id or "control"
            self.stdout.write(
                f"{state} {where:7} {row.name:34} {row.severity:8} {row.latency_ms:9.1f} ms  {row.detail}"
            )
        self.stdout.write(f"{len(rows)} probes, {len(failed)} failed, in {seconds:.1f} s")
