"""What the file manager does to items: upload, new folder, rename, move, delete and download."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hubs.display import time_label
from hubs.errors import DomainError
from hubs.models import Tenant
from portal.downloads import file_download_response
from portal.problems import problem_response, refusal_response
from portal.signed_in import signed_in_user
from portal.uploads import upload_body
from portal.views.files.access import page_role_refusal, problem_page, request_tenant, tenant_required
from portal.views.files.display import Crumb, folder_entries, folder_url, parent_path, with_query
from portal.views.files.forms import (
    ItemForm,
    MoveForm,
    MovePickerForm,
    NewFolderForm,
    RenameForm,
    UploadConflictsForm,
    UploadForm,
    form_error,
)
from portal.views.refusals import page_refusals
from snapshots import selectors, services
from snapshots.errors import InvalidPath, StoreError, WrongKind
from snapshots.models import Node
from snapshots.paths import join_path, split_path

MOVE_PICKER_PAGE_SIZE = 100


# SECTION: upload


@require_http_methods(["PUT"])
def upload(request: HttpRequest) -> HttpResponse:
    """PUT /file-actions/upload?path=/Reports/a.pdf&on_conflict=fail with the raw file as the body.

    The request itself is the stream the store reads: the body goes to disk
    while it is hashed and is never held whole in memory (never request.body).
    Answers JSON, so the page's script can show each file's outcome; a refusal
    is the same problem the API answers. ``on_conflict`` is the store's
    (replace, keep_both, fail); the page asks the person before it sends
    replace or keep_both, and sends fail otherwise.
    """
    if not request.user.is_authenticated:
        return problem_response(
            code="not_authenticated", title="Signed out", detail="You are signed out. Sign in again and retry."
        )
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        return problem_response(code="forbidden", title="No workspace", detail="Choose a workspace first, then retry.")
    if (refusal := page_role_refusal(request)) is not None:
        return refusal
    form = UploadForm(request.GET)
    try:
        if not form.is_valid():
            raise InvalidPath(form_error(form))
        stream, content_length = upload_body(request)
        version = services.file_write(
            tenant=tenant,
            path=form.cleaned_data["path"],
            stream=stream,
            content_length=content_length,
            acting_user=signed_in_user(request),
            on_conflict=form.cleaned_data["on_conflict"],
        )
    except DomainError as error:
        return refusal_response(request, error)
    path = join_path([*split_path(form.cleaned_data["path"])[:-1], version.name])
    return JsonResponse({"name": version.name, "path": path, "size": version.size}, status=201)


@require_POST
def upload_conflicts(request: HttpRequest) -> HttpResponse:
    """POST folder=/Reports&name=a.pdf&name=b.pdf: which of the names a live
    item holds in the folder, so the page asks once before it uploads
    (``{"taken": {"a.pdf": "file"}}``). The upload itself checks again."""
    if not request.user.is_authenticated:
        return problem_response(
            code="not_authenticated", title="Signed out", detail="You are signed out. Sign in again and retry."
        )
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        return problem_response(code="forbidden", title="No workspace", detail="Choose a workspace first, then retry.")
    form = UploadConflictsForm(request.POST, names=request.POST.getlist("name"))
    if not form.is_valid():
        return refusal_response(request, InvalidPath(form_error(form)))
    taken = selectors.live_names_taken(tenant=tenant, folder=form.cleaned_data["folder"], names=form.names)
    return JsonResponse({"taken": taken})


# SECTION: folders, rename, move, delete


def _redirect_to_folder(path: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(folder_url(path))


def _request_folder(request: HttpRequest) -> str:
    """The folder to go back to: the given parent or the item's folder, if valid; else the root."""
    given = request.POST if request.method == "POST" else request.GET
    for key, parent_of in (("parent", False), ("path", True)):
        value = given.get(key)
        if value:
            try:
                names = split_path(value)
            except StoreError:
                continue
            return join_path(names[:-1] if parent_of else names)
    return "/"


def _request_folder_url(request: HttpRequest) -> str:
    return folder_url(_request_folder(request))


@tenant_required
@require_POST
@page_refusals(back=_request_folder_url)
def folder_new(request: HttpRequest) -> HttpResponse:
    """A new folder in the folder shown; the store makes missing parents (like
    mkdir -p), as it does for the API and for uploads, so a folder someone
    deleted meanwhile is made again (the deleted one stays in Recently deleted)."""
    form = NewFolderForm(request.POST)
    parent = _request_folder(request)
    if not form.is_valid():
        messages.error(request, form_error(form))
        return _redirect_to_folder(parent)
    path = join_path([*split_path(form.cleaned_data["parent"]), form.cleaned_data["name"]])
    services.folder_create(tenant=request_tenant(request), path=path, acting_user=signed_in_user(request))
    messages.success(request, f"Created the folder “{form.cleaned_data['name']}”.")
    return _redirect_to_folder(parent)


@tenant_required
@require_POST
@page_refusals(back=_request_folder_url)
def rename(request: HttpRequest) -> HttpResponse:
    form = RenameForm(request.POST)
    folder = _request_folder(request)
    if not form.is_valid():
        messages.error(request, form_error(form))
        return _redirect_to_folder(folder)
    old_name = split_path(form.cleaned_data["path"])[-1:] or ["/"]
    services.node_rename(
        tenant=request_tenant(request),
        path=form.cleaned_data["path"],
        new_name=form.cleaned_data["new_name"],
        acting_user=signed_in_user(request),
    )
    messages.success(request, f"Renamed “{old_name[0]}” to “{form.cleaned_data['new_name']}”.")
    return _redirect_to_folder(folder)


