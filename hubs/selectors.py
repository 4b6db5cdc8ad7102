"""Reads of hubs: maintenance windows by the clock, and who is told about them.

Every function takes ``now`` for tests and defaults to the present moment. A
window's stored state lags the clock by up to a minute (beat moves it), so
pages and the API show ``effective_state``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from hubs.models import (
    Heartbeat,
    Incident,
    MaintenanceWindow,
    Membership,
    ProbeResult,
    StatusDelivery,
    StatusSubscription,
)
from hubs.monitoring.probes import STAFF_ONLY_COMPONENTS

Impact = MaintenanceWindow.Impact
State = MaintenanceWindow.State

# Raising the impact (degraded < read_only < unavailable) is announcing a worse
# window, so it needs the same notice as a new one.
IMPACT_SEVERITY = {Impact.DEGRADED: 0, Impact.READ_ONLY: 1, Impact.UNAVAILABLE: 2}
RECENT_DAYS = 30
ACTIVE_STATES = (State.SCHEDULED, State.IN_PROGRESS)


def effective_state(window: MaintenanceWindow, now: datetime) -> str:
    """The state by the clock: a window whose time came shows as running even if
    the minute's beat has not moved it yet."""
    if window.state == State.CANCELLED:
        return State.CANCELLED
    if window.ends_at <= now:
        return State.COMPLETED
    if window.starts_at <= now:
        return State.IN_PROGRESS
    return State.SCHEDULED


def windows_running(*, now: datetime | None = None) -> QuerySet[MaintenanceWindow]:
    now = now or timezone.now()
    return MaintenanceWindow.objects.filter(starts_at__lte=now, ends_at__gt=now).exclude(state=State.CANCELLED)


def windows_announced_for_hub(*, hub_code: str, now: datetime | None = None) -> list[MaintenanceWindow]:
    """Windows of a hub that are announced and not over: upcoming and running, soonest first."""
    now = now or timezone.now()
    return list(
        MaintenanceWindow.objects.filter(hubs__code=hub_code, ends_at__gt=now, state__in=ACTIVE_STATES)
        .order_by("starts_at", "pk")
        .distinct()
    )


def windows_for_hub(*, hub_code: str, now: datetime | None = None) -> dict[str, list[MaintenanceWindow]]:
    """A hub's windows: in progress, upcoming, and recent (ended or cancelled in the last 30 days)."""
    now = now or timezone.now()
    since = now - timedelta(days=RECENT_DAYS)
    windows = (
        MaintenanceWindow.objects.filter(hubs__code=hub_code)
        .filter(Q(ends_at__gt=since) | Q(cancelled_at__gt=since))
        .prefetch_related("hubs")
        .order_by("starts_at", "pk")
        .distinct()
    )
    grouped: dict[str, list[MaintenanceWindow]] = {"in_progress": [], "upcoming": [], "recent": []}
    for window in windows:
        state = effective_state(window, now)
        if state == State.IN_PROGRESS:
            grouped["in_progress"].append(window)
        elif state == State.SCHEDULED:
            grouped["upcoming"].append(window)
        else:
            grouped["recent"].append(window)
    grouped["recent"].reverse()
    return grouped


def hub_unavailable_until(*, hub_code: str, now: datetime | None = None) -> datetime | None:
    """When the hub's running ``unavailable`` window ends, or None when there is none."""
    now = now or timezone.now()
    ends = (
        windows_running(now=now)
        .filter(hubs__code=hub_code, impact=Impact.UNAVAILABLE)
        .order_by("-ends_at")
        .values_list("ends_at", flat=True)
        .first()
    )
    return ends


def seconds_until(moment: datetime, now: datetime | None = None) -> int:
    now = now or timezone.now()
    return max(1, math.ceil((moment - now).total_seconds()))


def notice_recipients(hub_codes: Iterable[str]) -> list[tuple[int, str]]:
    """(user id, email) of every active owner and admin of every tenant in the hubs, each once."""
    rows = (
        Membership.objects.filter(
            tenant__hub_id__in=list(hub_codes),
            tenant__is_probe=False,
            role__in=[Membership.Role.OWNER, Membership.Role.ADMIN],
            user__is_active=True,
        )
        .exclude(user__email="")
        .values_list("user_id", "user__email")
        .order_by("user_id")
        .distinct()
    )
    return list(rows)


