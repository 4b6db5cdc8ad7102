"""GET /api/v1/status/: public, no authentication, throttled as any anonymous
caller; open during maintenance (the middleware leaves it open)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hubs.models import Hub, Incident, MaintenanceWindow
from hubs.selectors import effective_state
from hubs.uptime_read import hub_statuses, hub_uptimes_cached, incidents_public, windows_current
from portal.api.base import problem_responses
from portal.api.status.serializers import StatusSerializer


def incident_json(incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.pk,
        "hub": incident.hub_id,
        "component": incident.component,
        "severity": incident.severity,
        "state": incident.state,
        "title": incident.title,
        "opened_at": incident.opened_at,
        "resolved_at": incident.resolved_at,
        "updates": [
            {"at": update.at, "state": update.state, "body": update.body}
            for update in incident.public_updates  # type: ignore[attr-defined]
        ],
    }


def maintenance_json(window: MaintenanceWindow, now: Any) -> dict[str, Any]:
    return {
        "id": window.pk,
        "title": window.title,
        "description": window.description,
        "impact": window.impact,
        "state": effective_state(window, now),
        "is_emergency": window.is_emergency,
        "hubs": [hub.code for hub in window.hubs.all()],
        "starts_at": window.starts_at,
        "ends_at": window.ends_at,
    }


class StatusView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="status",
        summary="Service status",
        description=(
            "Every hub's current status and components, its availability and measured coverage for its "
            "current local day, month and year so far (percentages with two decimals, as strings, rounded "
            "down), the open and recently resolved incidents with their public updates, and the maintenance "
            "running or to come. No authentication needed; the same figures as the status page."
        ),
        responses={
            200: StatusSerializer,
            **problem_responses(),
        },
        auth=[],
    )
    def get(self, request: Request) -> Response:
        now = timezone.now()
        statuses = hub_statuses(now=now)
        uptimes = hub_uptimes_cached(now=now)
        hubs = []
        for hub in Hub.objects.all():
            status, uptime = statuses[hub.code], uptimes[hub.code]
            periods = {"day": uptime.day, "month": uptime.month, "year": uptime.year}
            hubs.append(
                {
                    "code": hub.code,
                    "status": status.status.value,
                    "uptime": {name: figures.uptime_percent for name, figures in periods.items()},
                    "coverage": {name: figures.coverage_percent for name, figures in periods.items()},
                    "components": [{"name": c.name, "status": c.status.value} for c in status.components],
                }
            )
        body = {
            "hubs": hubs,
            "incidents": [incident_json(incident) for incident in incidents_public(now=now)],
            "maintenance": [maintenance_json(window, now) for window in windows_current(now=now)],
        }
        return Response(StatusSerializer(body).data)
