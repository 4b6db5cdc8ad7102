"""List incidents for scripts and for the on-call engineer's terminal.

    manage.py incidents [--open] [--json]

Times are ISO 8601 with their offset (UTC); ``--json`` prints one JSON array of
objects with the same fields as the table's columns.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from hubs.selectors import incidents_listed

COLUMNS = (
    "id",
    "hub",
    "component",
    "severity",
    "state",
    "title",
    "opened_at",
    "acknowledged_at",
    "resolved_at",
)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


class Command(BaseCommand):
    help = "List incidents (id, hub, component, severity, state, title and times)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--open", action="store_true", help="Only incidents not resolved yet.")
        parser.add_argument("--json", action="store_true", help="One JSON array instead of a table.")

    def handle(self, *args: Any, **options: Any) -> None:
        rows = [
            {
                "id": incident.pk,
                "hub": incident.hub_id,
                "component": incident.component,
                "severity": incident.severity,
                "state": incident.state,
                "title": incident.title,
                "opened_at": _iso(incident.opened_at),
                "acknowledged_at": _iso(incident.acknowledged_at),
                "resolved_at": _iso(incident.resolved_at),
            }
            for incident in incidents_listed(open_only=options["open"])
        ]
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        cells = [[("-" if row[c] is None else str(row[c])) for c in COLUMNS] for row in rows]
        widths = [max([len(c), *(len(line[i]) for line in cells)]) for i, c in enumerate(COLUMNS)]
        for line in [list(COLUMNS), *cells]:
            self.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())
