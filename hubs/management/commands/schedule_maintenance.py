"""Announce a maintenance window from the command line, under the same rules as the admin and the API.

    manage.py schedule_maintenance --hubs uk,ae --start 2026-12-05T09:00Z --end 2026-12-05T13:00Z \\
        --title "Storage upgrade" [--description TEXT] [--impact unavailable|read_only|degraded] \\
        [--emergency-reason TEXT]

Prints the new window's id; a refusal is printed with what to change, and the
command exits 1.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dateparse import parse_datetime

from hubs.errors import MaintenanceRefused
from hubs.models import Hub, MaintenanceWindow
from hubs.services.maintenance import maintenance_schedule


def aware_datetime(value: str) -> datetime:
    parsed = parse_datetime(value.strip().replace("z", "Z"))
    if parsed is None:
        raise CommandError(f"{value!r} is not a date and time; write it like 2026-12-05T09:00Z.")
    if parsed.tzinfo is None:
        raise CommandError(f"{value!r} has no time zone; add Z for UTC or an offset like +04:00.")
    return parsed


class Command(BaseCommand):
    help = "Announce a maintenance window (weekend only, five days' notice, unless an emergency with a reason)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--hubs", required=True, help="Hub codes, comma-separated: uk,ae")
        parser.add_argument("--start", required=True, help="ISO 8601 with zone: 2026-12-05T09:00Z")
        parser.add_argument("--end", required=True, help="ISO 8601 with zone: 2026-12-05T13:00Z")
        parser.add_argument("--title", required=True)
        parser.add_argument("--description", default="")
        parser.add_argument(
            "--impact", default=MaintenanceWindow.Impact.UNAVAILABLE, choices=MaintenanceWindow.Impact.values
        )
        parser.add_argument(
            "--emergency-reason",
            default="",
            help="Makes the window an emergency: the weekend and notice rules are bypassed, the reason is audited.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        codes = [code.strip().lower() for code in options["hubs"].split(",") if code.strip()]
        hubs = list(Hub.objects.filter(code__in=codes))
        unknown = sorted(set(codes) - {hub.code for hub in hubs})
        if unknown:
            known = ", ".join(Hub.objects.order_by("sort_order").values_list("code", flat=True))
            raise CommandError(f"Unknown hub code(s): {', '.join(unknown)}. The hubs are: {known}.")
        try:
            window = maintenance_schedule(
                hubs=hubs,
                title=options["title"],
                description=options["description"],
                impact=options["impact"],
                starts_at=aware_datetime(options["start"]),
                ends_at=aware_datetime(options["end"]),
                emergency_reason=options["emergency_reason"],
                acting_user=None,
            )
        except MaintenanceRefused as exc:
            raise CommandError("Refused:\n" + "\n".join(f"- {reason}" for reason in exc.reasons)) from exc
        self.stdout.write(str(window.pk))
