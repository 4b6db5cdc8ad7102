"""Recently deleted: what can still be restored, and one-click restore."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from hubs.models import Tenant
from portal.signed_in import signed_in_user
from portal.views.files.access import problem_page, request_tenant, tenant_required
from portal.views.files.display import folder_url, parent_path, subtree_bytes, with_query
from portal.views.files.forms import RestoreForm, TrashQueryForm, form_error
from portal.views.refusals import page_refusals
from snapshots import selectors, services
from snapshots.models import Node, NodeVersion
from snapshots.selectors.trash import trash_original_paths

TRASH_PAGE_SIZE = 50


@dataclass(frozen=True)
class TrashEntry:
    version_id: int
    name: str
    is_folder: bool
    size: int
    original_path: str
    original_folder: str
    original_folder_url: str
    deleted_at: datetime
    deleted_by: str
    restorable_until: datetime


def _trash_entries(tenant: Tenant, versions: list[NodeVersion]) -> list[TrashEntry]:
    folder_sizes = subtree_bytes(tenant, versions)
    # One query per folder level for the whole page, not one per level per item.
    original_paths = trash_original_paths(tenant=tenant, items=versions)
    rows = []
    for version in versions:
        deleted_at = version.closed_at
        assert deleted_at is not None  # items in Recently deleted are closed versions
        original = original_paths[version.pk]
        folder = parent_path(original)
        is_folder = version.kind == Node.Kind.FOLDER
        rows.append(
            TrashEntry(
                version_id=version.pk,
                name=version.name,
                is_folder=is_folder,
                size=folder_sizes.get(version.node_id, 0) if is_folder else version.size,
                original_path=original,
                original_folder=folder,
                original_folder_url=folder_url(folder),
                deleted_at=deleted_at,
                deleted_by=version.closed_by_label or "Hubport",
                restorable_until=selectors.restorable_until(version),
            )
        )
    return rows


def _trash_url(request: HttpRequest) -> str:
    """Recently deleted, filtered as the request was."""
    query = request.POST if request.method == "POST" else request.GET
    return with_query("trash", q=query.get("q", "")[:255])


@tenant_required
@require_GET
@page_refusals(back=_trash_url)
def trash(request: HttpRequest) -> HttpResponse:
    tenant = request_tenant(request)
    form = TrashQueryForm(request.GET)
    if not form.is_valid():
        return problem_page(request, title="That address is not valid", detail=form_error(form), status=400)
    query = form.cleaned_data["q"].strip()
    rows_only = request.GET.get("fragment") == "rows"
    page = selectors.trash_items(
        tenant=tenant, query=query or None, cursor=form.cleaned_data["cursor"] or None, limit=TRASH_PAGE_SIZE
    )
    entries = _trash_entries(tenant, page.items)
    context: dict[str, Any] = {
        "entries": entries,
        "query": query,
        "next_url": with_query("trash", q=query, cursor=page.next_cursor) if page.next_cursor else "",
        "next_fragment_url": with_query("trash", q=query, cursor=page.next_cursor, fragment="rows")
        if page.next_cursor
        else "",
    }
    if rows_only:
        return render(request, "portal/files/_trash_rows.html", context)
    context.update(
        {
            "is_continuation": bool(form.cleaned_data["cursor"]),
            "first_page_url": with_query("trash", q=query),
            "matching_total": selectors.trash_count(tenant=tenant, query=query or None)
            if page.next_cursor or form.cleaned_data["cursor"]
            else len(entries),
            "retention_days": settings.SNAPSHOT_RETENTION_DAYS,
        }
    )
    return render(request, "portal/files/trash.html", context)


@tenant_required
@require_POST
@page_refusals(back=_trash_url, not_found_title="Not in Recently deleted", not_found_back=_trash_url)
def trash_restore(request: HttpRequest) -> HttpResponse:
    tenant = request_tenant(request)
    form = RestoreForm(request.POST)
    back = _trash_url(request)
    if not form.is_valid():
        messages.error(request, form_error(form))
        return HttpResponseRedirect(back)
    version = services.trash_restore(
        tenant=tenant,
        version_id=form.cleaned_data["version_id"],
        acting_user=signed_in_user(request),
    )
    path = selectors.path_of(tenant=tenant, node_id=version.node_id)
    deleted_name = (
        selectors.versions(tenant=tenant)
        .filter(pk=form.cleaned_data["version_id"])
        .values_list("name", flat=True)
        .first()
    )
    folder = parent_path(path)
    if deleted_name and deleted_name != version.name:
        text = (
            f"Restored “{deleted_name}” to {folder} as “{version.name}”, because an item named "
            f"“{deleted_name}” is there now."
        )
    else:
        text = f"Restored “{version.name}” to {folder}."
    messages.success(request, text)
    return HttpResponseRedirect(back)
