"""A tenant's data-plane pages in the support admin: its snapshots, its restore
jobs, a restore on the customer's behalf (picked by browsing a snapshot or a
moment read-only, or typed), and a purge from all history.

Every read goes to the tenant's hub database through ``for_tenant``; every
write goes through ``portal.services.support``, which writes the hub-side
record and then the control-plane audit entry. The pages are ``TenantAdmin``
URLs, so the OTP admin site guards them like the rest of the admin (staff with
a verified device only).

Permissions:

- seeing the snapshots and restore jobs needs the tenant view permission;
- browsing the files of a snapshot or a moment (their names), taking a
  snapshot, restoring and cancelling a restore need the tenant change
  permission; every folder listed is recorded in the tenant's hub
  (``SupportView``, with the path) and in the staff audit log (its id only);
- purging needs a superuser: it destroys data for good, so holding a
  permission that a group grants is not enough.

File names never travel through the control plane: the forms post back their
own values (nothing is kept in the session), and refusals naming a path are
shown on the page they belong to, never put in a redirect's message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import DatabaseError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from hubs.display import bytes_label, time_label
from hubs.models import StaffAuditEntry, Tenant
from portal.forms.support import (
    MAX_PICKED_PATHS,
    SupportBrowseForm,
    SupportPurgeForm,
    SupportRestoreForm,
    with_picked_paths,
)
from portal.services.support import (
    support_browse,
    support_purge,
    support_restore_cancel,
    support_restore_start,
    support_snapshot,
)
from portal.signed_in import signed_in_user
from snapshots.errors import StoreError
from snapshots.models import RestoreJob, Snapshot, TenantClock
from snapshots.paths import join_path, split_path
from snapshots.selectors import retention_start
from snapshots.services import RestorePreview, restore_preview, snapshot_expires_at

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin

SNAPSHOTS_PER_PAGE = 100
JOBS_PER_PAGE = 100
# The preview keeps up to 1,000 items; the first 50 fit one screen and tell the story.
PREVIEW_ITEMS_SHOWN = 50
# Hourly snapshots over 28 days are 672, plus manual and pre-restore ones.
SNAPSHOT_CHOICES_MAX = 1000

HUB_UNAVAILABLE = "The tenant's hub database did not answer. Try again in a moment."
NOT_PROVISIONED = "This tenant has no space in its hub yet. Provision it first (action on the tenant list)."


# SECTION: the admin action on the tenant list


@admin.action(description="Take a snapshot now", permissions=["change"])
def take_snapshot_now(model_admin: ModelAdmin, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
    taken, failed = 0, []
    for tenant in queryset.select_related("hub"):
        if tenant.provisioned_at is None:
            failed.append(f"{tenant.slug} (not provisioned yet)")
            continue
        try:
            support_snapshot(tenant=tenant, acting_user=signed_in_user(request))
        except (DatabaseError, TenantClock.DoesNotExist):
            failed.append(f"{tenant.slug} (its hub database did not answer)")
        else:
            taken += 1
    if taken:
        model_admin.message_user(request, f"{taken} snapshot(s) taken.", messages.SUCCESS)
    if failed:
        model_admin.message_user(request, f"No snapshot of {', '.join(failed)}.", messages.ERROR)


@admin.display(description="Data")
def tenant_data_links(tenant: Tenant) -> str:
    """Links to the tenant's snapshots, restore jobs and integrity findings, for the tenant list."""
    return format_html(
        '<a href="{}">Snapshots</a> · <a href="{}">Restores</a> · <a href="{}">Integrity</a>',
        reverse("admin:hubs_tenant_snapshots", args=[tenant.pk]),
        reverse("admin:hubs_tenant_restores", args=[tenant.pk]),
        reverse("admin:hubs_tenant_integrity", args=[tenant.pk]),
    )


# SECTION: the pages


