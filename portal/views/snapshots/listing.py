"""The snapshots page: the retention's snapshots by day, the schedule, and taking one now."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from hubs.display import time_label, zone_label
from hubs.models import Membership, Tenant
from portal.services.tenant_settings import tenant_snapshot_schedule_set
from portal.signed_in import signed_in_user
from portal.views.files.access import problem_page, request_tenant, tenant_required
from portal.views.files.display import with_query
from portal.views.files.forms import CursorQueryForm, form_error
from portal.views.refusals import page_refusals
from snapshots import selectors
from snapshots.models import Snapshot
from snapshots.selectors.history import snapshot_page, snapshots_in_retention
from snapshots.services import snapshot_create, snapshot_expires_at


def _membership(request: HttpRequest) -> Membership:
    return request.membership  # type: ignore[attr-defined]


def _whole_minute_from(moment: datetime) -> datetime:
    """The first whole minute at or after ``moment``: a datetime-local input has no seconds."""
    floor = moment.replace(second=0, microsecond=0)
    return floor if floor == moment else floor + timedelta(minutes=1)


def _earliest_moment(tenant: Tenant) -> datetime:
    """The earliest minute the picker offers: the later of the retention edge
    (a minute in, as the edge moves on while the person chooses) and the
    account's first change (before it there are no files to show)."""
    edge = selectors.retention_start() + timedelta(minutes=1)
    first_change = selectors.first_change_at(tenant=tenant) or edge
    return _whole_minute_from(max(edge, first_change))


def _local_input_value(moment: datetime) -> str:
    """A moment as a datetime-local input shows it, in the active (the person's) zone."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


# A page of the list: about two days of hourly snapshots. The retention holds
# up to 760 (28 days of hourly ones plus manual and pre-restore ones); all of
# them at once were 650-770 KiB of HTML and 300-370 ms, 96 % of it template time.
SNAPSHOTS_PAGE_SIZE = 50


@dataclass(frozen=True)
class SnapshotDay:
    day: date
    label: str
    snapshots: list[Snapshot]
    # Taken that day in the whole retention, not only on this page.
    day_total: int


def _day_label(day: date, today: date) -> str:
    if day == today:
        return f"Today, {day:%-d %B}"
    if day == today - timedelta(days=1):
        return f"Yesterday, {day:%-d %B}"
    return f"{day:%A %-d %B}"


def snapshot_days(snapshots: list[Snapshot], day_totals: Counter[date]) -> list[SnapshotDay]:
    """Newest first, grouped by the day they were taken in the active (the person's) zone."""
    today = timezone.localdate()
    days: list[SnapshotDay] = []
    for snapshot in snapshots:
        day = timezone.localtime(snapshot.taken_at).date()
        if not days or days[-1].day != day:
            days.append(
                SnapshotDay(day=day, label=_day_label(day, today), snapshots=[], day_total=day_totals.get(day, 0))
            )
        days[-1].snapshots.append(snapshot)
    return days


def _day_totals(tenant: Tenant) -> Counter[date]:
    """Snapshots per local day over the whole retention: one column of at most
    about 760 rows, read from the (tenant, taken_at) index, so a day that
    continues on the next page still says how many it holds."""
    taken = snapshots_in_retention(tenant=tenant).order_by().values_list("taken_at", flat=True)
    return Counter(timezone.localtime(moment).date() for moment in taken)


@tenant_required
@require_GET
@page_refusals(back=lambda request: reverse("snapshots"))
def snapshot_list(request: HttpRequest) -> HttpResponse:
    tenant = request_tenant(request)
    form = CursorQueryForm(request.GET)
    if not form.is_valid():
        return problem_page(request, title="That address is not valid", detail=form_error(form), status=400)
    cursor = form.cleaned_data["cursor"] or None
    page = snapshot_page(tenant=tenant, cursor=cursor, limit=SNAPSHOTS_PAGE_SIZE)
    snapshots: list[Snapshot] = page.items
    for snapshot in snapshots:
        snapshot.expires_at = snapshot_expires_at(snapshot)  # type: ignore[attr-defined]
    day_totals = _day_totals(tenant)
    now = timezone.now()
    earliest = _earliest_moment(tenant)
    return render(
        request,
        "portal/snapshots/list.html",
        {
            "days": snapshot_days(snapshots, day_totals),
            "snapshot_count": day_totals.total(),
            "is_continuation": cursor is not None,
            "next_url": with_query("snapshots", cursor=page.next_cursor) if page.next_cursor else "",
            "zone": zone_label(now),
            "zone_name": tenant.hub.time_zone,
            "retention_days": settings.SNAPSHOT_RETENTION_DAYS,
            "earliest": earliest,
            "earliest_input": _local_input_value(earliest),
            # An account made within the last minute: the span is that one minute.
            "latest_input": _local_input_value(max(now, earliest)),
            "default_input": _local_input_value(max(now - timedelta(days=1), earliest)),
            "schedule": tenant.get_snapshot_schedule_display().lower(),
            "schedule_form": ScheduleForm(initial={"schedule": tenant.snapshot_schedule}),
            "can_change_schedule": _membership(request).can_administer,
        },
    )


class ScheduleForm(forms.Form):
    schedule = forms.ChoiceField(
        choices=Tenant.SnapshotSchedule.choices,
        error_messages={"invalid_choice": "Choose every hour, every 4 hours or every day."},
    )


@tenant_required
@require_POST
def snapshot_schedule(request: HttpRequest) -> HttpResponse:
    """Owners and admins set how often scheduled snapshots are taken; the
    service refuses anyone else (403)."""
    form = ScheduleForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_error(form))
        return HttpResponseRedirect(reverse("snapshots"))
    tenant = tenant_snapshot_schedule_set(
        tenant=request_tenant(request), acting_user=signed_in_user(request), schedule=form.cleaned_data["schedule"]
    )
    messages.success(request, f"Scheduled snapshots are now taken {tenant.get_snapshot_schedule_display().lower()}.")
    return HttpResponseRedirect(reverse("snapshots"))


@tenant_required
@require_POST
@page_refusals(back=lambda request: reverse("snapshots"))
def snapshot_take(request: HttpRequest) -> HttpResponse:
    tenant = request_tenant(request)
    snapshot = snapshot_create(
        tenant=tenant,
        kind=Snapshot.Kind.MANUAL,
        acting_user=signed_in_user(request),
    )
    messages.success(
        request,
        f"Snapshot taken at {time_label(snapshot.taken_at, 'H:i')}: "
        f"{snapshot.file_count} file{'s' if snapshot.file_count != 1 else ''}. It is kept until "
        f"{time_label(snapshot_expires_at(snapshot))}.",
    )
    return HttpResponseRedirect(reverse("snapshots"))
