"""Browsing a snapshot or a moment, read only, and downloading a file as it was then."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_GET

from portal.downloads import file_download_response
from portal.views.files.access import request_tenant, tenant_required
from portal.views.files.display import Crumb, Entry, entries_of, folder_url, parent_path
from portal.views.files.forms import CursorField, PathField
from portal.views.refusals import page_refusals
from portal.views.snapshots.restore import MAX_SELECTED_PATHS
from portal.views.snapshots.source import Source, SourceForm, source_context, source_or_response, source_url
from snapshots import selectors
from snapshots.errors import WrongKind
from snapshots.models import Node, NodeVersion
from snapshots.paths import join_path, split_path

# The same page size as the file manager: 100 rows render in well under 100 ms.
LISTING_PAGE_SIZE = 100


class BrowseForm(SourceForm):
    path = PathField(required=False)
    cursor = CursorField()


def _snapshot_entries(source: Source, folder_path: str, versions: list[NodeVersion]) -> list[Entry]:
    return entries_of(
        folder_path,
        versions,
        url_of=lambda path, is_folder: source_url(
            "snapshot_browse" if is_folder else "snapshot_download", source=source, path=path
        ),
    )


def _snapshot_crumbs(source: Source, path: str) -> list[Crumb]:
    names = split_path(path)
    crumbs = [Crumb(label="All files", url=source_url("snapshot_browse", source=source))]
    for depth, name in enumerate(names):
        crumbs.append(
            Crumb(label=name, url=source_url("snapshot_browse", source=source, path=join_path(names[: depth + 1])))
        )
    return crumbs


def _browse_url(request: HttpRequest, *, path: str | None = None) -> str:
    """A folder of the snapshot or moment the request reads from (the root without ``path``)."""
    return source_url(
        "snapshot_browse", snapshot=request.GET.get("snapshot"), at=request.GET.get("at"), path=path or None
    )


def _listed_folder_url(request: HttpRequest) -> str:
    return _browse_url(request, path=request.GET.get("path"))


def _item_folder_url(request: HttpRequest) -> str:
    return _browse_url(request, path=parent_path(request.GET["path"]))


@tenant_required
@require_GET
@page_refusals(back=_listed_folder_url, not_found_title="Not in this snapshot", not_found_back=_browse_url)
def snapshot_browse(request: HttpRequest) -> HttpResponse:
    """A folder as it was at a snapshot or a moment, read only."""
    tenant = request_tenant(request)
    form = BrowseForm(request.GET)
    source = source_or_response(request, form)
    if isinstance(source, HttpResponse):
        return source
    path = form.cleaned_data["path"] or "/"
    cursor = form.cleaned_data["cursor"] or None
    rows_only = request.GET.get("fragment") == "rows"
    folder = selectors.node_at_path(tenant=tenant, path=path, seq=source.seq)
    if folder.kind != Node.Kind.FOLDER:
        return HttpResponseRedirect(source_url("snapshot_browse", source=source, path=parent_path(path)))
    page = selectors.folder_listing(
        tenant=tenant, folder=folder, seq=source.seq, cursor=cursor, limit=LISTING_PAGE_SIZE
    )
    versions, next_cursor = page.items, page.next_cursor
    context: dict[str, Any] = {
        "entries": _snapshot_entries(source, path, versions),
        "next_url": source_url("snapshot_browse", source=source, path=path, cursor=next_cursor) if next_cursor else "",
        "next_fragment_url": source_url(
            "snapshot_browse", source=source, path=path, cursor=next_cursor, fragment="rows"
        )
        if next_cursor
        else "",
    }
    if rows_only:
        return render(request, "portal/snapshots/_rows.html", context)
    names = split_path(path)
    context.update(source_context(source))
    context.update(
        {
            "folder_path": path,
            "folder_name": names[-1] if names else "All files",
            "crumbs": _snapshot_crumbs(source, path),
            "is_continuation": bool(cursor),
            "first_page_url": source_url("snapshot_browse", source=source, path=path),
            "restore_folder_url": source_url("snapshot_restore", source=source, paths=[path]),
            "live_folder_url": folder_url(path),
            "max_selected": MAX_SELECTED_PATHS,
        }
    )
    return render(request, "portal/snapshots/browse.html", context)


class SnapshotItemForm(SourceForm):
    path = PathField()


@tenant_required
@require_GET
@page_refusals(back=_item_folder_url, not_found_title="Not in this snapshot", not_found_back=_browse_url)
def snapshot_download(request: HttpRequest) -> HttpResponseBase:
    """A file's content as it was then, streamed from the hub's storage."""
    tenant = request_tenant(request)
    form = SnapshotItemForm(request.GET)
    source = source_or_response(request, form)
    if isinstance(source, HttpResponse):
        return source
    path = form.cleaned_data["path"]
    version = selectors.node_at_path(tenant=tenant, path=path, seq=source.seq)
    if version.kind != Node.Kind.FILE or version.blob is None:
        raise WrongKind(f"{path} is a folder; open it to download the files in it.")
    return file_download_response(request, tenant=tenant, version=version)