class TenantDataViews:
    """The data-plane pages of one ``TenantAdmin``; ``urls()`` goes first in its ``get_urls``."""

    def __init__(self, model_admin: ModelAdmin) -> None:
        self.model_admin = model_admin
        self.admin_site = model_admin.admin_site
        self.opts = model_admin.model._meta

    def urls(self) -> list[URLPattern]:
        def wrap(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
            return self.admin_site.admin_view(view)

        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("<int:object_id>/snapshots/", wrap(self.snapshots_view), name=f"{prefix}_snapshots"),
            path(
                "<int:object_id>/snapshots/take/",
                wrap(require_POST(self.snapshot_take_view)),
                name=f"{prefix}_snapshot_take",
            ),
            path("<int:object_id>/restores/", wrap(self.restores_view), name=f"{prefix}_restores"),
            path("<int:object_id>/restores/new/", wrap(self.restore_new_view), name=f"{prefix}_restore_new"),
            path("<int:object_id>/restores/<int:job_id>/", wrap(self.restore_view), name=f"{prefix}_restore"),
            path(
                "<int:object_id>/restores/<int:job_id>/cancel/",
                wrap(require_POST(self.restore_cancel_view)),
                name=f"{prefix}_restore_cancel",
            ),
            path("<int:object_id>/browse/", wrap(self.browse_view), name=f"{prefix}_browse"),
            path("<int:object_id>/purge/", wrap(self.purge_view), name=f"{prefix}_purge"),
        ]

    # -- helpers

    def _url(self, name: str, *args: Any) -> str:
        return reverse(
            f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_{name}",
            args=args,
        )

    def _tenant(self, request: HttpRequest, object_id: int, *, need: str = "view") -> Tenant:
        tenant = Tenant.objects.select_related("hub").filter(pk=object_id).first()
        if tenant is None:
            raise Http404("There is no such tenant.")
        allowed = {
            "view": self.model_admin.has_view_permission,
            "change": self.model_admin.has_change_permission,
        }
        if need == "purge":
            if not request.user.is_superuser:
                raise PermissionDenied("Only superusers can purge from all history.")
        elif not allowed[need](request, tenant):
            raise PermissionDenied
        return tenant

    def _render(
        self, request: HttpRequest, template: str, tenant: Tenant, title: str, **context: Any
    ) -> TemplateResponse:
        return TemplateResponse(
            request,
            f"admin/hubs/tenant/{template}",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "app_label": self.opts.app_label,
                "original": tenant,
                "tenant": tenant,
                "title": title,
                "subtitle": tenant.name,
                "hub_alias": f"hub_{tenant.hub_id}",
                "can_change": self.model_admin.has_change_permission(request, tenant),
                "can_purge": request.user.is_superuser,
                "urls": self._tenant_urls(tenant),
                "page_name": template.removesuffix(".html"),
                "retention_days": settings.SNAPSHOT_RETENTION_DAYS,
                **context,
            },
        )

    def _tenant_urls(self, tenant: Tenant) -> dict[str, str]:
        return {
            "change": self._url("change", tenant.pk),
            "snapshots": self._url("snapshots", tenant.pk),
            "snapshot_take": self._url("snapshot_take", tenant.pk),
            "restores": self._url("restores", tenant.pk),
            "restore_new": self._url("restore_new", tenant.pk),
            "browse": self._url("browse", tenant.pk),
            "purge": self._url("purge", tenant.pk),
        }

    # -- snapshots

    def snapshots_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        tenant = self._tenant(request, object_id)
        queryset = (
            Snapshot.objects.for_tenant(tenant).filter(taken_at__gte=retention_start()).order_by("-taken_at", "-id")
        )
        try:
            page = Paginator(queryset, SNAPSHOTS_PER_PAGE).get_page(request.GET.get("p"))
            rows = [(snapshot, snapshot_expires_at(snapshot)) for snapshot in page.object_list]
        except DatabaseError:
            messages.error(request, HUB_UNAVAILABLE)
            page, rows = None, []
        return self._render(request, "snapshots.html", tenant, f"Snapshots of {tenant.name}", rows=rows, page=page)

    def snapshot_take_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        tenant = self._tenant(request, object_id, need="change")
        back = HttpResponseRedirect(self._url("snapshots", tenant.pk))
        if tenant.provisioned_at is None:
            messages.error(request, NOT_PROVISIONED)
            return back
        try:
            snapshot = support_snapshot(tenant=tenant, acting_user=signed_in_user(request))
        except (DatabaseError, TenantClock.DoesNotExist):
            messages.error(request, HUB_UNAVAILABLE)
            return back
        messages.success(
            request,
            f"Snapshot {snapshot.pk} taken: {snapshot.file_count} files, {bytes_label(snapshot.byte_count)}. "
            f"It expires on {time_label(snapshot_expires_at(snapshot), 'Y-m-d H:i')}.",
        )
        return back

    # -- browse a snapshot or a moment, to pick what to restore

    def browse_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """A folder as it was, read only, with a box to tick on every row; the
        ticked rows go to the restore form's preview. Every listing is recorded
        in the tenant's hub and in the staff audit log (``support_browse``)."""
        tenant = self._tenant(request, object_id, need="change")
        form = SupportBrowseForm(request.GET)
        if not form.is_valid():
            messages.error(
                request, " ".join(str(error) for error in form.non_field_errors()) or "That address is not valid."
            )
            return HttpResponseRedirect(self._url("snapshots", tenant.pk))
        wanted = form.cleaned_data
        try:
            listing = support_browse(
                tenant=tenant,
                acting_user=signed_in_user(request),
                snapshot_id=wanted["snapshot"],
                at=wanted["at"],
                path=wanted["path"] or "/",
                cursor=wanted["cursor"] or None,
            )
        except StoreError as exc:
            # Shown on this response: the detail may name a path, which must not go into a stored message.
            title = f"Browse the files of {tenant.name}"
            return self._render(request, "browse.html", tenant, title, refusal=exc.detail)
        except (DatabaseError, TenantClock.DoesNotExist):
            messages.error(request, HUB_UNAVAILABLE)
            return HttpResponseRedirect(self._url("snapshots", tenant.pk))
        source = {"snapshot": wanted["snapshot"]} if wanted["snapshot"] else {"at": wanted["at"].isoformat()}
        names = split_path(listing.path)
        crumbs = [("All files", self._browse_url(tenant, source, "/"))] + [
            (name, self._browse_url(tenant, source, join_path(names[: depth + 1]))) for depth, name in enumerate(names)
        ]
        rows = [
            (
                version,
                join_path([*names, version.name]),
                self._browse_url(tenant, source, join_path([*names, version.name])) if version.kind == "folder" else "",
            )
            for version in listing.page.items
        ]
        return self._render(
            request,
            "browse.html",
            tenant,
            f"Browse the files of {tenant.name}",
            listing=listing,
            rows=rows,
            crumbs=crumbs,
            source=source,
            next_url=self._browse_url(tenant, source, listing.path, cursor=listing.page.next_cursor)
            if listing.page.next_cursor
            else "",
            max_picked=MAX_PICKED_PATHS,
        )

    def _browse_url(self, tenant: Tenant, source: dict[str, Any], path: str, **more: Any) -> str:
        return f"{self._url('browse', tenant.pk)}?{urlencode({**source, 'path': path, **more})}"

    # -- restore jobs

    def _job(self, tenant: Tenant, job_id: int) -> RestoreJob:
        job = RestoreJob.objects.for_tenant(tenant).select_related("snapshot", "pre_restore_snapshot")
        found = job.filter(pk=job_id).first()
        if found is None:
            raise Http404("This tenant has no such restore job.")
        return found

    def restores_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        tenant = self._tenant(request, object_id)
        queryset = RestoreJob.objects.for_tenant(tenant).order_by("-created_at", "-id")
        try:
            page = Paginator(queryset, JOBS_PER_PAGE).get_page(request.GET.get("p"))
            jobs = list(page.object_list)
        except DatabaseError:
            messages.error(request, HUB_UNAVAILABLE)
            page, jobs = None, []
        return self._render(request, "restores.html", tenant, f"Restore jobs of {tenant.name}", jobs=jobs, page=page)

    def restore_view(self, request: HttpRequest, object_id: int, job_id: int) -> HttpResponse:
        tenant = self._tenant(request, object_id)
        job = self._job(tenant, job_id)
        staff_entry = (
            StaffAuditEntry.objects.filter(tenant=tenant, action="tenant.restore", hub_record_id=str(job.pk))
            .order_by("at")
            .first()
            if job.by_support
            else None
        )
        return self._render(
            request,
            "restore.html",
            tenant,
            f"Restore job {job.pk}",
            job=job,
            staff_entry=staff_entry,
            cancel_url=self._url("restore_cancel", tenant.pk, job.pk),
        )

    def restore_cancel_view(self, request: HttpRequest, object_id: int, job_id: int) -> HttpResponse:
        tenant = self._tenant(request, object_id, need="change")
        self._job(tenant, job_id)
        try:
            job = support_restore_cancel(tenant=tenant, acting_user=signed_in_user(request), job_id=job_id)
        except StoreError as exc:
            messages.error(request, exc.detail)
        except DatabaseError:
            messages.error(request, HUB_UNAVAILABLE)
        else:
            if job.state == RestoreJob.State.CANCELLED:
                messages.success(request, f"Restore job {job.pk} cancelled.")
            else:
                messages.success(request, f"Restore job {job.pk} stops after the batch it is working on.")
        return HttpResponseRedirect(self._url("restore", tenant.pk, job_id))

    # -- restore on the customer's behalf

    def restore_new_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        tenant = self._tenant(request, object_id, need="change")
        try:
            snapshots = list(
                Snapshot.objects.for_tenant(tenant)
                .filter(taken_at__gte=retention_start())
                .order_by("-taken_at", "-id")[:SNAPSHOT_CHOICES_MAX]
            )
        except DatabaseError:
            messages.error(request, HUB_UNAVAILABLE)
            return HttpResponseRedirect(self._url("restores", tenant.pk))
        preview: RestorePreview | None = None
        if request.method == "POST":
            form = SupportRestoreForm(with_picked_paths(request.POST), snapshots=snapshots)
            if not form.is_valid():
                messages.error(request, "Please correct the errors below.")
            elif "_edit" in request.POST:
                pass  # back to the form, as filled in
            elif "_start" in request.POST:
                response = self._restore_start(request, tenant, form)
                if response is not None:
                    return response
            else:
                preview = self._restore_preview(request, tenant, form)
        else:
            initial = {}
            wanted = request.GET.get("snapshot", "")
            if wanted.isdigit() and any(snapshot.pk == int(wanted) for snapshot in snapshots):
                initial["snapshot"] = int(wanted)
            form = SupportRestoreForm(initial=initial, snapshots=snapshots)
        return self._render(
            request,
            "restore_new.html",
            tenant,
            f"Restore files of {tenant.name}",
            form=form,
            preview=preview,
            preview_items=preview.items[:PREVIEW_ITEMS_SHOWN] if preview else [],
            retention_start=retention_start(),
        )

    def _restore_preview(self, request: HttpRequest, tenant: Tenant, form: SupportRestoreForm) -> RestorePreview | None:
        try:
            return restore_preview(tenant=tenant, request=form.restore_request())
        except StoreError as exc:
            messages.error(request, f"The restore was refused: {exc.detail}")
        except (DatabaseError, TenantClock.DoesNotExist):
            messages.error(request, HUB_UNAVAILABLE)
        return None

    def _restore_start(self, request: HttpRequest, tenant: Tenant, form: SupportRestoreForm) -> HttpResponse | None:
        try:
            job = support_restore_start(
                tenant=tenant, acting_user=signed_in_user(request), request=form.restore_request()
            )
        except StoreError as exc:
            messages.error(request, f"The restore was refused: {exc.detail}")
            return None
        except (DatabaseError, TenantClock.DoesNotExist):
            messages.error(request, HUB_UNAVAILABLE)
            return None
        messages.success(
            request,
            f"Restore job {job.pk} queued on the customer's behalf. "
            "The customer's activity shows it as done by Hubport support.",
        )
        return HttpResponseRedirect(self._url("restore", tenant.pk, job.pk))

    # -- purge from all history

    def purge_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        tenant = self._tenant(request, object_id, need="purge")
        form = SupportPurgeForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                result = support_purge(
                    tenant=tenant,
                    acting_user=signed_in_user(request),
                    path=form.cleaned_data["path"],
                    reason=form.cleaned_data["reason"],
                )
            except StoreError as exc:
                messages.error(request, f"Nothing was purged: {exc.detail}")
            except (DatabaseError, TenantClock.DoesNotExist):
                messages.error(request, HUB_UNAVAILABLE)
            else:
                # Shown on this response, not through a redirect: the message
                # names the path, and must not be stored in the control plane.
                return self._render(
                    request, "purge_done.html", tenant, f"Purged from the history of {tenant.name}", result=result
                )
        elif request.method == "POST":
            messages.error(request, "Please correct the errors below.")
        return self._render(request, "purge.html", tenant, f"Purge from all history of {tenant.name}", form=form)
