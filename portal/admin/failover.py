"""A hub's failovers in the admin, read-only: what each lost (the recovery
point) and how long the hub was without file transactions (the recovery time).
``hubs.services.hub_fail_over`` and the probe round write them; the hub's page
(portal/admin/hubs.py) lists them inline and holds the failover actions."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from hubs.display import bytes_label
from hubs.models import FailoverEvent, Hub
from portal.admin.audit import AuditedModelAdmin


def recovery_point_label(event: FailoverEvent) -> str:
    if event.lag_bytes is None:
        lag = "no standby promoted"
    else:
        lag = f"{bytes_label(event.lag_bytes, exact=True)} of WAL not replayed, {event.lag_seconds or 0:.1f} s"
    if event.blobs_not_copied is None:
        return f"{lag}; blobs not copied unknown"
    return f"{lag}; {event.blobs_not_copied:,} blob(s) not copied ({bytes_label(event.bytes_not_copied or 0)})"


FAILOVER_EVENT_FIELDS = (
    "hub",
    "direction",
    "automatic",
    "reason",
    "actor",
    "started_at",
    "finished_at",
    "generation",
    "promoted",
    "database_detail",
    "lag_bytes",
    "lag_seconds",
    "blobs_not_copied",
    "bytes_not_copied",
    "outage_started_at",
    "recovered_at",
    "recovery_seconds",
)


class FailoverEventInline(admin.TabularInline):
    """The hub's failovers, newest first; read-only (the service writes them)."""

    model = FailoverEvent
    fields = ("started_at", "direction", "automatic", "promoted", "recovery_point", "recovery_seconds", "reason")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = "failovers (newest first)"

    @admin.display(description="Recovery point")
    def recovery_point(self, event: FailoverEvent) -> str:
        return recovery_point_label(event)

    def has_add_permission(self, request: HttpRequest, obj: Hub | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Hub | None = None) -> bool:
        return False


@admin.register(FailoverEvent)
class FailoverEventAdmin(AuditedModelAdmin[FailoverEvent]):
    """What each failover lost and how long the hub was without file
    transactions; read-only: ``hubs.services.hub_fail_over`` and the probe
    round write them."""

    list_display = (
        "started_at",
        "hub",
        "direction",
        "automatic",
        "promoted",
        "recovery_point",
        "recovery_seconds",
        "actor",
    )
    list_filter = ("hub", "direction", "automatic", "promoted")
    list_select_related = ("hub", "actor")
    date_hierarchy = "started_at"
    fields = (*FAILOVER_EVENT_FIELDS, "recovery_point")
    readonly_fields = fields

    @admin.display(description="Recovery point")
    def recovery_point(self, event: FailoverEvent) -> str:
        return recovery_point_label(event)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: FailoverEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: FailoverEvent | None = None) -> bool:
        return False
