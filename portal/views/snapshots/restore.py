"""The restore dialog: options, the dry run preview, and confirming the restore."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from hubs.display import zone_label
from hubs.models import Tenant
from portal.signed_in import signed_in_user
from portal.views.files.access import request_tenant, tenant_required
from portal.views.files.display import parent_path
from portal.views.files.forms import form_error
from portal.views.snapshots.source import Source, SourceForm, source_context, source_or_response, source_url
from snapshots import selectors
from snapshots.errors import StoreError
from snapshots.models import Node, RestoreJob
from snapshots.paths import restored_name, split_path
from snapshots.services import (
    RestorePreview,
    RestoreRequest,
    restore_moment_label,
    restore_preview,
    restore_start,
)

# The preview keeps 1,000 items; 50 show what will happen without a wall of text.
PREVIEW_ITEMS_SHOWN = 50
# Django refuses a request of more than 1,000 fields (DATA_UPLOAD_MAX_NUMBER_FIELDS):
# the snapshot browser lets 900 items be ticked, leaving room for the options.
MAX_SELECTED_PATHS = 900


class PathListField(forms.Field):
    """Several paths (the ticked items), as sent: the restore service judges them."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[str]:
        if not value:
            return []
        return [str(item) for item in (value if isinstance(value, list | tuple) else [value])]


TARGET_CHOICES = [("original", "Where they were"), ("folder", "Into another folder")]


class RestoreOptionsForm(SourceForm):
    """The dialog's options, parsed; every rule about them is the restore service's."""

    paths = PathListField(error_messages={"required": "Select at least one file or folder to restore."})
    target = forms.ChoiceField(choices=TARGET_CHOICES)
    folder = forms.CharField(required=False, strip=False)
    conflict = forms.CharField()
    mode = forms.CharField()

    def restore_request(self, source: Source) -> RestoreRequest:
        cleaned = self.cleaned_data
        return RestoreRequest(
            snapshot_id=source.snapshot.pk if source.snapshot else None,
            at=None if source.snapshot else source.at,
            paths=tuple(cleaned["paths"]),
            # "Exactly as it was" greys out the other options: a folder typed before does not count.
            target=cleaned["folder"] if cleaned["target"] == "folder" and cleaned["mode"] != "exact" else None,
            conflict=cleaned["conflict"],
            mode=cleaned["mode"],
        )


def _with_defaults(query: Any) -> Any:
    data = query.copy()
    if not data.get("target"):
        data["target"] = "original"
    if not data.get("conflict"):
        data["conflict"] = RestoreJob.Conflict.RENAME
    if not data.get("mode"):
        data["mode"] = RestoreJob.Mode.MERGE
    return data


@dataclass(frozen=True)
class SelectedItem:
    path: str
    name: str
    is_folder: bool


def _selected_items(tenant: Tenant, source: Source, paths: list[str]) -> list[SelectedItem]:
    """The checked items as they were, for the dialog's summary (the first 20)."""
    rows = []
    for path in paths[:20]:
        try:
            names = split_path(path)
        except StoreError:  # the preview says why; the summary shows it as sent
            rows.append(SelectedItem(path=path, name=path, is_folder=False))
            continue
        try:
            version = selectors.node_at_path(tenant=tenant, path=path, seq=source.seq)
            is_folder = version.kind == Node.Kind.FOLDER
        except StoreError:
            is_folder = False
        rows.append(SelectedItem(path=path, name=names[-1] if names else "Everything", is_folder=is_folder))
    return rows


def _hub_zone_label(tenant: Tenant, moment: datetime) -> str:
    with timezone.override(tenant.hub.zone):
        return zone_label(moment)


