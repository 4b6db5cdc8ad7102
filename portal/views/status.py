"""The public status page, its calendar feeds and its Atom feed. No sign-in:
anyone may see when a hub is in maintenance, including people who cannot
reach the portal because of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

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
from hubs.uptime import AVAILABILITY_DEFINITION, Availability
from hubs.uptime_read import (
    DayFigure,
    HubState,
    HubUptime,
    hub_statuses,
    hub_uptimes_cached,
    incidents_public,
)

CALENDAR_PAST_DAYS = 90
FEED_ITEMS = 50
# One bar per day: 3 units wide with a 1-unit gap, 90 days in a 360 x 30 viewBox
# the browser scales to the card's width (a phone's 320 px as well as a desk's).
BAR_STEP, BAR_WIDTH, BAR_HEIGHT = 4, 3, 30
# The promise is 99.98 %; below 99 % a day was a bad one.
PROMISED = Decimal("99.98")
POOR = Decimal("99.00")

HUB_STATE_WORDS = {
    "operational": "Operational",
    Impact.DEGRADED: "Degraded: maintenance in progress",
    Impact.READ_ONLY: "Read-only: maintenance in progress",
    Impact.UNAVAILABLE: "Unavailable: maintenance in progress",
}


@dataclass(frozen=True)
class Bar:
    x: int
    band: str  # ok, short, poor, nodata, maintenance: the rect's CSS class
    title: str


@dataclass
class HubStatus:
    hub: Hub
    state: str
    state_words: str
    in_progress: list[MaintenanceWindow]
    upcoming: list[MaintenanceWindow]
    recent: list[MaintenanceWindow]
    health: HubState = HubState.OPERATIONAL
    uptime: HubUptime | None = None
    bars: list[Bar] = field(default_factory=list)


def percent_label(value: Decimal | None) -> str:
    return "n/a" if value is None else f"{value} %"


def band_of(figures: Availability) -> str:
    if figures.total == 0:
        return "nodata"  # before the hub's first probe round
    if figures.uptime_percent is None:
        return "maintenance"
    if figures.coverage_percent == 0:
        return "nodata"
    if figures.uptime_percent >= PROMISED:
        return "ok"
    return "short" if figures.uptime_percent >= POOR else "poor"


def bar_title(figure: DayFigure) -> str:
    figures = figure.figures
    words = (
        f"{figure.day:%a %d %b %Y}: {percent_label(figures.uptime_percent)} up, "
        f"{figures.down} min down, {figures.maintenance} min maintenance, "
        f"coverage {percent_label(figures.coverage_percent)}"
        if figures.total
        else f"{figure.day:%a %d %b %Y}: not measured (before monitoring began)"
    )
    if figure.incidents:
        words += "; incidents: " + "; ".join(figure.incidents)
    return words


def bars_of(uptime: HubUptime) -> list[Bar]:
    return [
        Bar(x=index * BAR_STEP, band=band_of(figure.figures), title=bar_title(figure))
        for index, figure in enumerate(uptime.days)
    ]


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
    health = hub_statuses(now=now)
    uptimes = hub_uptimes_cached(now=now)
    for status in statuses:
        status.health = health[status.hub.code].status
        status.uptime = uptimes[status.hub.code]
        status.bars = bars_of(status.uptime)
    incidents = incidents_public(now=now)
    context = {
        "statuses": statuses,
        "now": now,
        "open_incidents": [i for i in incidents if i.resolved_at is None],
        "resolved_incidents": [i for i in incidents if i.resolved_at is not None],
        "definition": AVAILABILITY_DEFINITION,
        "bar_box": {"width": len(statuses[0].bars) * BAR_STEP if statuses else 0, "height": BAR_HEIGHT},
        "bar_width": BAR_WIDTH,
    }
    return render(request, "hubs/status.html", context)


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
