"""GET /api/v1/maintenance/: the maintenance windows of the caller's hub.

Reachable during maintenance too (the middleware leaves it open), so a client
told 503 can learn when the window ends."""

from __future__ import annotations

from datetime import UTC, datetime

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from hubs.models import Hub, MaintenanceWindow
from hubs.selectors import effective_state, windows_for_hub
from portal.api.base import TenantAPIView, problems
from portal.api.maintenance.serializers import MaintenanceListSerializer


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def window_json(window: MaintenanceWindow, *, hub: Hub, now: datetime) -> dict:
    zone = hub.zone
    return {
        "id": window.pk,
        "title": window.title,
        "description": window.description,
        "impact": window.impact,
        "state": effective_state(window, now),
        "is_emergency": window.is_emergency,
        "emergency_reason": window.emergency_reason,
        "hubs": [code.code for code in window.hubs.all()],
        "starts_at": _utc(window.starts_at),
        "ends_at": _utc(window.ends_at),
        "starts_at_local": window.starts_at.astimezone(zone).isoformat(),
        "ends_at_local": window.ends_at.astimezone(zone).isoformat(),
        "announced_at": _utc(window.announced_at),
    }


class MaintenanceView(TenantAPIView):
    @extend_schema(
        operation_id="maintenance_list",
        summary="Maintenance of your hub",
        description=(
            "The maintenance windows of your workspace's hub: in progress, upcoming, and recent (ended or "
            "cancelled in the last 30 days). Times are given in UTC and in the hub's time zone."
        ),
        responses={200: MaintenanceListSerializer, **problems(403)},
    )
    def get(self, request: Request) -> Response:
        hub = self.tenant.hub
        now = timezone.now()
        grouped = windows_for_hub(hub_code=hub.code, now=now)
        body = {
            "hub": {"code": hub.code, "city": hub.city, "time_zone": hub.time_zone},
            **{group: [window_json(w, hub=hub, now=now) for w in windows] for group, windows in grouped.items()},
        }
        return Response(body)