def _restore_context(request: HttpRequest, tenant: Tenant, source: Source, form: RestoreOptionsForm) -> dict[str, Any]:
    """The dialog: the options as chosen and what a restore with them would do."""
    preview: RestorePreview | None = None
    error = ""
    if form.is_valid():
        try:
            preview = restore_preview(tenant=tenant, request=form.restore_request(source))
        except StoreError as refusal:
            error = refusal.detail
    else:
        error = form_error(form)
    paths = form.cleaned_data.get("paths", []) if hasattr(form, "cleaned_data") else []
    selected = _selected_items(tenant, source, paths)
    first = next((item for item in selected if item.path != "/"), None)
    # The store stamps renamed copies in the hub's time, whoever reads them:
    # the example shows the name it will really give.
    example = restored_name(
        first.name if first else "report.pdf",
        is_folder=first.is_folder if first else False,
        moment=restore_moment_label(tenant, source.at),
    )
    # Removals have their own list; the items list says what comes back.
    placed = [item for item in preview.items if item["action"] != "removed"] if preview else []
    context: dict[str, Any] = source_context(source)
    context.update(
        {
            "form": form,
            "data": form.data,
            "paths": paths,
            "selected": selected,
            "more_selected": max(0, len(paths) - 20),
            "preview": preview,
            "preview_items": placed[:PREVIEW_ITEMS_SHOWN],
            # Folders that merge into one there now have no line of their own: count the lines.
            "preview_more": sum(preview.counts.values()) - preview.counts["removed"] - len(placed[:PREVIEW_ITEMS_SHOWN])
            if preview
            else 0,
            "exact": data_mode(form) == RestoreJob.Mode.EXACT,
            "removals": preview.removals[:PREVIEW_ITEMS_SHOWN] if preview else [],
            "removals_more": preview.counts["removed"] - len(preview.removals[:PREVIEW_ITEMS_SHOWN]) if preview else 0,
            "error": error,
            "rename_example": example,
            "rename_zone": _hub_zone_label(tenant, source.at),
            "back_url": source_url("snapshot_browse", source=source, path=_folder_of(paths)),
            "preview_url": source_url("snapshot_restore", source=source, fragment="preview"),
            "folder_placeholder": f"/Restored {timezone.localtime(source.at):%Y-%m-%d}",
        }
    )
    return context


def data_mode(form: RestoreOptionsForm) -> str:
    return str(form.data.get("mode") or RestoreJob.Mode.MERGE)


def _folder_of(paths: list[str]) -> str:
    """The snapshot folder to go back to: the one item's folder, else the root."""
    try:
        return parent_path(paths[0]) if len(paths) == 1 else "/"
    except StoreError:
        return "/"


@tenant_required
@require_http_methods(["GET", "POST"])
def snapshot_restore(request: HttpRequest) -> HttpResponse:
    """GET: the restore dialog with the preview for the chosen options (the
    fragment alone when the options change). POST: start the restore."""
    tenant = request_tenant(request)
    data = _with_defaults(request.POST if request.method == "POST" else request.GET)
    form = RestoreOptionsForm(data)
    source_form = SourceForm(data)
    source = source_or_response(request, source_form)
    if isinstance(source, HttpResponse):
        return source
    if request.method == "POST":
        return _restore_post(request, tenant, source, form)
    context = _restore_context(request, tenant, source, form)
    if request.GET.get("fragment") == "preview":
        return render(request, "portal/snapshots/_preview.html", context)
    return render(request, "portal/snapshots/restore.html", context)


def _restore_post(request: HttpRequest, tenant: Tenant, source: Source, form: RestoreOptionsForm) -> HttpResponse:
    if not form.is_valid():
        messages.error(request, form_error(form))
        return render(request, "portal/snapshots/restore.html", _restore_context(request, tenant, source, form))
    try:
        job = restore_start(tenant=tenant, request=form.restore_request(source), acting_user=signed_in_user(request))
    except StoreError as error:
        messages.error(request, error.detail)
        return render(request, "portal/snapshots/restore.html", _restore_context(request, tenant, source, form))
    messages.success(request, "Restore started. You can leave this page; we email you when it ends.")
    return HttpResponseRedirect(reverse("restore_job", kwargs={"job_id": job.pk}))