@tenant_required
@require_http_methods(["GET", "POST"])
@page_refusals(back=_request_folder_url)
def move(request: HttpRequest) -> HttpResponse:
    """GET: choose a destination folder, browsing folders only. POST: move there."""
    tenant = request_tenant(request)
    if request.method == "POST":
        return _move_post(request, tenant)
    form = MovePickerForm(request.GET)
    if not form.is_valid():
        return problem_page(request, title="That address is not valid", detail=form_error(form), status=400)
    path = form.cleaned_data["path"]
    names = split_path(path)
    if not names:
        messages.error(request, "The root folder cannot be moved.")
        return _redirect_to_folder("/")
    to = form.cleaned_data["to"] or parent_path(path)
    to_names = split_path(to)
    item = selectors.node_at_path(tenant=tenant, path=path)
    destination = selectors.node_at_path(tenant=tenant, path=to)
    if destination.kind != Node.Kind.FOLDER:
        raise WrongKind(f"{to} is a file, not a folder.")
    page = selectors.folder_children(
        tenant=tenant,
        folder=destination,
        cursor=form.cleaned_data["cursor"] or None,
        limit=MOVE_PICKER_PAGE_SIZE,
        kind=Node.Kind.FOLDER,
    )
    inside_item = to_names[: len(names)] == names
    subfolders = [
        Crumb(label=version.name, url=with_query("files_move", path=path, to=join_path([*to_names, version.name])))
        for version in page.items
        if not (version.node_id == item.node_id)
    ]
    crumbs = [Crumb(label="Files", url=with_query("files_move", path=path, to="/"))]
    for depth, name in enumerate(to_names):
        crumbs.append(Crumb(label=name, url=with_query("files_move", path=path, to=join_path(to_names[: depth + 1]))))
    return render(
        request,
        "portal/files/move.html",
        {
            "item_path": path,
            "item_name": names[-1],
            "item_is_folder": item.kind == Node.Kind.FOLDER,
            "destination": to,
            "crumbs": crumbs,
            "subfolders": subfolders,
            "next_url": with_query("files_move", path=path, to=to, cursor=page.next_cursor) if page.next_cursor else "",
            "is_current_folder": to == parent_path(path),
            "inside_item": inside_item,
            "cancel_url": folder_url(parent_path(path)),
        },
    )


def _move_post(request: HttpRequest, tenant: Tenant) -> HttpResponse:
    form = MoveForm(request.POST)
    folder = _request_folder(request)
    if not form.is_valid():
        messages.error(request, form_error(form))
        return _redirect_to_folder(folder)
    names = split_path(form.cleaned_data["path"])
    if not names:
        messages.error(request, "The root folder cannot be moved.")
        return _redirect_to_folder("/")
    destination = form.cleaned_data["destination"]
    services.node_move(
        tenant=tenant,
        from_path=form.cleaned_data["path"],
        to_path=join_path([*split_path(destination), names[-1]]),
        acting_user=signed_in_user(request),
    )
    messages.success(request, f"Moved “{names[-1]}” to {destination}.")
    return _redirect_to_folder(folder)


@tenant_required
@require_http_methods(["GET", "POST"])
@page_refusals(back=_request_folder_url)
def delete(request: HttpRequest) -> HttpResponse:
    """GET: ask for confirmation. POST: delete (it goes to Recently deleted)."""
    tenant = request_tenant(request)
    form = ItemForm(request.POST if request.method == "POST" else request.GET)
    folder = _request_folder(request) if request.method == "POST" else "/"
    if not form.is_valid():
        messages.error(request, form_error(form))
        return _redirect_to_folder(folder)
    path = form.cleaned_data["path"]
    names = split_path(path)
    if not names:
        messages.error(request, "The root folder cannot be deleted; delete what is in it instead.")
        return _redirect_to_folder("/")
    restorable_until = timezone.now() + timedelta(days=settings.SNAPSHOT_RETENTION_DAYS)
    if request.method == "GET":
        item = selectors.node_at_path(tenant=tenant, path=path)
        entry = folder_entries(tenant, parent_path(path), [item])[0]
        return render(
            request,
            "portal/files/delete_confirm.html",
            {"entry": entry, "restorable_until": restorable_until, "cancel_url": folder_url(parent_path(path))},
        )
    services.node_delete(tenant=tenant, path=path, acting_user=signed_in_user(request))
    messages.success(
        request,
        f"Deleted “{names[-1]}”. You can restore it from Recently deleted until {time_label(restorable_until)}.",
    )
    return _redirect_to_folder(parent_path(path))


# SECTION: download


@tenant_required
@require_GET
@page_refusals(back=_request_folder_url)
def download(request: HttpRequest) -> HttpResponseBase:
    tenant = request_tenant(request)
    form = ItemForm(request.GET)
    if not form.is_valid():
        return problem_page(request, title="That address is not valid", detail=form_error(form), status=400)
    path = form.cleaned_data["path"]
    version = selectors.node_at_path(tenant=tenant, path=path)
    if version.kind != Node.Kind.FILE or version.blob is None:
        raise WrongKind(f"{path} is a folder; open it to download the files in it.")
    # The API's download: streamed, with ETag, Range and a safe Content-Disposition.
    return file_download_response(request, tenant=tenant, version=version)
