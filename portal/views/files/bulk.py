"""Many items at once from the pages: the files page's ticked items (or all of
a folder's) downloaded as one zip, moved or deleted, and Recently deleted's
ticked items (or all matching its filter) restored. Each write is one call of
a bulk service: one transaction, one step of the activity log."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from hubs.display import time_label
from hubs.models import Tenant
from hubs.roles import Action
from portal.signed_in import signed_in_user
from portal.views.files.access import request_tenant, tenant_required
from portal.views.files.display import Crumb, folder_url, with_query
from portal.views.files.forms import BulkForm, ItemForm, TrashBulkForm, form_error
from portal.views.refusals import page_refusals
from portal.zips import zip_response
from snapshots import selectors, services
from snapshots.errors import InvalidPath
from snapshots.models import Node
from snapshots.paths import join_path, split_path


def _folder_back(request: HttpRequest) -> str:
    try:
        return folder_url(join_path(split_path(request.POST.get("folder", "/"))))
    except InvalidPath:
        return folder_url("/")


def folder_item_paths(*, tenant: Tenant, folder: str) -> list[str]:
    """Every item directly in ``folder``, as paths: what "all N in this folder" means."""
    version = selectors.node_at_path(tenant=tenant, path=folder)
    names = split_path(folder)
    limit = settings.HUBPORT_BULK_MAX_ITEMS
    page = selectors.folder_children(tenant=tenant, folder=version, limit=limit + 1)
    if len(page.items) > limit:
        raise InvalidPath(
            f"This folder holds more than {limit:,} items; act on the folder itself, or on fewer items at a time."
        )
    return [join_path([*names, child.name]) for child in page.items]


def _label(paths: list[str]) -> str:
    return f"“{split_path(paths[0])[-1]}”" if len(paths) == 1 else f"{len(paths)} items"


def _bulk_action(request: HttpRequest) -> Action | None:
    """A zip of ticked rows only reads: read-only members may download it."""
    return Action.READ if request.POST.get("action") == "zip" else None


@tenant_required(action_of=_bulk_action)
@require_POST
@page_refusals(back=_folder_back)
def bulk(request: HttpRequest) -> HttpResponseBase:
    """POST from the files page's selection bar: zip, move (a folder picker
    first), or delete (a confirmation first)."""
    tenant = request_tenant(request)
    form = BulkForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_error(form))
        return HttpResponseRedirect(_folder_back(request))
    folder = join_path(split_path(form.cleaned_data["folder"]))
    paths = form.cleaned_data["paths"]
    if form.cleaned_data["all_in_folder"]:
        paths = folder_item_paths(tenant=tenant, folder=folder)
        if not paths:
            messages.error(request, "This folder is empty.")
            return HttpResponseRedirect(folder_url(folder))
    action = form.cleaned_data["action"]
    if action == "zip":
        names = split_path(folder)
        return zip_response(tenant=tenant, paths=paths, archive_name=f"{names[-1] if names else 'Files'}.zip")
    if action == "delete":
        return _bulk_delete(request, tenant, folder, paths, confirmed=form.cleaned_data["confirm"])
    return _bulk_move(request, tenant, folder, paths, to=form.cleaned_data["to"])


def _bulk_delete(
    request: HttpRequest, tenant: Tenant, folder: str, paths: list[str], *, confirmed: bool
) -> HttpResponse:
    restorable_until = timezone.now() + timedelta(days=settings.SNAPSHOT_RETENTION_DAYS)
    if not confirmed:
        return render(
            request,
            "portal/files/bulk_delete.html",
            {"paths": paths, "folder": folder, "count": len(paths), "cancel_url": folder_url(folder)},
        )
    services.nodes_delete(tenant=tenant, paths=paths, acting_user=signed_in_user(request))
    messages.success(
        request,
        f"Deleted {_label(paths)}. You can restore {'it' if len(paths) == 1 else 'them'} from Recently deleted "
        f"until {time_label(restorable_until)}.",
    )
    return HttpResponseRedirect(folder_url(folder))


# The picker shows 200 folders at a time; a longer list is narrowed by opening one.
PICKER_FOLDERS = 200


def _bulk_move(request: HttpRequest, tenant: Tenant, folder: str, paths: list[str], *, to: str) -> HttpResponse:
    """Without ``confirm``: the folder picker at ``to`` (each step a POST that
    carries the ticked items). With it: move them all into ``to``."""
    to = join_path(split_path(to or folder))
    if request.POST.get("confirm"):
        services.nodes_move(tenant=tenant, paths=paths, to_folder=to, acting_user=signed_in_user(request))
        messages.success(request, f"Moved {_label(paths)} to {to}.")
        return HttpResponseRedirect(folder_url(to))
    destination = selectors.node_at_path(tenant=tenant, path=to)
    if destination.kind != Node.Kind.FOLDER:
        raise InvalidPath(f"{to} is a file, not a folder.")
    to_names = split_path(to)
    subfolders = selectors.folder_children(
        tenant=tenant, folder=destination, limit=PICKER_FOLDERS, kind=Node.Kind.FOLDER
    ).items
    chosen = set(paths)
    context: dict[str, Any] = {
        "paths": paths,
        "folder": folder,
        "count": len(paths),
        "to": to,
        "to_name": to_names[-1] if to_names else "Files",
        "subfolders": [
            (join_path([*to_names, version.name]), version.name)
            for version in subfolders
            if join_path([*to_names, version.name]) not in chosen
        ],
        "crumbs": [Crumb(label="Files", url="/")]
        + [Crumb(label=name, url=join_path(to_names[: depth + 1])) for depth, name in enumerate(to_names)],
        "cancel_url": folder_url(folder),
    }
    return render(request, "portal/files/bulk_move.html", context)


def _item_folder_back(request: HttpRequest) -> str:
    try:
        return folder_url(join_path(split_path(request.GET.get("path", "/"))[:-1]))
    except InvalidPath:
        return folder_url("/")


@tenant_required
@require_GET
@page_refusals(back=_item_folder_back)
def folder_zip(request: HttpRequest) -> HttpResponseBase:
    """GET ?path=/Reports: a folder and everything in it as Reports.zip."""
    tenant = request_tenant(request)
    form = ItemForm(request.GET)
    if not form.is_valid():
        messages.error(request, form_error(form))
        return HttpResponseRedirect(folder_url("/"))
    names = split_path(form.cleaned_data["path"])
    return zip_response(tenant=tenant, paths=[join_path(names)], archive_name=f"{names[-1] if names else 'Files'}.zip")


def _trash_back(request: HttpRequest) -> str:
    return with_query("trash", q=request.POST.get("q", "")[:255])


@tenant_required
@require_POST
@page_refusals(back=_trash_back, not_found_title="Not in Recently deleted", not_found_back=_trash_back)
def trash_bulk_restore(request: HttpRequest) -> HttpResponse:
    """POST from Recently deleted's selection bar: bring the ticked items back (or all the filter matches)."""
    tenant = request_tenant(request)
    form = TrashBulkForm(request.POST)
    back = _trash_back(request)
    if not form.is_valid():
        messages.error(request, form_error(form))
        return HttpResponseRedirect(back)
    ids = form.cleaned_data["ids"]
    if form.cleaned_data["all_matching"]:
        limit = settings.HUBPORT_BULK_MAX_ITEMS
        page = selectors.trash_items(tenant=tenant, query=form.cleaned_data["q"].strip() or None, limit=limit + 1)
        if len(page.items) > limit:
            raise InvalidPath(f"More than {limit:,} items match; narrow the filter or restore their folders.")
        ids = [item.pk for item in page.items]
    restored = services.trash_restore_many(tenant=tenant, version_ids=ids, acting_user=signed_in_user(request))
    messages.success(
        request,
        f"Restored {len(restored)} item{'s' if len(restored) != 1 else ''} to where they were "
        "(a name taken meanwhile gets “(restored)”).",
    )
    return HttpResponseRedirect(back)
