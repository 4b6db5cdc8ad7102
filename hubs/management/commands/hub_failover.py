"""Fail a hub over to its alternate facility, or back to its primary: its
storage and, when it has a standby, its database (promoted), recorded as a
failover event. The same service as the admin's action.

    manage.py hub_failover --hub CODE --to alternate|primary --reason TEXT [--json]

``--json`` prints one object: {"ok", "hub", "to", "serving", "changed",
"event": {"id", "direction", "automatic", "started_at", "finished_at",
"promoted", "database", "recovery_point": {"lag_bytes", "lag_s",
"blobs_not_copied", "bytes_not_copied"}, "outage_started_at", "recovered_at",
"recovery_time_s"} or null, "error": {"code", "detail"} or null}. A refusal
exits 1 and says what to do; a failover to the facility that serves already
changes nothing and exits 0.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from hubs.errors import HubFailoverError
from hubs.models import Facility, FailoverEvent, Hub
from hubs.services import hub_fail_over


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def failover_event_json(event: FailoverEvent) -> dict[str, Any]:
    return {
        "id": event.pk,
        "direction": event.direction,
        "automatic": event.automatic,
        "started_at": _iso(event.started_at),
        "finished_at": _iso(event.finished_at),
        "promoted": event.promoted,
        "database": event.database_detail,
        "recovery_point": {
            "lag_bytes": event.lag_bytes,
            "lag_s": event.lag_seconds,
            "blobs_not_copied": event.blobs_not_copied,
            "bytes_not_copied": event.bytes_not_copied,
        },
        "outage_started_at": _iso(event.outage_started_at),
        "recovered_at": _iso(event.recovered_at),
        "recovery_time_s": event.recovery_seconds,
    }


class Command(BaseCommand):
    help = "Fail a hub over to its alternate facility or back to its primary (storage and standby database)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--hub", required=True, choices=settings.HUB_CODES)
        parser.add_argument("--to", required=True, choices=Facility.Role.values, dest="to_role")
        parser.add_argument("--reason", required=True, help="Kept in the staff audit log and the failover event.")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        hub = Hub.objects.get(pk=options["hub"])
        error: HubFailoverError | None = None
        event: FailoverEvent | None = None
        try:
            event = hub_fail_over(hub=hub, to_role=options["to_role"], acting_user=None, reason=options["reason"])
        except HubFailoverError as exc:
            error = exc
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "ok": error is None,
                        "hub": hub.code,
                        "to": options["to_role"],
                        "serving": hub.serving_facility,
                        "changed": event is not None,
                        "event": failover_event_json(event) if event is not None else None,
                        "error": {"code": error.code, "detail": error.detail} if error is not None else None,
                    }
                )
            )
            if error is not None:
                raise SystemExit(1)
            return
        if error is not None:
            raise CommandError(f"{error.title}: {error.detail}")
        if event is None:
            self.stdout.write(f"Hub {hub.code} already runs on its {hub.serving_facility} facility; nothing changed.")
            return
        point = failover_event_json(event)["recovery_point"]
        self.stdout.write(
            f"Hub {hub.code} is now served by its {hub.serving_facility} facility (event {event.pk}). "
            f"Database: {event.database_detail}. Recovery point: {point}."
        )
