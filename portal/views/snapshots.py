"""Pages of the tenant's history: snapshots (list, take one, browse one read
only, download from it), restoring from a snapshot or a moment (options, dry
run preview, confirm), restore jobs (live progress, cancel), the versions of
one file, and the storage page that shows what history holds.

Every view validates its input with a form, calls the store's services and
selectors with ``request.tenant``, and renders. Times are shown, and typed
moments read, in the hub's own time zone, and always say which zone that is.
Another tenant's snapshot, job or version answers 404 exactly like an id
never used; a refused restore is a message, never a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hubs.models import Membership, Tenant
from portal.downloads import file_download_response
from portal.services.tenant_settings import tenant_snapshot_schedule_set
from portal.signed_in import signed_in_user
from portal.views.files import (
    MAX_BIGINT,
    Crumb,
    CursorField,
    Entry,
    PathField,
    _form_error,
    _problem,
    folder_url,
    parent_path,
    tenant_required,
)
from snapshots import selectors, services
from snapshots.errors import InvalidPath, NotFound, StoreError, WrongKind
from snapshots.models import Node, NodeVersion, RestoreJob, Snapshot
from snapshots.paths import join_path, split_path
from snapshots.restores import (
    RestorePreview,
    restore_cancel,
    restore_preview,
    restore_start,
    restore_validate,
    snapshot_create,
    snapshot_expires_at,
)
from snapshots.selectors_history import (
    file_at_path_for_versions,
    file_version_get,
    restore_job_get,
    restore_job_page,
    snapshot_get,
    snapshots_in_retention,
)
from snapshots.selectors_storage import storage_usage

# The same page size as the file manager: 100 rows render in well under 100 ms.
LISTING_PAGE_SIZE = 100
RESTORES_PAGE_SIZE = 50
# The preview keeps 500 items; 50 show what will happen without a wall of text.
PREVIEW_ITEMS_SHOWN = 50
# Django refuses a request of more than 1,000 fields (DATA_UPLOAD_MAX_NUMBER_FIELDS)
# and restore_validate more than 1,000 paths: 900 leaves room for the options.
MAX_SELECTED_PATHS = 900


# SECTION: the hub's time


def _tenant(request: HttpRequest) -> Tenant:
    return request.tenant  # type: ignore[attr-defined]


def _membership(request: HttpRequest) -> Membership:
    return request.membership  # type: ignore[attr-defined]


def hub_time(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Read typed moments and show every time in the hub's own time zone."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        with timezone.override(_tenant(request).hub.zone):
            return view(request, *args, **kwargs)

    return tenant_required(wrapper)


def zone_label(tenant: Tenant, moment: datetime) -> str:
    """ "London time (GMT)", "Dubai time (UTC+04)": the city, and the zone in force then."""
    abbreviation = moment.astimezone(tenant.hub.zone).tzname() or ""
    if abbreviation[:1] in "+-":
        abbreviation = f"UTC{abbreviation}"
    city = tenant.hub.city.split(",")[0]
    return f"{city} time ({abbreviation})" if abbreviation else f"{city} time"


def _local_input_value(moment: datetime) -> str:
    """A moment as a datetime-local input shows it, in the active (hub) zone."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


# SECTION: where a page reads from: a snapshot or a moment


