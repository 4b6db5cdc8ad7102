"""The disaster-recovery drill (``make dr-drill``, a CI stage):

    manage.py dr_drill [--json] [--threads N] [--calls N] [--timeout S] [--keep]

Two PostgreSQL clusters on loopback as hub uk's primary and synchronous
standby, writes, the primary stopped with ``-m immediate`` and its storage
folder removed, ``hub_failover``, then every acknowledged write read back and
``store_check``. Prints {"ok", "acknowledged_writes", "verified", "lost",
"recovery_time_s", "recovery_point": {"lag_bytes", "lag_s",
"blobs_not_copied"}, "seconds", ...}; exits 1 when anything was lost or a
check failed, 2 when a stage could not run or the hard limit passed.

``--stage load|verify --workdir DIR`` are the drill's own stages, run by the
drill in its environment (``portal.drill.runner``); not for people.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from hubs.folders import local_folders_create
from hubs.models import FailoverEvent, Tenant
from hubs.testing.pg_clusters import Cluster
from portal.drill.ledger import Ledger
from portal.drill.runner import DrillOptions, run_drill
from portal.drill.verify import file_transaction_until_passing, ledger_verify
from portal.drill.workload import HUB_CODE, load_and_disaster


class Command(BaseCommand):
    help = "Run the disaster-recovery drill on throwaway PostgreSQL clusters and storage folders."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")
        parser.add_argument("--threads", type=int, default=4, help="Concurrent writers (4).")
        parser.add_argument("--calls", type=int, default=400, help="Acknowledged calls before the disaster (400).")
        parser.add_argument(
            "--timeout", type=float, default=175.0, help="Hard limit of the whole drill, seconds (175)."
        )
        parser.add_argument("--seed", type=int, default=11)
        parser.add_argument("--keep", action="store_true", help="Keep the drill's folder (logs, clusters, storage).")
        parser.add_argument(
            "--stage", choices=["migrate", "load", "verify"], help="Internal: one stage of a running drill."
        )
        parser.add_argument("--workdir", type=Path, help="Internal: the running drill's folder.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["stage"] and options["workdir"] is None:
            raise CommandError("--stage is one stage of a running drill and needs that drill's --workdir.")
        if options["stage"] == "migrate":
            # The control database and the drill's hub only: the other six hubs
            # are not used, and migrating them would double the stage's time.
            local_folders_create()
            for alias in ("default", f"hub_{HUB_CODE}"):
                call_command("migrate", database=alias, interactive=False, verbosity=0)
            return
        if options["stage"] == "load":
            self._load(options)
            return
        if options["stage"] == "verify":
            self._verify(options)
            return
        report = run_drill(
            DrillOptions(
                threads=options["threads"],
                calls_before_disaster=options["calls"],
                timeout_s=options["timeout"],
                seed=options["seed"],
                keep=options["keep"],
            ),
            progress=self.stderr.write,
        )
        if options["json"]:
            self.stdout.write(json.dumps(report))
        else:
            for key, value in report.items():
                self.stdout.write(f"{key}: {value}")
        if not report["ok"]:
            self.stderr.write(f"DR drill FAILED: {report.get('error') or _findings(report)}")
            raise SystemExit(2 if "error" in report else 1)

    def _load(self, options: dict[str, Any]) -> None:
        workdir: Path = options["workdir"]
        primary = Cluster("primary", workdir / "pg" / "primary", 0, workdir / "pg" / "primary.log")
        result = load_and_disaster(
            primary=primary,
            threads=options["threads"],
            calls_before_disaster=options["calls"],
            seed=options["seed"],
            deadline=time.monotonic() + options["timeout"],
        )
        (workdir / "load.json").write_text(json.dumps(result.to_json()))

    def _verify(self, options: dict[str, Any]) -> None:
        workdir: Path = options["workdir"]
        load = json.loads((workdir / "load.json").read_text())
        probe = file_transaction_until_passing(
            hub_code=HUB_CODE, deadline=time.monotonic() + options["timeout"], progress=self.stderr.write
        )
        event = FailoverEvent.objects.filter(hub_id=HUB_CODE).order_by("-pk").first()
        tenant = Tenant.objects.get(pk=load["tenant_id"])
        verdict = ledger_verify(tenant=tenant, ledger=Ledger.from_json(load["ledger"]))
        (workdir / "verify.json").write_text(
            json.dumps(
                {
                    "probe": {"passed_at": probe.passed_at, "rounds": probe.rounds, "last_detail": probe.last_detail},
                    # The failover event's own measure, from its outage's start
                    # (the failover's, as no round failed before it) to the same pass.
                    "event_recovery_time_s": event.recovery_seconds if event is not None else None,
                    "verified": verdict.verified,
                    "lost": verdict.lost,
                    "paths_verified": verdict.paths_verified,
                    "wrong_paths": verdict.wrong_paths,
                }
            )
        )


def _findings(report: dict[str, Any]) -> str:
    return (
        f"{report['lost']} acknowledged writes lost, {len(report['wrong_paths'])} paths in a wrong state, "
        f"file transaction {'passed' if report['recovery_time_s'] is not None else 'never passed'}, "
        f"store_check {'passed' if report['store_check']['ok'] else 'failed'}"
    )
