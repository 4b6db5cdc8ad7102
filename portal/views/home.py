"""The home page of a workspace: what a person wants to see on landing.

Storage against the quota, the newest snapshot, restores running or finished
lately, recent activity, the hub's status now and its next maintenance. Each
figure comes from the selector its own page uses, so the home page never
says something the page behind its link would not.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from hubs.display import zone_label
from hubs.selectors import windows_announced_for_hub
from hubs.uptime_read import hub_status_now
from portal.selectors import memberships_for_user
from portal.signed_in import signed_in_user
from portal.two_factor import user_has_two_factor
from portal.views.files.display import activity_entries, storage_meter
from snapshots import selectors
from snapshots.models import RestoreJob
from snapshots.selectors.history import restore_job_page, snapshots_in_retention

HOME_ACTIVITY_ROWS = 8
HOME_RESTORES = 5
# Finished restores older than this are history, not news: the Restores page lists them.
RECENT_RESTORE_DAYS = 7


@login_required
def home(request: HttpRequest) -> HttpResponse:
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        if memberships_for_user(user=signed_in_user(request)).exists():
            return redirect(f"{reverse('tenant_choose')}?next={reverse('home')}")
        return render(request, "portal/accounts/no_workspace.html", status=200)
    now = timezone.now()
    recent_since = now - timedelta(days=RECENT_RESTORE_DAYS)
    restores = [
        job
        for job in restore_job_page(tenant=tenant, limit=HOME_RESTORES).items
        if job.state in (RestoreJob.State.QUEUED, RestoreJob.State.RUNNING) or job.created_at >= recent_since
    ]
    windows = windows_announced_for_hub(hub_code=tenant.hub_id, now=now)
    return render(
        request,
        "portal/home.html",
        {
            "tenant": tenant,
            "membership": request.membership,  # type: ignore[attr-defined]
            "has_two_factor": user_has_two_factor(user=signed_in_user(request)),
            **storage_meter(tenant),
            "newest_snapshot": snapshots_in_retention(tenant=tenant).order_by("-taken_at").first(),
            "restores": restores,
            "entries": activity_entries(selectors.activity(tenant=tenant, limit=HOME_ACTIVITY_ROWS).items),
            "hub_status": hub_status_now(hub_code=tenant.hub_id, now=now),
            "next_window": windows[0] if windows else None,
            "zone": zone_label(now),
            "now": now,
        },
    )
