"""The staff admin's read-only list of sign-in attempts (who, when, from
where, on what, with what outcome): for answering a person who asks "was
that me?". Nothing here can be added, changed or deleted; rows expire after
90 days (``portal.services.sign_in_retention``)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from portal.admin.audit import AuditedModelAdmin
from portal.models import SignInEvent

SIGN_IN_FIELDS = ("created_at", "user", "outcome", "method", "address", "network", "device", "user_agent", "notified")


@admin.register(SignInEvent)
class SignInEventAdmin(AuditedModelAdmin[SignInEvent]):
    list_display = ("created_at", "user", "outcome", "method", "address", "device")
    list_filter = ("outcome", "method")
    search_fields = ("user__email", "address")
    date_hierarchy = "created_at"
    list_per_page = 100
    readonly_fields = SIGN_IN_FIELDS
    fields = SIGN_IN_FIELDS

    def get_queryset(self, request: HttpRequest) -> QuerySet[SignInEvent]:
        return super().get_queryset(request).select_related("user")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: SignInEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: SignInEvent | None = None) -> bool:
        return False
