"""Restore jobs: the list, one job's live progress, and cancelling it."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from hubs.display import zone_label
from hubs.models import Tenant
from portal.signed_in import signed_in_user
from portal.views.files.access import problem_page, request_tenant, tenant_required
from portal.views.files.display import folder_url, parent_path
from portal.views.files.forms import CursorQueryForm, form_error
from portal.views.refusals import page_refusals
from portal.views.snapshots.source import source_url
from snapshots.models import RestoreJob
from snapshots.selectors.history import restore_job_get, restore_job_page
from snapshots.services import restore_cancel

RESTORES_PAGE_SIZE = 50


def _job_context(tenant: Tenant, job: RestoreJob) -> dict[str, Any]:
    if job.target:
        result_url = folder_url(job.target)
    elif len(job.paths) == 1:
        result_url = folder_url(parent_path(job.paths[0]))
    else:
        result_url = folder_url("/")
    return {
        "job": job,
        "source_zone": zone_label(job.source_at),
        "progress_url": reverse("restore_job_progress", kwargs={"job_id": job.pk}),
        "cancel_url": reverse("restore_job_cancel", kwargs={"job_id": job.pk}),
        "result_url": result_url,
        "counts": [
            ("Restored", job.restored, "restored"),
            ("Renamed", job.renamed, "renamed"),
            ("Overwritten", job.overwritten, "overwritten"),
            ("Unchanged", job.unchanged, "unchanged"),
            ("Skipped", job.skipped, "skipped"),
            ("Failed", job.failed, "failed"),
            *([("Moved to Recently deleted", job.removed, "removed")] if job.mode == RestoreJob.Mode.EXACT else []),
        ],
        "pre_restore_url": source_url("snapshot_browse", snapshot=job.pre_restore_snapshot_id)
        if job.pre_restore_snapshot_id
        else "",
        "source_snapshot_url": source_url("snapshot_browse", snapshot=job.snapshot_id) if job.snapshot_id else "",
    }


def _restores_url(request: HttpRequest, job_id: int | None = None) -> str:
    return reverse("restores")


def _job_url(request: HttpRequest, job_id: int) -> str:
    return reverse("restore_job", kwargs={"job_id": job_id})


@tenant_required
@require_GET
@page_refusals(not_found_title="Restore not found", not_found_back=_restores_url)
def restore_job(request: HttpRequest, job_id: int) -> HttpResponse:
    tenant = request_tenant(request)
    job = restore_job_get(tenant=tenant, job_id=job_id)
    return render(request, "portal/snapshots/job.html", _job_context(tenant, job))


@tenant_required
@require_GET
@page_refusals(not_found_title="Restore not found", not_found_back=_restores_url)
def restore_job_progress(request: HttpRequest, job_id: int) -> HttpResponse:
    """The part of the job page that changes; polled every second until the job ends."""
    tenant = request_tenant(request)
    job = restore_job_get(tenant=tenant, job_id=job_id)
    return render(request, "portal/snapshots/_job_progress.html", _job_context(tenant, job))


@tenant_required
@require_POST
@page_refusals(back=_job_url, not_found_title="Restore not found", not_found_back=_restores_url)
def restore_job_cancel(request: HttpRequest, job_id: int) -> HttpResponse:
    tenant = request_tenant(request)
    restore_job_get(tenant=tenant, job_id=job_id)  # refuses ids past a database column too
    job = restore_cancel(tenant=tenant, job_id=job_id, acting_user=signed_in_user(request))
    if job.is_finished:
        messages.success(request, "Restore cancelled before it started; nothing was changed.")
    else:
        messages.success(request, "Stopping the restore after the batch it is in; what that batch restored stays.")
    return HttpResponseRedirect(_job_url(request, job_id))


@tenant_required
@require_GET
@page_refusals(back=_restores_url)
def restore_list(request: HttpRequest) -> HttpResponse:
    tenant = request_tenant(request)
    form = CursorQueryForm(request.GET)
    if not form.is_valid():
        return problem_page(request, title="That address is not valid", detail=form_error(form), status=400)
    page = restore_job_page(tenant=tenant, cursor=form.cleaned_data["cursor"] or None, limit=RESTORES_PAGE_SIZE)
    return render(
        request,
        "portal/snapshots/restores.html",
        {
            "jobs": page.items,
            "zone": zone_label(timezone.now()),
            "is_continuation": bool(form.cleaned_data["cursor"]),
            "next_url": source_url("restores", cursor=page.next_cursor) if page.next_cursor else "",
        },
    )