def probe_results_latest(*, hub_code: str | None) -> list[ProbeResult]:
    """The last result of each probe of a hub (None: the control plane), by name."""
    results = ProbeResult.objects.filter(hub_id=hub_code) if hub_code else ProbeResult.objects.filter(hub__isnull=True)
    # Two indexed queries (hub, name, -at), not a scan of 48 hours of rows.
    last_at = dict(results.values_list("name").annotate(last=Max("at")).values_list("name", "last"))
    if not last_at:
        return []
    latest: dict[str, ProbeResult] = {}
    pairs = Q()
    for name, at in last_at.items():
        pairs |= Q(name=name, at=at)
    for result in results.filter(pairs).order_by("name", "-pk"):
        latest.setdefault(result.name, result)
    return list(latest.values())


def heartbeat_at(*, name: str) -> datetime | None:
    """When ``name`` last said it was alive; None if never."""
    return Heartbeat.objects.filter(name=name).values_list("at", flat=True).first()


def incidents_listed(*, open_only: bool = False) -> QuerySet[Incident]:
    """Incidents, newest first; ``open_only`` leaves out the resolved ones."""
    incidents = Incident.objects.order_by("-opened_at", "-id")
    if open_only:
        incidents = incidents.exclude(state=Incident.State.RESOLVED)
    return incidents


# SECTION: open incidents for the customer banner, probe results for metrics and the admin

# The banner is on every portal page of a hub's customers: one indexed query
# per hub per 30 seconds at most, and the subscribers' hook
# (hubs.services.status_subscriptions) clears it when an incident changes.
OPEN_INCIDENTS_CACHE_SECONDS = 30


def incident_unresolved_exists(*, hub_code: str | None, component: str) -> bool:
    """Whether an incident is open for this hub (None: the control plane) and component."""
    return Incident.objects.filter(hub_id=hub_code, component=component).exclude(state=Incident.State.RESOLVED).exists()


def open_incidents_cache_key(hub_code: str | None) -> str:
    return f"hubport:open-incidents:{hub_code or 'control'}"


def open_incidents_for_hub(hub_code: str) -> list[dict[str, object]]:
    """The hub's unresolved incidents, newest first, as the banner shows them
    (id, title, state and its label, opened_at): public fields only."""
    key = open_incidents_cache_key(hub_code)
    cached = cache.get(key)
    if cached is not None:
        return list(cached)
    rows = [
        {"id": pk, "title": title, "state": state, "state_label": Incident.State(state).label, "opened_at": opened}
        for pk, title, state, opened in Incident.objects.filter(hub_id=hub_code)
        .exclude(state=Incident.State.RESOLVED)
        .exclude(component__in=STAFF_ONLY_COMPONENTS)
        .order_by("-opened_at", "-id")
        .values_list("pk", "title", "state", "opened_at")
    ]
    cache.set(key, rows, OPEN_INCIDENTS_CACHE_SECONDS)
    return rows


def probe_results_latest_all() -> list[ProbeResult]:
    """The last result of every probe of every hub and of the control plane:
    two queries (last moment per hub and name, then those rows), for /metrics."""
    last = ProbeResult.objects.values("hub_id", "name").annotate(last=Max("at")).values_list("hub_id", "name", "last")
    pairs = Q()
    wanted = set()
    for hub_id, name, at in last:
        pairs |= Q(hub_id=hub_id, name=name, at=at) if hub_id else Q(hub__isnull=True, name=name, at=at)
        wanted.add((hub_id, name))
    if not wanted:
        return []
    latest: dict[tuple[str | None, str], ProbeResult] = {}
    for result in ProbeResult.objects.filter(pairs).order_by("hub_id", "name", "-pk"):
        latest.setdefault((result.hub_id, result.name), result)
    return list(latest.values())


def probe_results_recent(*, hub_code: str | None, name: str, limit: int = 60) -> list[ProbeResult]:
    """A probe's last ``limit`` results, oldest first (the admin's sparkline)."""
    results = ProbeResult.objects.filter(name=name)
    results = results.filter(hub_id=hub_code) if hub_code else results.filter(hub__isnull=True)
    return list(reversed(results.order_by("-at", "-pk")[:limit]))


def open_critical_incidents_by_hub() -> dict[str | None, int]:
    """Unresolved critical incidents per hub code (None: the control plane);
    staff-only ones (an attack detected) are not the hub down."""
    rows = (
        Incident.objects.filter(severity=Incident.Severity.CRITICAL)
        .exclude(state=Incident.State.RESOLVED)
        .exclude(component__in=STAFF_ONLY_COMPONENTS)
        .values_list("hub_id")
        .annotate(count=Count("pk"))
        .values_list("hub_id", "count")
    )
    return dict(rows)


def status_delivery_wanted(delivery: StatusDelivery) -> bool:
    """Whether a subscriber's news still goes: the subscription is active."""
    return StatusSubscription.objects.filter(
        pk=delivery.subscription_id, state=StatusSubscription.State.ACTIVE
    ).exists()
