"""The tenant's activity: every change to its files, newest first."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from portal.views.files.access import problem_page, request_tenant, tenant_required
from portal.views.files.display import with_query
from portal.views.files.forms import CursorQueryForm, form_error
from snapshots import selectors
from snapshots.errors import StoreError

ACTIVITY_PAGE_SIZE = 50


@tenant_required
@require_GET
def activity(request: HttpRequest) -> HttpResponse:
    tenant = request_tenant(request)
    form = CursorQueryForm(request.GET)
    if not form.is_valid():
        return problem_page(request, title="That address is not valid", detail=form_error(form), status=400)
    rows_only = request.GET.get("fragment") == "rows"
    try:
        page = selectors.activity(tenant=tenant, cursor=form.cleaned_data["cursor"] or None, limit=ACTIVITY_PAGE_SIZE)
    except StoreError as error:
        if rows_only:
            return render(request, "portal/files/_row_error.html", {"error": error.detail, "colspan": 3})
        messages.error(request, error.detail)
        return HttpResponseRedirect(reverse("activity"))
    context: dict[str, Any] = {
        "changes": page.items,
        "next_url": with_query("activity", cursor=page.next_cursor) if page.next_cursor else "",
        "next_fragment_url": with_query("activity", cursor=page.next_cursor, fragment="rows")
        if page.next_cursor
        else "",
    }
    if rows_only:
        return render(request, "portal/files/_activity_rows.html", context)
    context.update({"is_continuation": bool(form.cleaned_data["cursor"]), "first_page_url": reverse("activity")})
    return render(request, "portal/files/activity.html", context)
