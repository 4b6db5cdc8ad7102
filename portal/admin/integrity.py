"""Support's view of integrity: what scrub and downloads found, and which of
a tenant's files it concerns.

Two pages, on the tenant admin's URLs so the OTP admin site guards them
(staff with a verified device and the tenant view permission):

- ``/admin/hubs/tenant/integrity/``: per hub (all, or ``?hub=CODE``), where
  the scheduled scrub pass stands, and the blobs with an open finding (lost
  everywhere, or a copy a download marked bad) and those repaired in the last
  fortnight, by tenant, with ids only;
- ``/admin/hubs/tenant/<id>/integrity/``: one tenant's findings and the
  versions of its files that use those blobs, with their paths, read from the
  hub database for this response. Each view of it is audited in the control
  plane by blob ids (``tenant.integrity_view``); the names never leave the hub.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from hubs.models import Tenant
from portal.services.integrity import support_integrity_viewed
from portal.signed_in import signed_in_user
from snapshots.models import ScrubFinding, ScrubPass
from snapshots.selectors.integrity import (
    RECENT_REPAIRS,
    integrity_affected_versions,
    integrity_findings,
    scrub_pass_latest,
)

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin

HUB_UNAVAILABLE = "The hub database did not answer; nothing could be read from it."


@dataclass
class TenantFindings:
    """One tenant's findings in one hub, counted for the overview."""

    tenant_id: int
    tenant: Tenant | None
    lost_open: int = 0
    marked_open: int = 0
    repaired: int = 0
    blobs: set[int] = field(default_factory=set)


@dataclass
class HubFindings:
    code: str
    tenants: list[TenantFindings]
    scrub: ScrubPass | None = None
    unavailable: bool = False


def _by_tenant(findings: list[ScrubFinding]) -> list[TenantFindings]:
    rows: dict[int, TenantFindings] = {}
    for finding in findings:
        row = rows.setdefault(finding.tenant_id, TenantFindings(tenant_id=finding.tenant_id, tenant=None))
        row.blobs.add(finding.blob_id)
        if finding.repaired_at is not None:
            row.repaired += 1
        elif finding.kind == ScrubFinding.Kind.LOST:
            row.lost_open += 1
        else:
            row.marked_open += 1
    tenants = Tenant.objects.in_bulk(list(rows))
    for row in rows.values():
        row.tenant = tenants.get(row.tenant_id)
    return sorted(rows.values(), key=lambda row: (-row.lost_open, -row.marked_open, row.tenant_id))


class IntegrityViews:
    """The integrity pages of the ``TenantAdmin``; ``urls()`` goes before its own."""

    def __init__(self, model_admin: ModelAdmin) -> None:
        self.model_admin = model_admin
        self.admin_site = model_admin.admin_site
        self.opts = model_admin.model._meta

    def urls(self) -> list[URLPattern]:
        def wrap(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
            return self.admin_site.admin_view(view)

        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("integrity/", wrap(self.overview_view), name=f"{prefix}_integrity_overview"),
            path("<int:object_id>/integrity/", wrap(self.tenant_view), name=f"{prefix}_integrity"),
        ]

    def _render(self, request: HttpRequest, template: str, title: str, **context: Any) -> TemplateResponse:
        return TemplateResponse(
            request,
            f"admin/hubs/tenant/{template}",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": title,
                "recent_days": RECENT_REPAIRS.days,
                "overview_url": reverse(f"{self.admin_site.name}:hubs_tenant_integrity_overview"),
                **context,
            },
        )

    def overview_view(self, request: HttpRequest) -> HttpResponse:
        if not self.model_admin.has_view_permission(request):
            raise PermissionDenied
        wanted = request.GET.get("hub", "")
        codes = [wanted] if wanted in settings.HUB_CODES else list(settings.HUB_CODES)
        hubs = []
        for code in codes:
            try:
                hubs.append(
                    HubFindings(
                        code=code,
                        tenants=_by_tenant(integrity_findings(hub_code=code)),
                        scrub=scrub_pass_latest(hub_code=code),
                    )
                )
            except DatabaseError:
                hubs.append(HubFindings(code=code, tenants=[], unavailable=True))
        return self._render(
            request,
            "integrity_overview.html",
            "Integrity: lost and repaired blobs",
            hubs=hubs,
            hub_codes=settings.HUB_CODES,
            selected_hub=wanted if wanted in settings.HUB_CODES else "",
            unavailable_text=HUB_UNAVAILABLE,
        )

    def tenant_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        tenant = Tenant.objects.select_related("hub").filter(pk=object_id).first()
        if tenant is None:
            raise Http404("There is no such tenant.")
        if not self.model_admin.has_view_permission(request, tenant):
            raise PermissionDenied
        try:
            findings = integrity_findings(hub_code=tenant.hub_id, tenant=tenant)
            blob_ids = sorted({finding.blob_id for finding in findings})
            versions = integrity_affected_versions(tenant=tenant, blob_ids=blob_ids) if blob_ids else []
        except DatabaseError:
            return self._render(
                request, "integrity.html", f"Integrity of {tenant.name}", tenant=tenant, unavailable=HUB_UNAVAILABLE
            )
        if blob_ids:
            support_integrity_viewed(tenant=tenant, acting_user=signed_in_user(request), blob_ids=blob_ids)
        return self._render(
            request,
            "integrity.html",
            f"Integrity of {tenant.name}",
            tenant=tenant,
            findings=findings,
            versions=versions,
            change_url=reverse(f"{self.admin_site.name}:hubs_tenant_change", args=[tenant.pk]),
        )
