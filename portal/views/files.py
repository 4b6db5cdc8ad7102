"""Pages of the browser file manager: the folder listing, upload, new folder,
rename, move, delete and download; Recently deleted with one-click restore;
the tenant's activity.

Every view validates its input, calls the store's services and selectors with
``request.tenant`` (there is no other way to name a tenant here), and renders.
A StoreError becomes a message or an inline error with the store's own
wording; something that does not exist in this tenant, including anything of
another tenant, answers 404 exactly alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hubs.models import Tenant
from portal.downloads import file_download_response
from portal.signed_in import signed_in_user
from snapshots import selectors, services
from snapshots.errors import NotFound, StoreError, WrongKind
from snapshots.models import Node, NodeVersion
from snapshots.paths import join_path, split_path, validate_name
from snapshots.selectors_trash import subtree_bytes_of, trash_original_paths

# 100 rows fill two phone screens and render in well under 100 ms; "Load more"
# fetches the next 100 with the keyset cursor, so the 10,000th row costs what
# the first does.
LISTING_PAGE_SIZE = 100
TRASH_PAGE_SIZE = 50
ACTIVITY_PAGE_SIZE = 50
MOVE_PICKER_PAGE_SIZE = 100

# The longest path split_path accepts: 256 names of 255 bytes and their slashes.
MAX_PATH_CHARS = 256 * 256
MAX_CURSOR_CHARS = 2048
MAX_BIGINT = 2**63 - 1

SORT_COLUMNS = ("name", "size", "modified")
# First click on a column: names A to Z, biggest first, newest first.
SORT_FIRST_DIRECTION = {"name": "name", "size": "-size", "modified": "-modified"}


# SECTION: access


def tenant_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """A signed-in person working in a tenant; otherwise home sorts them out
    (sign in, choose a workspace, or the no-workspace explanation)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if getattr(request, "tenant", None) is None:
            return redirect("home")
        return view(request, *args, **kwargs)

    return wrapper


def _tenant(request: HttpRequest) -> Tenant:
    return request.tenant  # type: ignore[attr-defined]


# SECTION: input


