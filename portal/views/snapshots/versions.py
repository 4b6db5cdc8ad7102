"""The versions of one file: list them, download one, make one current again."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from hubs.display import time_label, zone_label
from hubs.errors import DomainError
from portal.downloads import file_download_response
from portal.signed_in import signed_in_user
from portal.views.files.access import problem_page, request_tenant, tenant_required
from portal.views.files.display import folder_url, parent_path
from portal.views.files.forms import MAX_BIGINT, PathField, form_error
from portal.views.refusals import page_refusals
from portal.views.snapshots.source import source_url
from snapshots import selectors, services
from snapshots.errors import NotFound
from snapshots.paths import split_path
from snapshots.selectors.history import file_at_path_for_versions, file_version_get


class VersionsQueryForm(forms.Form):
    path = PathField()


class VersionForm(forms.Form):
    version = forms.IntegerField(min_value=1, max_value=MAX_BIGINT)


def _folder_of_path_url(request: HttpRequest) -> str:
    return folder_url(parent_path(request.GET["path"]))


def _files_url(request: HttpRequest) -> str:
    return reverse("files")


def _versions_of_posted_url(request: HttpRequest) -> str:
    """The versions page of the file whose version was posted, found by where that version was."""
    try:
        chosen = file_version_get(tenant=request_tenant(request), version_id=int(request.POST["version"]))
        path = selectors.path_of(tenant=request_tenant(request), node_id=chosen.node_id, seq=chosen.valid_from)
    except (DomainError, KeyError, ValueError):
        return reverse("files")
    return source_url("file_versions", path=path)


@tenant_required
@require_GET
@page_refusals(back=_folder_of_path_url, not_found_title="File not found")
def file_versions(request: HttpRequest) -> HttpResponse:
    """Every version of a file in the retention, newest first; download or restore any one."""
    tenant = request_tenant(request)
    form = VersionsQueryForm(request.GET)
    if not form.is_valid():
        return problem_page(request, title="That address is not valid", detail=form_error(form), status=400)
    path = form.cleaned_data["path"]
    current = file_at_path_for_versions(tenant=tenant, path=path)
    versions = selectors.file_versions(tenant=tenant, node_id=current.node_id)
    is_deleted = current.valid_to is not None
    return render(
        request,
        "portal/snapshots/versions.html",
        {
            "path": path,
            "name": split_path(path)[-1],
            "folder_url": folder_url(parent_path(path)),
            "versions": versions,
            "is_deleted": is_deleted,
            "deleted_at": current.closed_at if is_deleted else None,
            "zone": zone_label(timezone.now()),
            "retention_days": settings.SNAPSHOT_RETENTION_DAYS,
        },
    )


@tenant_required
@require_GET
@page_refusals(back=_files_url, not_found_title="Version not found")
def version_download(request: HttpRequest) -> HttpResponseBase:
    tenant = request_tenant(request)
    form = VersionForm(request.GET)
    if not form.is_valid():
        return problem_page(request, title="That address is not valid", detail=form_error(form), status=400)
    version = file_version_get(tenant=tenant, version_id=form.cleaned_data["version"])
    if version.blob is None:
        raise NotFound(f"There is no file version {form.cleaned_data['version']}.")
    return file_download_response(request, tenant=tenant, version=version)


@tenant_required
@require_POST
@page_refusals(back=_versions_of_posted_url, not_found_title="Version not found")
def version_restore(request: HttpRequest) -> HttpResponse:
    """Make an earlier version current again (a deleted file comes back with it)."""
    tenant = request_tenant(request)
    form = VersionForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_error(form))
        return HttpResponseRedirect(reverse("files"))
    chosen = file_version_get(tenant=tenant, version_id=form.cleaned_data["version"])
    restored = services.version_restore(tenant=tenant, version_id=chosen.pk, acting_user=signed_in_user(request))
    path = selectors.path_of(tenant=tenant, node_id=restored.node_id)
    when = time_label(chosen.changed_at)
    if restored.name != chosen.name:
        text = f"Restored the version of {when} as “{restored.name}”, because “{chosen.name}” is taken now."
    else:
        text = f"Restored the version of {when}: it is the current content of “{restored.name}” now."
    messages.success(request, text)
    return HttpResponseRedirect(source_url("file_versions", path=path))
