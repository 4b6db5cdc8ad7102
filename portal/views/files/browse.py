"""The folder listing: /files/ and every folder in it, sorted, a page at a time."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_GET

from portal.views.files.access import problem_page, request_tenant, tenant_required
from portal.views.files.display import (
    breadcrumbs,
    folder_entries,
    folder_url,
    parent_path,
    sort_links,
    storage_meter,
)
from portal.views.files.forms import ListingQueryForm, form_error
from portal.views.refusals import page_refusals
from snapshots import selectors
from snapshots.models import Node
from snapshots.paths import split_path

# 100 rows fill two phone screens and render in well under 100 ms; "Load more"
# fetches the next 100 with the keyset cursor, so the 10,000th row costs what
# the first does.
LISTING_PAGE_SIZE = 100


def _listed_folder_url(request: HttpRequest, subpath: str | None = None) -> str:
    """The folder being listed, from its first page: a refusal there is about the cursor."""
    return folder_url("/" + subpath if subpath is not None else request.GET.get("path") or "/")


@tenant_required
@require_GET
@page_refusals(back=_listed_folder_url, not_found_title="Folder not found")
def browse(request: HttpRequest, subpath: str | None = None) -> HttpResponse:
    """A folder: /files/ is the root, /files/Reports/2026 (or /files/?path=/Reports/2026) a folder in it."""
    tenant = request_tenant(request)
    query = request.GET.copy()
    if subpath is not None:
        query["path"] = "/" + subpath
    form = ListingQueryForm(query)
    if not form.is_valid():
        return problem_page(request, title="That address is not valid", detail=form_error(form), status=400)
    path = form.cleaned_data["path"] or "/"
    order = form.cleaned_data["order"] or "name"
    cursor = form.cleaned_data["cursor"] or None
    rows_only = request.GET.get("fragment") == "rows"
    folder = selectors.node_at_path(tenant=tenant, path=path)
    if folder.kind != Node.Kind.FOLDER:
        # A file's address opens its folder, where the file is listed.
        return HttpResponseRedirect(folder_url(parent_path(path)))
    page = selectors.folder_listing(tenant=tenant, folder=folder, order=order, cursor=cursor, limit=LISTING_PAGE_SIZE)
    next_url = folder_url(path, order=order, cursor=page.next_cursor) if page.next_cursor else ""
    context: dict[str, Any] = {
        "entries": folder_entries(tenant, path, page.items),
        "next_url": next_url,
        "next_fragment_url": folder_url(path, order=order, cursor=page.next_cursor, fragment="rows")
        if page.next_cursor
        else "",
    }
    if rows_only:
        return render(request, "portal/files/_rows.html", context)
    names = split_path(path)
    context.update(
        {
            "folder_path": path,
            "folder_name": names[-1] if names else "Files",
            "crumbs": breadcrumbs(path),
            "order": order,
            "sort_links": sort_links(path, order),
            "is_continuation": bool(cursor),
            "first_page_url": folder_url(path, order=order),
            **storage_meter(tenant),
            # "Select all N in this folder" is offered only past the first page; one count then.
            "children_total": selectors.live_child_count(tenant=tenant, folder=folder)
            if page.next_cursor or cursor
            else len(page.items),
            "max_file_bytes": tenant.effective_max_file_bytes,
            "refresh_url": folder_url(path, order=order),
        }
    )
    return render(request, "portal/files/browse.html", context)
