"""The duty engineer in the admin: on-call rotas (participants and overrides),
escalation policies (their steps) and the alert deliveries.

Rotas and policies are configuration, saved by the admin and audited by the
mixin; an incident copies the default policy when it opens, so an edit here
never changes an incident in flight. Deliveries are read-only; the retry
action goes through ``hubs.services.alerts.alert_deliveries_retry``.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from hubs.models import AlertDelivery, EscalationPolicy, EscalationStep, OnCallRota, RotaOverride, RotaParticipant
from hubs.services.alerts import alert_deliveries_retry
from hubs.services.oncall import on_call_user_id
from portal.admin.audit import AuditedModelAdmin
from portal.signed_in import signed_in_user


class RotaParticipantInline(admin.TabularInline):
    model = RotaParticipant
    fields = ("position", "user")
    raw_id_fields = ("user",)
    extra = 0


class RotaOverrideInline(admin.TabularInline):
    model = RotaOverride
    fields = ("user", "starts_at", "ends_at")
    raw_id_fields = ("user",)
    extra = 0
    verbose_name_plural = "overrides (win over the rotation while they last; times in UTC)"


@admin.register(OnCallRota)
class OnCallRotaAdmin(AuditedModelAdmin[OnCallRota]):
    list_display = ("name", "is_default", "handoff_hours", "starts_at", "on_call_now")
    fields = ("name", "is_default", "starts_at", "handoff_hours", "on_call_now")
    readonly_fields = ("on_call_now",)
    inlines = (RotaParticipantInline, RotaOverrideInline)

    @admin.display(description="On call now")
    def on_call_now(self, obj: OnCallRota) -> str:
        if obj.pk is None:
            return "-"
        user_id = on_call_user_id(rota=obj, at=timezone.now())
        if user_id is None:
            return "nobody"
        user = get_user_model().objects.filter(pk=user_id).first()
        return user.email if user else f"user {user_id}"


class EscalationStepInline(admin.TabularInline):
    model = EscalationStep
    fields = ("position", "rota", "user", "wait_minutes")
    raw_id_fields = ("user",)
    extra = 0
    verbose_name_plural = "steps (each: the on-call of a rota or one staff user, then wait)"


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(AuditedModelAdmin[EscalationPolicy]):
    list_display = ("name", "is_default", "repeat_limit")
    fields = ("name", "is_default", "repeat_limit")
    inlines = (EscalationStepInline,)


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(AuditedModelAdmin[AlertDelivery]):
    list_display = ("id", "incident", "event", "channel", "recipient", "state", "attempts", "sent_at", "last_error")
    list_filter = ("state", "event", "channel", "incident__hub")
    search_fields = ("recipient", "incident__title")
    list_select_related = ("incident",)
    readonly_fields = (
        "incident",
        "event",
        "sequence",
        "channel",
        "recipient",
        "user",
        "state",
        "created_at",
        "last_attempt_at",
        "sent_at",
        "attempts",
        "last_error",
    )
    fields = readonly_fields
    actions = ("retry_failed",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AlertDelivery | None = None) -> bool:
        return False

    @admin.action(description="Send the selected failed alerts again", permissions=["change"])
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[AlertDelivery]) -> None:
        ids = alert_deliveries_retry(
            delivery_ids=queryset.values_list("pk", flat=True), acting_user=signed_in_user(request)
        )
        self.message_user(request, f"{len(ids)} failed alert(s) queued again.", messages.SUCCESS)