class SourceForm(forms.Form):
    """A snapshot id, or a moment; a moment without an offset is hub time
    (Django reads it in the active zone and refuses one a clock change skips
    or repeats)."""

    snapshot = forms.IntegerField(min_value=1, max_value=MAX_BIGINT, required=False)
    at = forms.DateTimeField(
        required=False,
        error_messages={"invalid": "Enter the date and time as shown, e.g. 2026-11-24 10:42."},
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        assert cleaned is not None  # BaseForm.clean returns cleaned_data
        if not self.errors and (cleaned.get("snapshot") is None) == (cleaned.get("at") is None):
            raise forms.ValidationError("Choose a snapshot or a moment to look at.")
        return cleaned


@dataclass(frozen=True)
class Source:
    seq: int
    at: datetime
    snapshot: Snapshot | None

    @property
    def query(self) -> dict[str, str]:
        """How URLs name this source: a snapshot by id, a moment with its offset."""
        if self.snapshot is not None:
            return {"snapshot": str(self.snapshot.pk)}
        return {"at": timezone.localtime(self.at).isoformat(timespec="seconds")}


def source_get(*, tenant: Tenant, snapshot_id: int | None, at: datetime | None) -> Source:
    """A snapshot still in the retention (else NotFound), or a moment the
    restore service accepts (else its own refusal)."""
    if snapshot_id is not None:
        snapshot = snapshot_get(tenant=tenant, snapshot_id=snapshot_id)
        return Source(seq=snapshot.seq, at=snapshot.taken_at, snapshot=snapshot)
    validated = restore_validate(tenant=tenant, at=at)
    return Source(seq=validated.source.seq, at=validated.source.at, snapshot=None)


def _url(url_name: str, *, source: Source | None = None, **query: Any) -> str:
    params: list[tuple[str, str]] = list(source.query.items()) if source else []
    for key, value in query.items():
        if isinstance(value, list | tuple):
            params.extend((key, str(item)) for item in value)
        elif value not in (None, ""):
            params.append((key, str(value)))
    url = reverse(url_name)
    return f"{url}?{urlencode(params)}" if params else url


def _source_context(tenant: Tenant, source: Source) -> dict[str, Any]:
    return {
        "source": source,
        "source_zone": zone_label(tenant, source.at),
        "source_query": source.query,
        "source_kind": source.snapshot.get_kind_display() if source.snapshot else "",
    }


def _source_or_response(request: HttpRequest, form: SourceForm) -> Source | HttpResponse:
    """The page's source, or the response that explains why there is none: a
    404 for an unknown snapshot (another tenant's reads the same), a message
    on the Snapshots page for a moment outside the retention."""
    if not form.is_valid():
        messages.error(request, _form_error(form))
        return HttpResponseRedirect(reverse("snapshots"))
    try:
        return source_get(
            tenant=_tenant(request), snapshot_id=form.cleaned_data["snapshot"], at=form.cleaned_data["at"]
        )
    except NotFound as error:
        return _problem(
            request, title="Snapshot not found", detail=error.detail, status=404, back_url=reverse("snapshots")
        )
    except StoreError as error:
        messages.error(request, error.detail)
        return HttpResponseRedirect(reverse("snapshots"))


# SECTION: the snapshots page


@dataclass(frozen=True)
class SnapshotDay:
    day: date
    label: str
    snapshots: list[Snapshot]


def _day_label(day: date, today: date) -> str:
    if day == today:
        return f"Today, {day:%-d %B}"
    if day == today - timedelta(days=1):
        return f"Yesterday, {day:%-d %B}"
    return f"{day:%A %-d %B}"


def snapshot_days(snapshots: list[Snapshot]) -> list[SnapshotDay]:
    """Newest first, grouped by the day they were taken in the active (hub) zone."""
    today = timezone.localdate()
    days: list[SnapshotDay] = []
    for snapshot in snapshots:
        day = timezone.localtime(snapshot.taken_at).date()
        if not days or days[-1].day != day:
            days.append(SnapshotDay(day=day, label=_day_label(day, today), snapshots=[]))
        days[-1].snapshots.append(snapshot)
    return days


@hub_time
@require_GET
def snapshot_list(request: HttpRequest) -> HttpResponse:
    tenant = _tenant(request)
    # At most 28 days of hourly snapshots (672) plus the manual and pre-restore ones.
    snapshots = list(snapshots_in_retention(tenant=tenant).order_by("-taken_at", "-id"))
    for snapshot in snapshots:
        snapshot.expires_at = snapshot_expires_at(snapshot)  # type: ignore[attr-defined]
    now = timezone.now()
    earliest = selectors.retention_start() + timedelta(minutes=1)
    return render(
        request,
        "portal/snapshots/list.html",
        {
            "days": snapshot_days(snapshots),
            "snapshot_count": len(snapshots),
            "zone": zone_label(tenant, now),
            "zone_name": tenant.hub.time_zone,
            "retention_days": settings.SNAPSHOT_RETENTION_DAYS,
            "earliest_input": _local_input_value(earliest),
            "latest_input": _local_input_value(now),
            "default_input": _local_input_value(now - timedelta(days=1)),
            "schedule": tenant.get_snapshot_schedule_display().lower(),
            "schedule_form": ScheduleForm(initial={"schedule": tenant.snapshot_schedule}),
            "can_change_schedule": _membership(request).can_administer,
        },
    )


class ScheduleForm(forms.Form):
    schedule = forms.ChoiceField(
        choices=Tenant.SnapshotSchedule.choices,
        error_messages={"invalid_choice": "Choose every hour, every 4 hours or every day."},
    )


@tenant_required
@require_POST
def snapshot_schedule(request: HttpRequest) -> HttpResponse:
    """Owners and admins set how often scheduled snapshots are taken; the
    service refuses anyone else (403)."""
    form = ScheduleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_error(form))
        return HttpResponseRedirect(reverse("snapshots"))
    tenant = tenant_snapshot_schedule_set(
        tenant=_tenant(request), acting_user=signed_in_user(request), schedule=form.cleaned_data["schedule"]
    )
    messages.success(request, f"Scheduled snapshots are now taken {tenant.get_snapshot_schedule_display().lower()}.")
    return HttpResponseRedirect(reverse("snapshots"))


