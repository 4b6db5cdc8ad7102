"""The tenant's activity: every change to its files, newest first."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from portal.views.files.access import problem_page, request_tenant, tenant_required
from portal.views.files.display import activity_entries, with_query
from portal.views.files.forms import CursorQueryForm, form_error
from portal.views.refusals import page_refusals
from snapshots import selectors

ACTIVITY_PAGE_SIZE = 50


@tenant_required
@require_GET
@page_refusals(back=lambda request: reverse("activity"), rows_colspan=3)
def activity(request: HttpRequest) -> HttpResponse:
    tenant = request_tenant(request)
    form = CursorQueryForm(request.GET)
    if not form.is_valid():
        return problem_page(request, title="That address is not valid", detail=form_error(form), status=400)
    rows_only = request.GET.get("fragment") == "rows"
    page = selectors.activity(tenant=tenant, cursor=form.cleaned_data["cursor"] or None, limit=ACTIVITY_PAGE_SIZE)
    context: dict[str, Any] = {
        "entries": activity_entries(page.items),
        "next_url": with_query("activity", cursor=page.next_cursor) if page.next_cursor else "",
        "next_fragment_url": with_query("activity", cursor=page.next_cursor, fragment="rows")
        if page.next_cursor
        else "",
    }
    if rows_only:
        return render(request, "portal/files/_activity_rows.html", context)
    context.update({"is_continuation": bool(form.cleaned_data["cursor"]), "first_page_url": reverse("activity")})
    return render(request, "portal/files/activity.html", context)