class PathField(forms.CharField):
    """An absolute path as the store understands it, checked by the store's own rules."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", MAX_PATH_CHARS)
        super().__init__(strip=False, **kwargs)

    def clean(self, value: Any) -> str:
        value = super().clean(value)
        if not value:
            return value
        try:
            return join_path(split_path(value))
        except StoreError as error:
            raise forms.ValidationError(error.detail) from error


class NameField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        # 255 UTF-8 bytes is at most 255 characters; validate_name checks the bytes.
        super().__init__(max_length=255, **kwargs)

    def clean(self, value: Any) -> str:
        value = super().clean(value)
        try:
            return validate_name(value)
        except StoreError as error:
            raise forms.ValidationError(error.detail) from error


class CursorField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=MAX_CURSOR_CHARS, required=False, **kwargs)


class ListingQueryForm(forms.Form):
    path = PathField(required=False)
    order = forms.ChoiceField(choices=[(key, key) for key in selectors.LISTING_ORDERS], required=False)
    cursor = CursorField()


class ItemForm(forms.Form):
    path = PathField()


class NewFolderForm(forms.Form):
    parent = PathField()
    name = NameField(error_messages={"required": "Give the new folder a name."})


class RenameForm(forms.Form):
    path = PathField()
    new_name = NameField(error_messages={"required": "Give the new name."})


class MoveForm(forms.Form):
    path = PathField()
    destination = PathField(error_messages={"required": "Choose the folder to move it to."})


class MovePickerForm(forms.Form):
    path = PathField()
    to = PathField(required=False)
    cursor = CursorField()


class TrashQueryForm(forms.Form):
    q = forms.CharField(max_length=255, required=False)
    cursor = CursorField()


class RestoreForm(forms.Form):
    version_id = forms.IntegerField(min_value=1, max_value=MAX_BIGINT)
    q = forms.CharField(max_length=255, required=False)


class CursorQueryForm(forms.Form):
    cursor = CursorField()


def _form_error(form: forms.Form) -> str:
    for field, errors in form.errors.items():
        label = "" if field == "__all__" else f"{field.replace('_', ' ').capitalize()}: "
        return f"{label}{errors[0]}"
    return "That request was not valid."


# SECTION: URLs and display rows


def folder_url(path: str, **query: str) -> str:
    names = split_path(path)
    url = reverse("files_folder", kwargs={"subpath": "/".join(names)}) if names else reverse("files")
    query = {key: value for key, value in query.items() if value}
    return f"{url}?{urlencode(query)}" if query else url


def _with_query(url_name: str, **query: str) -> str:
    query = {key: value for key, value in query.items() if value}
    url = reverse(url_name)
    return f"{url}?{urlencode(query)}" if query else url


def parent_path(path: str) -> str:
    return join_path(split_path(path)[:-1])


@dataclass(frozen=True)
class Crumb:
    label: str
    url: str


def breadcrumbs(path: str) -> list[Crumb]:
    names = split_path(path)
    crumbs = [Crumb(label="Files", url=folder_url("/"))]
    for depth, name in enumerate(names):
        crumbs.append(Crumb(label=name, url=folder_url(join_path(names[: depth + 1]))))
    return crumbs


@dataclass(frozen=True)
class Entry:
    name: str
    path: str
    is_folder: bool
    size: int
    modified_at: datetime
    modified_by: str
    url: str


def _subtree_bytes(tenant: Tenant, versions: list[NodeVersion]) -> dict[int, int]:
    """A folder's size is its subtree's: the store keeps it on the node, exact, O(1) to read."""
    folder_ids = [version.node_id for version in versions if version.kind == Node.Kind.FOLDER]
    return subtree_bytes_of(tenant=tenant, node_ids=folder_ids)


def _entries(tenant: Tenant, folder_path: str, versions: list[NodeVersion]) -> list[Entry]:
    folder_sizes = _subtree_bytes(tenant, versions)
    prefix = split_path(folder_path)
    rows = []
    for version in versions:
        path = join_path([*prefix, version.name])
        is_folder = version.kind == Node.Kind.FOLDER
        rows.append(
            Entry(
                name=version.name,
                path=path,
                is_folder=is_folder,
                size=folder_sizes.get(version.node_id, 0) if is_folder else version.size,
                modified_at=version.changed_at,
                modified_by=version.author_label or "Hubport",
                url=folder_url(path) if is_folder else _with_query("files_download", path=path),
            )
        )
    return rows


# SECTION: the folder listing


@dataclass(frozen=True)
class SortLink:
    column: str
    label: str
    url: str
    aria_sort: str


def _sort_links(path: str, order: str) -> list[SortLink]:
    labels = {"name": "Name", "size": "Size", "modified": "Modified"}
    links = []
    for column in SORT_COLUMNS:
        if order.lstrip("-") == column:
            target = column if order.startswith("-") else f"-{column}"
            aria_sort = "descending" if order.startswith("-") else "ascending"
        else:
            target, aria_sort = SORT_FIRST_DIRECTION[column], "none"
        links.append(
            SortLink(column=column, label=labels[column], url=folder_url(path, order=target), aria_sort=aria_sort)
        )
    return links


@tenant_required
@require_GET
def browse(request: HttpRequest, subpath: str | None = None) -> HttpResponse:
    """A folder: /files/ is the root, /files/Reports/2026 (or /files/?path=/Reports/2026) a folder in it."""
    tenant = _tenant(request)
    query = request.GET.copy()
    if subpath is not None:
        query["path"] = "/" + subpath
    form = ListingQueryForm(query)
    if not form.is_valid():
        return _problem(request, title="That address is not valid", detail=_form_error(form), status=400)
    path = form.cleaned_data["path"] or "/"
    order = form.cleaned_data["order"] or "name"
    cursor = form.cleaned_data["cursor"] or None
    rows_only = request.GET.get("fragment") == "rows"
    try:
        folder = selectors.node_at_path(tenant=tenant, path=path)
        if folder.kind != Node.Kind.FOLDER:
            # A file's address opens its folder, where the file is listed.
            return HttpResponseRedirect(folder_url(parent_path(path)))
        page = selectors.folder_listing(
            tenant=tenant, folder=folder, order=order, cursor=cursor, limit=LISTING_PAGE_SIZE
        )
    except NotFound as error:
        return _problem(request, title="Folder not found", detail=error.detail, status=404)
    except StoreError as error:
        if rows_only:
            return render(request, "portal/files/_row_error.html", {"error": error.detail, "colspan": 5})
        messages.error(request, error.detail)
        return HttpResponseRedirect(folder_url(path))
    next_url = folder_url(path, order=order, cursor=page.next_cursor) if page.next_cursor else ""
    context: dict[str, Any] = {
        "entries": _entries(tenant, path, page.items),
        "next_url": next_url,
        "next_fragment_url": folder_url(path, order=order, cursor=page.next_cursor, fragment="rows")
        if page.next_cursor
        else "",
    }
    if rows_only:
        return render(request, "portal/files/_rows.html", context)
    usage = selectors.live_usage(tenant=tenant)
    quota = tenant.effective_quota_bytes
    names = split_path(path)
    context.update(
        {
            "folder_path": path,
            "folder_name": names[-1] if names else "Files",
            "crumbs": breadcrumbs(path),
            "order": order,
            "sort_links": _sort_links(path, order),
            "is_continuation": bool(cursor),
            "first_page_url": folder_url(path, order=order),
            "usage": usage,
            "quota_bytes": quota,
            "usage_percent": min(100, round(usage.live_bytes * 100 / quota, 1)) if quota else 100,
            "max_file_bytes": tenant.effective_max_file_bytes,
            "refresh_url": folder_url(path, order=order),
        }
    )
    return render(request, "portal/files/browse.html", context)


# SECTION: upload


def _json_problem(*, status: int, title: str, detail: str) -> JsonResponse:
    return JsonResponse(
        {"type": "about:blank", "title": title, "status": status, "detail": detail},
        status=status,
        content_type="application/problem+json",
    )


@require_http_methods(["PUT"])
def upload(request: HttpRequest) -> HttpResponse:
    """PUT /file-actions/upload?path=/Reports/a.pdf with the raw file as the body.

    The request itself is the stream the store reads: the body goes to disk
    while it is hashed and is never held whole in memory (never request.body).
    Answers JSON, so the page's script can show each file's outcome.
    """
    if not request.user.is_authenticated:
        return _json_problem(status=401, title="Signed out", detail="You are signed out. Sign in again and retry.")
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        return _json_problem(status=403, title="No workspace", detail="Choose a workspace first, then retry.")
    form = ItemForm(request.GET)
    if not form.is_valid():
        return _json_problem(status=400, title="Invalid path or name", detail=_form_error(form))
    try:
        content_length = int(request.META["CONTENT_LENGTH"])
    except (KeyError, ValueError):
        return _json_problem(status=411, title="Length required", detail="The upload must say how long it is.")
    if content_length < 0:
        return _json_problem(status=400, title="Invalid length", detail="The upload's length is not valid.")
    try:
        version = services.file_write(
            tenant=tenant,
            path=form.cleaned_data["path"],
            stream=request,
            content_length=content_length,
            acting_user=signed_in_user(request),
        )
    except StoreError as error:
        return _json_problem(status=error.status, title=error.title, detail=error.detail)
    return JsonResponse(
        {"name": version.name, "path": form.cleaned_data["path"], "size": version.size},
        status=201,
    )


# SECTION: folders, rename, move, delete


def _redirect_to_folder(path: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(folder_url(path))


@tenant_required
@require_POST
def folder_new(request: HttpRequest) -> HttpResponse:
    form = NewFolderForm(request.POST)
    parent = _posted_folder(request)
    if not form.is_valid():
        messages.error(request, _form_error(form))
        return _redirect_to_folder(parent)
    path = join_path([*split_path(form.cleaned_data["parent"]), form.cleaned_data["name"]])
    try:
        # The store makes missing parents (like mkdir -p); a page must not bring
        # back a folder someone deleted meanwhile, so its folder has to exist.
        parent_folder = selectors.node_at_path(tenant=_tenant(request), path=form.cleaned_data["parent"])
        if parent_folder.kind != Node.Kind.FOLDER:
            raise WrongKind(f"{form.cleaned_data['parent']} is a file, not a folder.")
        services.folder_create(tenant=_tenant(request), path=path, acting_user=signed_in_user(request))
    except NotFound as error:
        return _problem(request, title="Folder not found", detail=error.detail, status=404)
    except StoreError as error:
        messages.error(request, error.detail)
    else:
        messages.success(request, f"Created the folder “{form.cleaned_data['name']}”.")
    return _redirect_to_folder(parent)


def _posted_folder(request: HttpRequest) -> str:
    """The folder to go back to: the posted parent or the item's folder, if valid; else the root."""
    for key, parent_of in (("parent", False), ("path", True)):
        value = request.POST.get(key)
        if value:
            try:
                names = split_path(value)
            except StoreError:
                continue
            return join_path(names[:-1] if parent_of else names)
    return "/"


