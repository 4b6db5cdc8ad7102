"""The storage page: what the live files and the history hold against the quota."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from portal.views.files.access import request_tenant, tenant_required
from snapshots.selectors.storage import storage_usage


@tenant_required
@require_GET
def storage(request: HttpRequest) -> HttpResponse:
    tenant = request_tenant(request)
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
