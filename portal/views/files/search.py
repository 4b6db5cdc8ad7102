"""Search by name: /search/, and the results the file manager shows as you type.

The box in the file manager asks for ``?fragment=results`` (htmx, after a pause
in typing: ``hx-trigger`` with ``delay``, no script of ours) and puts the
answer under itself; without JavaScript the same box opens this page. "Load
more" asks for ``?fragment=rows``. A text the store refuses ("reports/") is
said in the results, not as an error page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from hubs.models import Tenant
from portal.views.files.access import problem_page, request_tenant, tenant_required
from portal.views.files.display import folder_url, parent_path, subtree_bytes, with_query
from portal.views.files.forms import CursorField, form_error
from portal.views.refusals import page_refusals
from snapshots.errors import InvalidSearch
from snapshots.models import Node
from snapshots.selectors.search import MAX_QUERY_CHARS, SearchHit, search_names

# 25 hits fit a laptop screen under the box; "Load more" brings the next 25.
SEARCH_PAGE_SIZE = 25


class SearchQueryForm(forms.Form):
    q = forms.CharField(max_length=MAX_QUERY_CHARS, required=False, strip=False)
    deleted = forms.BooleanField(required=False)
    cursor = CursorField()


@dataclass(frozen=True)
class SearchEntry:
    name: str
    path: str
    folder: str
    folder_url: str
    url: str
    is_folder: bool
    size: int
    modified_at: datetime
    deleted_at: datetime | None


def _entries(tenant: Tenant, hits: list[SearchHit], *, deleted: bool) -> list[SearchEntry]:
    folder_sizes = subtree_bytes(tenant, [hit.version for hit in hits])
    rows = []
    for hit in hits:
        version = hit.version
        is_folder = version.kind == Node.Kind.FOLDER
        folder = parent_path(hit.path)
        if deleted:
            url = with_query("trash", q=version.name)
        elif is_folder:
            url = folder_url(hit.path)
        else:
            url = with_query("files_download", path=hit.path)
        rows.append(
            SearchEntry(
                name=version.name,
                path=hit.path,
                folder=folder,
                folder_url=folder_url(folder),
                url=url,
                is_folder=is_folder,
                size=folder_sizes.get(version.node_id, 0) if is_folder else version.size,
                modified_at=version.changed_at,
                deleted_at=version.closed_at if deleted else None,
            )
        )
    return rows


def _search_url(request: HttpRequest) -> str:
    return with_query("files_search", q=request.GET.get("q", "")[:MAX_QUERY_CHARS])


@tenant_required
@require_GET
@page_refusals(back=_search_url)
def search(request: HttpRequest) -> HttpResponse:
    tenant = request_tenant(request)
    form = SearchQueryForm(request.GET)
    if not form.is_valid():
        return problem_page(request, title="That address is not valid", detail=form_error(form), status=400)
    text: str = form.cleaned_data["q"]
    deleted: bool = form.cleaned_data["deleted"]
    cursor = form.cleaned_data["cursor"] or None
    fragment = request.GET.get("fragment", "")
    context: dict[str, Any] = {"query": text, "deleted": deleted, "entries": [], "refusal": "", "next_url": ""}
    if text.strip():
        try:
            page = search_names(tenant=tenant, text=text, deleted=deleted, cursor=cursor, limit=SEARCH_PAGE_SIZE)
        except InvalidSearch as refusal:
            context["refusal"] = refusal.detail
        else:
            more = {"q": text, "deleted": "on" if deleted else "", "cursor": page.next_cursor or ""}
            context.update(
                {
                    "entries": _entries(tenant, page.items, deleted=deleted),
                    "next_url": with_query("files_search", **more) if page.next_cursor else "",
                    "next_fragment_url": with_query("files_search", **more, fragment="rows")
                    if page.next_cursor
                    else "",
                }
            )
    if fragment == "rows":
        return render(request, "portal/files/_search_rows.html", context)
    if fragment == "results":
        return render(request, "portal/files/_search_results.html", context)
    context["is_continuation"] = bool(cursor)
    return render(request, "portal/files/search.html", context)