@tenant_required
@require_POST
def rename(request: HttpRequest) -> HttpResponse:
    form = RenameForm(request.POST)
    folder = _posted_folder(request)
    if not form.is_valid():
        messages.error(request, _form_error(form))
        return _redirect_to_folder(folder)
    old_name = split_path(form.cleaned_data["path"])[-1:] or ["/"]
    try:
        services.node_rename(
            tenant=_tenant(request),
            path=form.cleaned_data["path"],
            new_name=form.cleaned_data["new_name"],
            acting_user=signed_in_user(request),
        )
    except NotFound as error:
        return _problem(request, title="Not found", detail=error.detail, status=404)
    except StoreError as error:
        messages.error(request, error.detail)
    else:
        messages.success(request, f"Renamed “{old_name[0]}” to “{form.cleaned_data['new_name']}”.")
    return _redirect_to_folder(folder)


@tenant_required
@require_http_methods(["GET", "POST"])
def move(request: HttpRequest) -> HttpResponse:
    """GET: choose a destination folder, browsing folders only. POST: move there."""
    tenant = _tenant(request)
    if request.method == "POST":
        return _move_post(request, tenant)
    form = MovePickerForm(request.GET)
    if not form.is_valid():
        return _problem(request, title="That address is not valid", detail=_form_error(form), status=400)
    path = form.cleaned_data["path"]
    names = split_path(path)
    if not names:
        messages.error(request, "The root folder cannot be moved.")
        return _redirect_to_folder("/")
    to = form.cleaned_data["to"] or parent_path(path)
    to_names = split_path(to)
    try:
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
    except NotFound as error:
        return _problem(request, title="Not found", detail=error.detail, status=404)
    except StoreError as error:
        messages.error(request, error.detail)
        return _redirect_to_folder(parent_path(path))
    inside_item = to_names[: len(names)] == names
    subfolders = [
        Crumb(label=version.name, url=_with_query("files_move", path=path, to=join_path([*to_names, version.name])))
        for version in page.items
        if not (version.node_id == item.node_id)
    ]
    crumbs = [Crumb(label="Files", url=_with_query("files_move", path=path, to="/"))]
    for depth, name in enumerate(to_names):
        crumbs.append(Crumb(label=name, url=_with_query("files_move", path=path, to=join_path(to_names[: depth + 1]))))
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
            "next_url": _with_query("files_move", path=path, to=to, cursor=page.next_cursor)
            if page.next_cursor
            else "",
            "is_current_folder": to == parent_path(path),
            "inside_item": inside_item,
            "cancel_url": folder_url(parent_path(path)),
        },
    )