@hub_time
@require_POST
def snapshot_take(request: HttpRequest) -> HttpResponse:
    tenant = _tenant(request)
    try:
        snapshot = snapshot_create(
            tenant=tenant,
            kind=Snapshot.Kind.MANUAL,
            acting_user=signed_in_user(request),
        )
    except StoreError as error:
        messages.error(request, error.detail)
    else:
        messages.success(
            request,
            f"Snapshot taken at {timezone.localtime(snapshot.taken_at):%H:%M} {zone_label(tenant, snapshot.taken_at)}: "
            f"{snapshot.file_count} file{'s' if snapshot.file_count != 1 else ''}. It is kept until "
            f"{timezone.localtime(snapshot_expires_at(snapshot)):%-d %b %Y}.",
        )
    return HttpResponseRedirect(reverse("snapshots"))


# SECTION: browsing a snapshot or a moment


class BrowseForm(SourceForm):
    path = PathField(required=False)
    cursor = CursorField()


def _snapshot_entries(source: Source, folder_path: str, versions: list[NodeVersion]) -> list[Entry]:
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
                size=version.size,
                modified_at=version.changed_at,
                modified_by=version.author_label or "Hubport",
                url=_url("snapshot_browse", source=source, path=path)
                if is_folder
                else _url("snapshot_download", source=source, path=path),
            )
        )
    return rows


def _snapshot_crumbs(source: Source, path: str) -> list[Crumb]:
    names = split_path(path)
    crumbs = [Crumb(label="All files", url=_url("snapshot_browse", source=source))]
    for depth, name in enumerate(names):
        crumbs.append(Crumb(label=name, url=_url("snapshot_browse", source=source, path=join_path(names[: depth + 1]))))
    return crumbs


