"""Maintenance mode, by impact, for the hubs in a running window.

Runs after TenantMiddleware (it needs ``request.tenant``). While a window runs:

- ``unavailable``: every portal page and API call of a tenant in the hub
  answers 503 with ``Retry-After`` (a maintenance page, or, for the API and a
  page's script that asks for JSON, the problem ``portal.problems`` builds);
- ``read_only``: reads work; writes (POST, PUT, PATCH, DELETE) answer 503;
- ``degraded``: everything works; the banner says so.

Tenants of other hubs, anonymous pages, the staff admin, the status page and
the maintenance listing of the API are never touched. Whatever the request,
``request.maintenance`` lazily gives the template banner the hub's announced
windows.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property

from hubs.display import time_label
from hubs.errors import HubInMaintenance, HubReadOnly
from hubs.models import Hub, MaintenanceWindow
from hubs.selectors import (
    IMPACT_SEVERITY,
    Impact,
    State,
    seconds_until,
    windows_announced_for_hub,
    windows_running,
)
from portal.problems import PROBLEM_CONTENT_TYPE, log_refusal, refusal_response, status_for

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class HubMaintenance:
    """The maintenance a request's hub is told about; queried only when a template asks."""

    def __init__(self, hub: Hub | None, now: datetime) -> None:
        self.hub = hub
        self.now = now

    @cached_property
    def windows(self) -> list[MaintenanceWindow]:
        if self.hub is None:
            return []
        return windows_announced_for_hub(hub_code=self.hub.code, now=self.now)

    def __bool__(self) -> bool:
        return bool(self.windows)

    def __iter__(self) -> Iterator[MaintenanceWindow]:
        return iter(self.windows)


class MaintenanceModeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._not_ended: tuple[float, list[MaintenanceWindow]] | None = None

    @cached_property
    def always_open_prefixes(self) -> tuple[str, ...]:
        return (
            settings.STATIC_URL,
            "/admin/",
            "/favicon.ico",
            "/api/schema/",
            "/api/docs/",
            reverse("status"),
            reverse("api_maintenance"),
            reverse("api_status"),
            reverse("logout"),
            # A member of several workspaces can still switch to one in another hub.
            reverse("tenant_choose"),
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        now = timezone.now()
        tenant = getattr(request, "tenant", None)
        request.maintenance = HubMaintenance(tenant.hub if tenant is not None else None, now)  # type: ignore[attr-defined]
        if request.path.startswith(self.always_open_prefixes):
            return self.get_response(request)
        if tenant is None and not (request.path.startswith("/api/") and "Authorization" in request.headers):
            return self.get_response(request)  # no tenant, so no hub: anonymous pages are nobody's
        running = self._running(now)
        if not running:
            return self.get_response(request)
        hub = self._hub_of(request)
        if hub is None:
            return self.get_response(request)
        affecting = [window for window in running if any(h.code == hub.code for h in window.hubs.all())]
        if not affecting:
            return self.get_response(request)
        window = max(affecting, key=lambda w: (IMPACT_SEVERITY[Impact(w.impact)], w.ends_at))
        if window.impact == Impact.UNAVAILABLE:
            return self._refuse(request, hub=hub, window=window, now=now, read_only=False)
        if window.impact == Impact.READ_ONLY and request.method in WRITE_METHODS:
            return self._refuse(request, hub=hub, window=window, now=now, read_only=True)
        return self.get_response(request)

    def _running(self, now: datetime) -> list[MaintenanceWindow]:
        """The windows running now. Every tenant request asks, so the windows
        that have not ended are read at most every
        HUBPORT_MAINTENANCE_CACHE_SECONDS (5) per process, with their hubs: a
        window staff start, change or cancel takes effect within that time
        (windows are announced ahead; their start and end are compared here
        with the request's time, so those are exact)."""
        seconds = settings.HUBPORT_MAINTENANCE_CACHE_SECONDS
        if seconds <= 0:
            return list(windows_running(now=now).prefetch_related("hubs"))
        read = self._not_ended
        moment = time.monotonic()
        if read is None or moment - read[0] >= seconds:
            not_ended = MaintenanceWindow.objects.filter(ends_at__gt=now).exclude(state=State.CANCELLED)
            read = (moment, list(not_ended.prefetch_related("hubs")))
            self._not_ended = read
        return [window for window in read[1] if window.starts_at <= now < window.ends_at]

    def _hub_of(self, request: HttpRequest) -> Hub | None:
        tenant = getattr(request, "tenant", None)
        if tenant is not None:
            return tenant.hub
        if request.path.startswith("/api/"):
            header = request.headers.get("Authorization", "").split()
            if len(header) == 2 and header[0].lower() == "bearer":
                from portal.tokens import api_token_check

                # Only asked while some hub is in maintenance; a bad token is left
                # for the API's own authentication to refuse.
                check = api_token_check(header[1])
                if check.membership is not None:
                    return check.membership.tenant.hub
        return None

    def _refuse(
        self, request: HttpRequest, *, hub: Hub, window: MaintenanceWindow, now: datetime, read_only: bool
    ) -> HttpResponse:
        # In the reader's zone (DisplayZoneMiddleware ran before); UTC, labelled,
        # for a token, whose person only the API's authentication finds.
        until = time_label(window.ends_at, "D j M Y H:i")
        flag = "Emergency maintenance" if window.is_emergency else "Maintenance"
        refusal: HubInMaintenance
        if read_only:
            refusal = HubReadOnly(
                f"{flag} of hub {hub.code} ({hub.city}) is running: your files can be read but not changed "
                f"until {until}. Nothing was changed; try again after that."
            )
        else:
            refusal = HubInMaintenance(
                f"{flag} of hub {hub.code} ({hub.city}) is running: the service is unavailable "
                f"until {until}. Try again after that."
            )
        retry_after = str(seconds_until(window.ends_at, now))
        if wants_problem(request):
            return refusal_response(
                request,
                refusal,
                headers={"Retry-After": retry_after},
                maintenance={
                    "id": window.pk,
                    "title": window.title,
                    "impact": window.impact,
                    "is_emergency": window.is_emergency,
                    "starts_at": window.starts_at.isoformat(),
                    "ends_at": window.ends_at.isoformat(),
                    "status_url": reverse("status"),
                },
            )
        response = render(
            request,
            "hubs/maintenance.html",
            {"window": window, "hub": hub, "detail": refusal.detail, "read_only": read_only},
            status=status_for(refusal.code),
        )
        response["Retry-After"] = retry_after
        return log_refusal(request, response, code=refusal.code)


def wants_problem(request: HttpRequest) -> bool:
    """The API, and a page's script that asked for JSON (an upload), read a
    problem; a person's browser reads the maintenance page."""
    if request.path.startswith("/api/"):
        return True
    accept = request.headers.get("Accept", "")
    return ("application/json" in accept or PROBLEM_CONTENT_TYPE in accept) and "text/html" not in accept