def _move_post(request: HttpRequest, tenant: Tenant) -> HttpResponse:
    form = MoveForm(request.POST)
    folder = _posted_folder(request)
    if not form.is_valid():
        messages.error(request, _form_error(form))
        return _redirect_to_folder(folder)
    names = split_path(form.cleaned_data["path"])
    if not names:
        messages.error(request, "The root folder cannot be moved.")
        return _redirect_to_folder("/")
    destination = form.cleaned_data["destination"]
    try:
        services.node_move(
            tenant=tenant,
            from_path=form.cleaned_data["path"],
            to_path=join_path([*split_path(destination), names[-1]]),
            acting_user=signed_in_user(request),
        )
    except NotFound as error:
        return _problem(request, title="Not found", detail=error.detail, status=404)
    except StoreError as error:
        messages.error(request, error.detail)
        return _redirect_to_folder(folder)
    messages.success(request, f"Moved “{names[-1]}” to {destination}.")
    return _redirect_to_folder(folder)


@tenant_required
@require_http_methods(["GET", "POST"])
def delete(request: HttpRequest) -> HttpResponse:
    """GET: ask for confirmation. POST: delete (it goes to Recently deleted)."""
    tenant = _tenant(request)
    form = ItemForm(request.POST if request.method == "POST" else request.GET)
    folder = _posted_folder(request) if request.method == "POST" else "/"
    if not form.is_valid():
        messages.error(request, _form_error(form))
        return _redirect_to_folder(folder)
    path = form.cleaned_data["path"]
    names = split_path(path)
    if not names:
        messages.error(request, "The root folder cannot be deleted; delete what is in it instead.")
        return _redirect_to_folder("/")
    restorable_until = timezone.now() + timedelta(days=settings.SNAPSHOT_RETENTION_DAYS)
    if request.method == "GET":
        try:
            item = selectors.node_at_path(tenant=tenant, path=path)
        except NotFound as error:
            return _problem(request, title="Not found", detail=error.detail, status=404)
        entry = _entries(tenant, parent_path(path), [item])[0]
        return render(
            request,
            "portal/files/delete_confirm.html",
            {"entry": entry, "restorable_until": restorable_until, "cancel_url": folder_url(parent_path(path))},
        )
    try:
        services.node_delete(tenant=tenant, path=path, acting_user=signed_in_user(request))
    except NotFound as error:
        return _problem(request, title="Not found", detail=error.detail, status=404)
    except StoreError as error:
        messages.error(request, error.detail)
        return _redirect_to_folder(parent_path(path))
    messages.success(
        request,
        f"Deleted “{names[-1]}”. You can restore it from Recently deleted until "
        f"{timezone.localtime(restorable_until):%-d %b %Y, %H:%M}.",
    )
    return _redirect_to_folder(parent_path(path))