@hub_time
@require_GET
def snapshot_browse(request: HttpRequest) -> HttpResponse:
    """A folder as it was at a snapshot or a moment, read only."""
    tenant = _tenant(request)
    form = BrowseForm(request.GET)
    source = _source_or_response(request, form)
    if isinstance(source, HttpResponse):
        return source
    path = form.cleaned_data["path"] or "/"
    cursor = form.cleaned_data["cursor"] or None
    rows_only = request.GET.get("fragment") == "rows"
    try:
        folder = selectors.node_at_path(tenant=tenant, path=path, seq=source.seq)
        if folder.kind != Node.Kind.FOLDER:
            return HttpResponseRedirect(_url("snapshot_browse", source=source, path=parent_path(path)))
        page = selectors.folder_listing(
            tenant=tenant, folder=folder, seq=source.seq, cursor=cursor, limit=LISTING_PAGE_SIZE
        )
        versions, next_cursor = page.items, page.next_cursor
    except NotFound as error:
        return _problem(
            request,
            title="Not in this snapshot",
            detail=f"{error.detail} (as of that time)",
            status=404,
            back_url=_url("snapshot_browse", source=source),
        )
    except StoreError as error:
        if rows_only:
            return render(request, "portal/files/_row_error.html", {"error": error.detail, "colspan": 5})
        messages.error(request, error.detail)
        return HttpResponseRedirect(_url("snapshot_browse", source=source, path=path))
    context: dict[str, Any] = {
        "entries": _snapshot_entries(source, path, versions),
        "next_url": _url("snapshot_browse", source=source, path=path, cursor=next_cursor) if next_cursor else "",
        "next_fragment_url": _url("snapshot_browse", source=source, path=path, cursor=next_cursor, fragment="rows")
        if next_cursor
        else "",
    }
    if rows_only:
        return render(request, "portal/snapshots/_rows.html", context)
    names = split_path(path)
    context.update(_source_context(tenant, source))
    context.update(
        {
            "folder_path": path,
            "folder_name": names[-1] if names else "All files",
            "crumbs": _snapshot_crumbs(source, path),
            "is_continuation": bool(cursor),
            "first_page_url": _url("snapshot_browse", source=source, path=path),
            "restore_folder_url": _url("snapshot_restore", source=source, paths=[path]),
            "live_folder_url": folder_url(path),
            "max_selected": MAX_SELECTED_PATHS,
        }
    )
    return render(request, "portal/snapshots/browse.html", context)


class SnapshotItemForm(SourceForm):
    path = PathField()


@hub_time
@require_GET
def snapshot_download(request: HttpRequest) -> HttpResponseBase:
    """A file's content as it was then, streamed from the hub's storage."""
    tenant = _tenant(request)
    form = SnapshotItemForm(request.GET)
    source = _source_or_response(request, form)
    if isinstance(source, HttpResponse):
        return source
    path = form.cleaned_data["path"]
    try:
        version = selectors.node_at_path(tenant=tenant, path=path, seq=source.seq)
        if version.kind != Node.Kind.FILE or version.blob is None:
            raise WrongKind(f"{path} is a folder; open it to download the files in it.")
        response = file_download_response(request, tenant=tenant, version=version)
    except NotFound as error:
        return _problem(
            request,
            title="Not in this snapshot",
            detail=error.detail,
            status=404,
            back_url=_url("snapshot_browse", source=source),
        )
    except StoreError as error:
        messages.error(request, error.detail)
        return HttpResponseRedirect(_url("snapshot_browse", source=source, path=parent_path(path)))
    return response


# SECTION: the restore dialog: options, dry run preview, confirm


