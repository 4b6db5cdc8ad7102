"""The staff admin's view of tenants' invitations and team history, read-only:
customers' owners and admins make them; staff change memberships through the
tenant's membership inline (``portal.admin.memberships``), which writes the
same history."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from hubs.models import Invitation, MembershipEvent
from portal.admin.status_subscriptions import ReadOnlyAdmin


class NothingDeleted(ReadOnlyAdmin):
    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Invitation)
class InvitationAdmin(NothingDeleted):
    list_display = (
        "id",
        "tenant",
        "email",
        "role",
        "invited_by",
        "created_at",
        "expires_at",
        "accepted_at",
        "revoked_at",
    )
    list_filter = ("role",)
    search_fields = ("email", "tenant__name", "tenant__slug")
    list_select_related = ("tenant", "invited_by")
    exclude = ("nonce",)


@admin.register(MembershipEvent)
class MembershipEventAdmin(NothingDeleted):
    list_display = ("at", "tenant", "kind", "actor_email", "by_staff", "subject_email", "role_before", "role_after")
    list_filter = ("kind", "by_staff")
    search_fields = ("subject_email", "actor_email", "tenant__name", "tenant__slug")
    list_select_related = ("tenant",)