# SECTION: download


@tenant_required
@require_GET
def download(request: HttpRequest) -> HttpResponseBase:
    tenant = _tenant(request)
    form = ItemForm(request.GET)
    if not form.is_valid():
        return _problem(request, title="That address is not valid", detail=_form_error(form), status=400)
    path = form.cleaned_data["path"]
    try:
        version = selectors.node_at_path(tenant=tenant, path=path)
        if version.kind != Node.Kind.FILE or version.blob is None:
            raise WrongKind(f"{path} is a folder; open it to download the files in it.")
        # The API's download: streamed, with ETag, Range and a safe Content-Disposition.
        return file_download_response(request, tenant=tenant, version=version)
    except NotFound as error:
        return _problem(request, title="Not found", detail=error.detail, status=404)
    except StoreError as error:
        messages.error(request, error.detail)
        return _redirect_to_folder(parent_path(path) if split_path(path) else "/")


# SECTION: recently deleted


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
    folder_sizes = _subtree_bytes(tenant, versions)
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


@tenant_required
@require_GET
def trash(request: HttpRequest) -> HttpResponse:
    tenant = _tenant(request)
    form = TrashQueryForm(request.GET)
    if not form.is_valid():
        return _problem(request, title="That address is not valid", detail=_form_error(form), status=400)
    query = form.cleaned_data["q"].strip()
    rows_only = request.GET.get("fragment") == "rows"
    try:
        page = selectors.trash_items(
            tenant=tenant, query=query or None, cursor=form.cleaned_data["cursor"] or None, limit=TRASH_PAGE_SIZE
        )
        entries = _trash_entries(tenant, page.items)
    except StoreError as error:
        if rows_only:
            return render(request, "portal/files/_row_error.html", {"error": error.detail, "colspan": 5})
        messages.error(request, error.detail)
        return HttpResponseRedirect(_with_query("trash", q=query))
    context: dict[str, Any] = {
        "entries": entries,
        "query": query,
        "next_url": _with_query("trash", q=query, cursor=page.next_cursor) if page.next_cursor else "",
        "next_fragment_url": _with_query("trash", q=query, cursor=page.next_cursor, fragment="rows")
        if page.next_cursor
        else "",
    }
    if rows_only:
        return render(request, "portal/files/_trash_rows.html", context)
    context.update(
        {
            "is_continuation": bool(form.cleaned_data["cursor"]),
            "first_page_url": _with_query("trash", q=query),
            "retention_days": settings.SNAPSHOT_RETENTION_DAYS,
        }
    )
    return render(request, "portal/files/trash.html", context)


@tenant_required
@require_POST
def trash_restore(request: HttpRequest) -> HttpResponse:
    tenant = _tenant(request)
    form = RestoreForm(request.POST)
    query = request.POST.get("q", "")[:255]
    back = _with_query("trash", q=query)
    if not form.is_valid():
        messages.error(request, _form_error(form))
        return HttpResponseRedirect(back)
    try:
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
    except NotFound as error:
        return _problem(request, title="Not in Recently deleted", detail=error.detail, status=404, back_url=back)
    except StoreError as error:
        messages.error(request, error.detail)
        return HttpResponseRedirect(back)
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


# SECTION: activity


@tenant_required
@require_GET
def activity(request: HttpRequest) -> HttpResponse:
    tenant = _tenant(request)
    form = CursorQueryForm(request.GET)
    if not form.is_valid():
        return _problem(request, title="That address is not valid", detail=_form_error(form), status=400)
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
        "next_url": _with_query("activity", cursor=page.next_cursor) if page.next_cursor else "",
        "next_fragment_url": _with_query("activity", cursor=page.next_cursor, fragment="rows")
        if page.next_cursor
        else "",
    }
    if rows_only:
        return render(request, "portal/files/_activity_rows.html", context)
    context.update({"is_continuation": bool(form.cleaned_data["cursor"]), "first_page_url": reverse("activity")})
    return render(request, "portal/files/activity.html", context)


# SECTION: errors


def _problem(
    request: HttpRequest, *, title: str, detail: str, status: int, back_url: str | None = None
) -> HttpResponse:
    return render(
        request,
        "portal/files/problem.html",
        {"title": title, "detail": detail, "back_url": back_url or reverse("files")},
        status=status,
    )
