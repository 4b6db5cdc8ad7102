"""The staff admin for status subscriptions and their deliveries.

Subscriptions are read here and made by their owners (double opt-in);
deliveries are read-only, and failed ones are sent again through
``hubs.services.status_subscriptions.status_deliveries_retry``, which audits.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from hubs.models import StatusDelivery, StatusSubscription
from hubs.services.status_subscriptions import status_deliveries_retry
from portal.admin.audit import AuditedModelAdmin
from portal.signed_in import signed_in_user


class ReadOnlyAdmin(AuditedModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(StatusSubscription)
class StatusSubscriptionAdmin(ReadOnlyAdmin):
    list_display = ("email", "state", "all_hubs", "hub_codes", "created_at", "confirmed_at", "unsubscribed_at")
    list_filter = ("state", "all_hubs", "hubs")
    search_fields = ("email",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[StatusSubscription]:
        return super().get_queryset(request).prefetch_related("hubs")

    @admin.display(description="Hubs")
    def hub_codes(self, obj: StatusSubscription) -> str:
        return "all" if obj.all_hubs else ", ".join(hub.code for hub in obj.hubs.all())


@admin.register(StatusDelivery)
class StatusDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("id", "email", "kind", "incident", "window", "state", "attempts", "created_at", "sent_at")
    list_filter = ("state", "kind")
    search_fields = ("email",)
    actions = ("retry",)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Send the selected failed deliveries again")
    def retry(self, request: HttpRequest, queryset: QuerySet[StatusDelivery]) -> None:
        count = status_deliveries_retry(
            delivery_ids=queryset.values_list("pk", flat=True), acting_user=signed_in_user(request)
        )
        self.message_user(request, f"{count} failed deliveries queued again.", messages.SUCCESS)
