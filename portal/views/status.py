"""The public status page, its calendar feeds and its Atom feed. No sign-in:
anyone may see when a hub is in maintenance, including people who cannot
reach the portal because of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.syndication.views import Feed
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed
from django.views.decorators.cache import cache_control

from hubs.links import absolute_url
from hubs.models import Hub, MaintenanceWindow
from hubs.notices import ICS_CONTENT_TYPE, ics_calendar
from hubs.selectors import IMPACT_SEVERITY, Impact, State, effective_state, windows_for_hub

CALENDAR_PAST_DAYS = 90
FEED_ITEMS = 50

HUB_STATE_WORDS = {
    "operational": "Operational",
    Impact.DEGRADED: "Degraded: maintenance in progress",
    Impact.READ_ONLY: "Read-only: maintenance in progress",
    Impact.UNAVAILABLE: "Unavailable: maintenance in progress",
}


@dataclass
class HubStatus:
    hub: Hub
    state: str
    state_words: str
    in_progress: list[MaintenanceWindow]
    upcoming: list[MaintenanceWindow]
    recent: list[MaintenanceWindow]


def hub_status(hub: Hub, now: datetime) -> HubStatus:
    grouped = windows_for_hub(hub_code=hub.code, now=now)
    state = "operational"
    if grouped["in_progress"]:
        worst = max(grouped["in_progress"], key=lambda window: IMPACT_SEVERITY[Impact(window.impact)])
        state = worst.impact
    return HubStatus(
        hub=hub,
        state=state,
        state_words=HUB_STATE_WORDS[state],
        in_progress=grouped["in_progress"],
        upcoming=grouped["upcoming"],
        recent=grouped["recent"],
    )


@cache_control(max_age=30, public=True)
def status_page(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    statuses = [hub_status(hub, now) for hub in Hub.objects.order_by("sort_order", "code")]
    return render(request, "hubs/status.html", {"statuses": statuses, "now": now})


@cache_control(max_age=300, public=True)
def status_calendar(request: HttpRequest, code: str) -> HttpResponse:
    hub = Hub.objects.filter(code=code).first()
    if hub is None:
        raise Http404(f"There is no hub {code!r}.")
    since = timezone.now() - timedelta(days=CALENDAR_PAST_DAYS)
    windows = (
        MaintenanceWindow.objects.filter(hubs=hub, ends_at__gt=since)
        .prefetch_related("hubs")
        .order_by("starts_at", "pk")
    )
    body = ics_calendar(windows, name=f"Hubport maintenance: {hub.label}")
    response = HttpResponse(body.encode("utf-8"), content_type=f"{ICS_CONTENT_TYPE}; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="hubport-maintenance-{hub.code}.ics"'
    return response


class MaintenanceFeed(Feed):
    """Atom: one entry per window, updated whenever it is changed, starts, ends or is cancelled."""

    feed_type = Atom1Feed
    title = "Hubport maintenance"
    subtitle = "Maintenance of the Hubport hubs: announced at least five days ahead, at the weekend."

    # Absolute from HUBPORT_BASE_URL, not from the host the request named.
    def link(self) -> str:
        return absolute_url("status")

    def feed_url(self) -> str:
        return absolute_url("status_feed")

    def items(self) -> list[MaintenanceWindow]:
        return list(MaintenanceWindow.objects.prefetch_related("hubs").order_by("-announced_at", "-pk")[:FEED_ITEMS])

    def item_title(self, item: MaintenanceWindow) -> str:
        flag = "[EMERGENCY] " if item.is_emergency else ""
        codes = ", ".join(hub.code for hub in item.hubs.all())
        state = State(effective_state(item, timezone.now())).label
        return f"{flag}{item.title} (hubs {codes}; {state.lower()})"

    def item_description(self, item: MaintenanceWindow) -> str:
        lines = [
            f"{item.starts_at:%Y-%m-%d %H:%M} to {item.ends_at:%Y-%m-%d %H:%M} UTC.",
            f"Impact: {item.get_impact_display()}.",
        ]
        if item.is_emergency:
            lines.append(f"Emergency maintenance: {item.emergency_reason}")
        if item.description:
            lines.append(item.description)
        return "\n".join(lines)

    def item_link(self, item: MaintenanceWindow) -> str:
        return f"{absolute_url('status')}#window-{item.pk}"

    def item_guid(self, item: MaintenanceWindow) -> str:
        return f"urn:hubport:maintenance:{item.pk}"

    item_guid_is_permalink = False

    def item_pubdate(self, item: MaintenanceWindow) -> datetime:
        return item.created_at

    def item_updateddate(self, item: MaintenanceWindow) -> datetime:
        return max(
            moment
            for moment in (item.announced_at, item.changed_at, item.started_at, item.completed_at, item.cancelled_at)
            if moment is not None
        )