class PathListField(forms.Field):
    """Several absolute paths (the checked items), each checked by the store's rules."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[str]:
        if not value:
            return []
        if not isinstance(value, list | tuple):
            value = [value]
        if len(value) > MAX_SELECTED_PATHS:
            raise forms.ValidationError(f"Select at most {MAX_SELECTED_PATHS} items at once, or restore their folder.")
        field = PathField()
        return [field.clean(item) for item in value]


TARGET_CHOICES = [("original", "Where they were"), ("folder", "Into another folder")]


class RestoreOptionsForm(SourceForm):
    paths = PathListField(error_messages={"required": "Select at least one file or folder to restore."})
    target = forms.ChoiceField(choices=TARGET_CHOICES)
    folder = PathField(required=False)
    conflict = forms.ChoiceField(choices=RestoreJob.Conflict.choices)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("target") == "folder" and not cleaned.get("folder"):
            self.add_error("folder", "Give the folder to restore into, e.g. /Restored.")
        return cleaned

    @property
    def target_path(self) -> str | None:
        return self.cleaned_data["folder"] if self.cleaned_data["target"] == "folder" else None


def _with_defaults(query: Any) -> Any:
    data = query.copy()
    if not data.get("target"):
        data["target"] = "original"
    if not data.get("conflict"):
        data["conflict"] = RestoreJob.Conflict.RENAME
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
        names = split_path(path)
        try:
            version = selectors.node_at_path(tenant=tenant, path=path, seq=source.seq)
            is_folder = version.kind == Node.Kind.FOLDER
        except StoreError:
            is_folder = False
        rows.append(SelectedItem(path=path, name=names[-1] if names else "Everything", is_folder=is_folder))
    return rows


def _restore_context(request: HttpRequest, tenant: Tenant, source: Source, form: RestoreOptionsForm) -> dict[str, Any]:
    """The dialog: the options as chosen and what a restore with them would do."""
    preview: RestorePreview | None = None
    error = ""
    if form.is_valid():
        try:
            preview = restore_preview(
                tenant=tenant,
                acting_user=signed_in_user(request),
                snapshot_id=source.snapshot.pk if source.snapshot else None,
                at=None if source.snapshot else source.at,
                paths=form.cleaned_data["paths"],
                target=form.target_path,
                conflict=form.cleaned_data["conflict"],
            )
        except StoreError as refusal:
            error = refusal.detail
    else:
        error = _form_error(form)
    paths = form.cleaned_data.get("paths", []) if hasattr(form, "cleaned_data") else []
    suffix = f"{timezone.localtime(source.at):%Y-%m-%d %H:%M}"
    first_name = split_path(paths[0])[-1] if paths and split_path(paths[0]) else "report.pdf"
    stem, dot, extension = first_name.rpartition(".")
    example = f"{stem} (restored {suffix}).{extension}" if stem and dot else f"{first_name} (restored {suffix})"
    context: dict[str, Any] = _source_context(tenant, source)
    context.update(
        {
            "form": form,
            "data": form.data,
            "paths": paths,
            "selected": _selected_items(tenant, source, paths),
            "more_selected": max(0, len(paths) - 20),
            "preview": preview,
            "preview_items": preview.items[:PREVIEW_ITEMS_SHOWN] if preview else [],
            # Folders that merge into one there now have no line of their own: count the lines.
            "preview_more": sum(preview.counts.values()) - len(preview.items[:PREVIEW_ITEMS_SHOWN]) if preview else 0,
            "error": error,
            "rename_example": example,
            "back_url": _url("snapshot_browse", source=source, path=parent_path(paths[0]) if len(paths) == 1 else "/"),
            "preview_url": _url("snapshot_restore", source=source, fragment="preview"),
            "folder_placeholder": f"/Restored {timezone.localtime(source.at):%Y-%m-%d}",
        }
    )
    return context


@hub_time
@require_http_methods(["GET", "POST"])
def snapshot_restore(request: HttpRequest) -> HttpResponse:
    """GET: the restore dialog with the preview for the chosen options (the
    fragment alone when the options change). POST: start the restore."""
    tenant = _tenant(request)
    data = _with_defaults(request.POST if request.method == "POST" else request.GET)
    form = RestoreOptionsForm(data)
    source_form = SourceForm(data)
    source = _source_or_response(request, source_form)
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
        messages.error(request, _form_error(form))
        return render(request, "portal/snapshots/restore.html", _restore_context(request, tenant, source, form))
    try:
        job = restore_start(
            tenant=tenant,
            acting_user=signed_in_user(request),
            snapshot_id=source.snapshot.pk if source.snapshot else None,
            at=None if source.snapshot else source.at,
            paths=form.cleaned_data["paths"],
            target=form.target_path,
            conflict=form.cleaned_data["conflict"],
        )
    except StoreError as error:
        messages.error(request, error.detail)
        return render(request, "portal/snapshots/restore.html", _restore_context(request, tenant, source, form))
    messages.success(request, "Restore started. You can leave this page; we email you when it ends.")
    return HttpResponseRedirect(reverse("restore_job", kwargs={"job_id": job.pk}))


# SECTION: restore jobs


def _job_context(tenant: Tenant, job: RestoreJob) -> dict[str, Any]:
    if job.target:
        result_url = folder_url(job.target)
    elif len(job.paths) == 1:
        result_url = folder_url(parent_path(job.paths[0]))
    else:
        result_url = folder_url("/")
    return {
        "job": job,
        "source_zone": zone_label(tenant, job.source_at),
        "progress_url": reverse("restore_job_progress", kwargs={"job_id": job.pk}),
        "cancel_url": reverse("restore_job_cancel", kwargs={"job_id": job.pk}),
        "result_url": result_url,
        "counts": [
            ("Restored", job.restored, "restored"),
            ("Renamed", job.renamed, "renamed"),
            ("Overwritten", job.overwritten, "overwritten"),
            ("Unchanged", job.unchanged, "unchanged"),
            ("Skipped", job.skipped, "skipped"),
            ("Failed", job.failed, "failed"),
        ],
        "pre_restore_url": _url("snapshot_browse", snapshot=job.pre_restore_snapshot_id)
        if job.pre_restore_snapshot_id
        else "",
        "source_snapshot_url": _url("snapshot_browse", snapshot=job.snapshot_id) if job.snapshot_id else "",
    }


def _job_or_404(request: HttpRequest, job_id: int) -> RestoreJob | HttpResponse:
    try:
        return restore_job_get(tenant=_tenant(request), job_id=job_id)
    except NotFound as error:
        return _problem(
            request, title="Restore not found", detail=error.detail, status=404, back_url=reverse("restores")
        )


@hub_time
@require_GET
def restore_job(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job_or_404(request, job_id)
    if isinstance(job, HttpResponse):
        return job
    return render(request, "portal/snapshots/job.html", _job_context(_tenant(request), job))


@hub_time
@require_GET
def restore_job_progress(request: HttpRequest, job_id: int) -> HttpResponse:
    """The part of the job page that changes; polled every second until the job ends."""
    job = _job_or_404(request, job_id)
    if isinstance(job, HttpResponse):
        return job
    return render(request, "portal/snapshots/_job_progress.html", _job_context(_tenant(request), job))


@hub_time
@require_POST
def restore_job_cancel(request: HttpRequest, job_id: int) -> HttpResponse:
    tenant = _tenant(request)
    job = _job_or_404(request, job_id)
    if isinstance(job, HttpResponse):
        return job
    try:
        job = restore_cancel(tenant=tenant, job_id=job.pk, acting_user=signed_in_user(request))
    except StoreError as error:
        messages.error(request, error.detail)
    else:
        if job.is_finished:
            messages.success(request, "Restore cancelled before it started; nothing was changed.")
        else:
            messages.success(request, "Stopping the restore after the batch it is in; what that batch restored stays.")
    return HttpResponseRedirect(reverse("restore_job", kwargs={"job_id": job_id}))


class CursorQueryForm(forms.Form):
    cursor = CursorField()


@hub_time
@require_GET
def restore_list(request: HttpRequest) -> HttpResponse:
    tenant = _tenant(request)
    form = CursorQueryForm(request.GET)
    if not form.is_valid():
        return _problem(request, title="That address is not valid", detail=_form_error(form), status=400)
    try:
        page = restore_job_page(tenant=tenant, cursor=form.cleaned_data["cursor"] or None, limit=RESTORES_PAGE_SIZE)
    except StoreError as error:
        messages.error(request, error.detail)
        return HttpResponseRedirect(reverse("restores"))
    return render(
        request,
        "portal/snapshots/restores.html",
        {
            "jobs": page.items,
            "zone": zone_label(tenant, timezone.now()),
            "is_continuation": bool(form.cleaned_data["cursor"]),
            "next_url": _url("restores", cursor=page.next_cursor) if page.next_cursor else "",
        },
    )


# SECTION: the versions of one file


class VersionsQueryForm(forms.Form):
    path = PathField()


class VersionForm(forms.Form):
    version = forms.IntegerField(min_value=1, max_value=MAX_BIGINT)


@hub_time
@require_GET
def file_versions(request: HttpRequest) -> HttpResponse:
    """Every version of a file in the retention, newest first; download or restore any one."""
    tenant = _tenant(request)
    form = VersionsQueryForm(request.GET)
    if not form.is_valid():
        return _problem(request, title="That address is not valid", detail=_form_error(form), status=400)
    path = form.cleaned_data["path"]
    try:
        current = file_at_path_for_versions(tenant=tenant, path=path)
        versions = selectors.file_versions(tenant=tenant, node_id=current.node_id)
    except NotFound as error:
        return _problem(request, title="File not found", detail=error.detail, status=404)
    except StoreError as error:
        messages.error(request, error.detail)
        return HttpResponseRedirect(folder_url(parent_path(path)))
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
            "zone": zone_label(tenant, timezone.now()),
            "retention_days": settings.SNAPSHOT_RETENTION_DAYS,
        },
    )


@hub_time
@require_GET
def version_download(request: HttpRequest) -> HttpResponseBase:
    tenant = _tenant(request)
    form = VersionForm(request.GET)
    if not form.is_valid():
        return _problem(request, title="That address is not valid", detail=_form_error(form), status=400)
    try:
        version = file_version_get(tenant=tenant, version_id=form.cleaned_data["version"])
        if version.blob is None:
            raise NotFound(f"There is no file version {form.cleaned_data['version']}.")
        response = file_download_response(request, tenant=tenant, version=version)
    except NotFound as error:
        return _problem(request, title="Version not found", detail=error.detail, status=404)
    except StoreError as error:
        messages.error(request, error.detail)
        return HttpResponseRedirect(reverse("files"))
    return response


@hub_time
@require_POST
def version_restore(request: HttpRequest) -> HttpResponse:
    """Make an earlier version current again (a deleted file comes back with it)."""
    tenant = _tenant(request)
    form = VersionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_error(form))
        return HttpResponseRedirect(reverse("files"))
    try:
        chosen = file_version_get(tenant=tenant, version_id=form.cleaned_data["version"])
    except NotFound as error:
        return _problem(request, title="Version not found", detail=error.detail, status=404)
    try:
        restored = services.version_restore(
            tenant=tenant,
            version_id=chosen.pk,
            acting_user=signed_in_user(request),
        )
        path = selectors.path_of(tenant=tenant, node_id=restored.node_id)
    except StoreError as error:
        messages.error(request, error.detail)
        try:
            back = selectors.path_of(tenant=tenant, node_id=chosen.node_id, seq=chosen.valid_from)
        except (NotFound, InvalidPath):
            return HttpResponseRedirect(reverse("files"))
        return HttpResponseRedirect(_url("file_versions", path=back))
    when = f"{timezone.localtime(chosen.changed_at):%-d %b %Y, %H:%M}"
    if restored.name != chosen.name:
        text = f"Restored the version of {when} as “{restored.name}”, because “{chosen.name}” is taken now."
    else:
        text = f"Restored the version of {when}: it is the current content of “{restored.name}” now."
    messages.success(request, text)
    return HttpResponseRedirect(_url("file_versions", path=path))


# SECTION: storage


@hub_time
@require_GET
def storage(request: HttpRequest) -> HttpResponse:
    tenant = _tenant(request)
    usage = storage_usage(tenant=tenant)
    quota = usage.quota_bytes
    return render(
        request,
        "portal/snapshots/storage.html",
        {
            "usage": usage,
            "live_percent": min(100, round(usage.live_bytes * 100 / quota, 1)) if quota else 100,
            "free_bytes": max(0, quota - usage.live_bytes),
            "total_bytes": usage.live_bytes + usage.history_bytes,
            "hub_label": tenant.hub.label,
            "retention_days": settings.SNAPSHOT_RETENTION_DAYS,
        },
    )
