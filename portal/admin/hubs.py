"""The support staff's admin for hubs and facilities, with failover.

Hubs are seeded by migration: staff edit their details but never add or
delete one, and never change a code. Which facility serves a hub changes only
through the failover actions (``hubs.services.hub_fail_over``), so every
failover carries a reason in the staff audit log. A facility's name and
availability, on its own page, inline on its hub's or by the actions, are
saved by ``hubs.services.facility_change``, which audits the change and tells
the store when a facility is back. Just over 500 lines because the hubs'
maintenance windows share it; the failover events are in ``failover.py``.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import ValidationError
from django.db import DatabaseError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from hubs.db.sides import has_standby
from hubs.display import bytes_label
from hubs.errors import HubFailoverError, MaintenanceRefused
from hubs.formatting import format_local, format_utc
from hubs.models import Facility, Hub, MaintenanceWindow, NoticeDelivery
from hubs.routing import hub_database_alias
from hubs.services import facility_change, facility_set_availability, hub_fail_over
from hubs.services.maintenance import (
    maintenance_cancel,
    maintenance_change,
    maintenance_change_plan,
    maintenance_schedule,
    maintenance_schedule_refusals,
    notice_deliveries_retry,
)
from hubs.weekends import earliest_allowed_start
from portal.admin.audit import AuditedModelAdmin, audit_mark_done
from portal.admin.failover import FailoverEventInline, recovery_point_label
from portal.signed_in import signed_in_user
from snapshots.replication import replication_backlog


class FacilityInline(admin.TabularInline):
    model = Facility
    fields = ("role", "name", "is_available")
    readonly_fields = ("role",)
    extra = 0
    max_num = len(Facility.Role.values)
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Hub | None = None) -> bool:
        return False


class HubAdminForm(forms.ModelForm):
    class Meta:
        model = Hub
        fields = ("city", "country", "region", "time_zone", "sort_order", "auto_failover_after_minutes")

    def clean_time_zone(self) -> str:
        # Maintenance windows are checked against the hub's local weekend: a zone
        # Python cannot load would break every later check for this hub.
        value = self.cleaned_data["time_zone"].strip()
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValidationError(f"{value!r} is not an IANA time zone (for example Europe/London).") from exc
        return value


class FailoverActionForm(ActionForm):
    reason = forms.CharField(
        required=False,
        label="Reason",
        help_text="Required for failover; kept in the staff audit log.",
        widget=forms.TextInput(attrs={"size": 50, "placeholder": "Reason (required for failover)"}),
    )


@admin.register(Hub)
class HubAdmin(AuditedModelAdmin):
    form = HubAdminForm
    action_form = FailoverActionForm
    list_display = (
        "code",
        "city",
        "country",
        "region",
        "time_zone",
        "serving_facility",
        "facilities_status",
        "replication_waiting",
    )
    list_filter = ("region", "serving_facility")
    search_fields = ("code", "city", "country")
    fields = (
        "code",
        "city",
        "country",
        "region",
        "time_zone",
        "sort_order",
        "serving_facility",
        "database_sides",
        "auto_failover_after_minutes",
        "failover_generation",
        "replication_waiting",
    )
    readonly_fields = ("code", "serving_facility", "database_sides", "failover_generation", "replication_waiting")
    inlines = (FacilityInline,)
    actions = ("fail_over_to_alternate", "fail_back_to_primary")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Hub]:
        return super().get_queryset(request).prefetch_related("facilities")

    def get_inlines(self, request: HttpRequest, obj: Hub | None) -> list[type[admin.options.InlineModelAdmin]]:
        # The failovers' list only once there is one to show.
        inlines: list[type[admin.options.InlineModelAdmin]] = list(super().get_inlines(request, obj))
        if obj is not None and obj.failover_events.exists():
            inlines.append(FailoverEventInline)
        return inlines

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not Facility:
            super().save_formset(request, form, formset, change)
            return
        # Sets changed_objects, which the admin's change message reads, without writing.
        formset.save(commit=False)
        for facility, _fields in formset.changed_objects:
            facility_change(
                facility=facility,
                name=facility.name,
                is_available=facility.is_available,
                acting_user=signed_in_user(request),
            )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Hub | None = None) -> bool:
        return False

    @admin.display(description="Facilities")
    def facilities_status(self, hub: Hub) -> str:
        return ", ".join(
            f"{facility.name} ({facility.role}): {'available' if facility.is_available else 'UNAVAILABLE'}"
            for facility in hub.facilities.all()
        )

    @admin.display(description="Database")
    def database_sides(self, hub: Hub) -> str:
        if not has_standby(hub_database_alias(hub.code)):
            return "one database, no standby: a failover moves the storage only"
        return f"primary and standby; the {hub.serving_facility} side takes writes (docs/failover.md)"

    @admin.display(description="Waiting for the second facility")
    def replication_waiting(self, hub: Hub) -> str:
        try:
            backlog = replication_backlog(hub_code=hub.code)
        except DatabaseError:
            return "unknown: the hub database does not answer"
        if not backlog.blobs:
            return "nothing"
        return f"{backlog.blobs:,} blob{'s' if backlog.blobs != 1 else ''}, {bytes_label(backlog.bytes)}"

    @admin.action(description="Fail over to the alternate facility", permissions=["change"])
    def fail_over_to_alternate(self, request: HttpRequest, queryset: QuerySet[Hub]) -> None:
        self._fail_over(request, queryset, to_role=Facility.Role.ALTERNATE)

    @admin.action(description="Fail back to the primary facility", permissions=["change"])
    def fail_back_to_primary(self, request: HttpRequest, queryset: QuerySet[Hub]) -> None:
        self._fail_over(request, queryset, to_role=Facility.Role.PRIMARY)

    def _fail_over(self, request: HttpRequest, queryset: QuerySet[Hub], *, to_role: str) -> None:
        reason = request.POST.get("reason", "").strip()
        if not reason:
            self.message_user(
                request, "Give a reason for the failover (next to the action). Nothing changed.", messages.ERROR
            )
            return
        for hub in queryset:
            if hub.serving_facility == to_role:
                self.message_user(request, f"Hub {hub.code} already runs on its {to_role} facility.", messages.INFO)
                continue
            try:
                event = hub_fail_over(hub=hub, to_role=to_role, acting_user=signed_in_user(request), reason=reason)
            except HubFailoverError as exc:
                self.message_user(request, f"Hub {hub.code} was not failed over: {exc}", messages.ERROR)
            else:
                point = f" Recovery point: {recovery_point_label(event)}." if event is not None else ""
                self.message_user(
                    request, f"Hub {hub.code} is now served by its {to_role} facility.{point}", messages.SUCCESS
                )


@admin.register(Facility)
class FacilityAdmin(AuditedModelAdmin[Facility]):
    list_display = ("name", "hub", "role", "is_available", "serves_hub")
    list_filter = ("is_available", "role", "hub")
    search_fields = ("name", "hub__code", "hub__city")
    list_select_related = ("hub",)
    fields = ("hub", "role", "name", "is_available")
    readonly_fields = ("hub", "role")
    actions = ("mark_available", "mark_unavailable")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Facility | None = None) -> bool:
        return False

    @admin.display(description="Serves the hub now", boolean=True)
    def serves_hub(self, facility: Facility) -> bool:
        return facility.hub.serving_facility == facility.role

    @admin.action(description="Mark available", permissions=["change"])
    def mark_available(self, request: HttpRequest, queryset: QuerySet[Facility]) -> None:
        self._set_availability(request, queryset, is_available=True)

    @admin.action(description="Mark unavailable", permissions=["change"])
    def mark_unavailable(self, request: HttpRequest, queryset: QuerySet[Facility]) -> None:
        self._set_availability(request, queryset, is_available=False)

    def _set_availability(self, request: HttpRequest, queryset: QuerySet[Facility], *, is_available: bool) -> None:
        state = "available" if is_available else "unavailable"
        for facility in queryset.select_related("hub"):
            facility_set_availability(facility=facility, is_available=is_available, acting_user=signed_in_user(request))
            self.message_user(request, f"{facility.name} is marked {state}.", messages.SUCCESS)
            if not is_available and facility.hub.serving_facility == facility.role:
                self.message_user(
                    request,
                    f"Hub {facility.hub.code} is still served by {facility.name}: fail it over from the hubs list.",
                    messages.WARNING,
                )

    def save_model(self, request: HttpRequest, obj: Facility, form: Any, change: bool) -> None:
        # The service saves and audits, and tells the store when the facility is back.
        facility_change(
            facility=obj,
            name=form.cleaned_data["name"],
            is_available=form.cleaned_data["is_available"],
            acting_user=signed_in_user(request),
        )
        audit_mark_done(request, obj)
        if not obj.is_available and obj.hub.serving_facility == obj.role:
            self.message_user(
                request,
                f"Hub {obj.hub.code} is still served by {obj.name}, now unavailable: fail it over from the hubs list.",
                messages.WARNING,
            )


# SECTION: maintenance windows


class NoticeDeliveryInline(admin.TabularInline):
    """Who was told what about the window, and when; read-only."""

    model = NoticeDelivery
    fields = ("kind", "revision", "email", "state", "attempts", "sent_at", "last_attempt_at", "last_error")
    readonly_fields = fields
    ordering = ("created_at", "id")
    extra = 0
    can_delete = False
    verbose_name_plural = "notice deliveries (who was told what, and when)"

    def has_add_permission(self, request: HttpRequest, obj: MaintenanceWindow | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: MaintenanceWindow | None = None) -> bool:
        return False


def _earliest_text(hubs: list[Hub]) -> str:
    earliest = earliest_allowed_start(hubs=hubs)
    if earliest is None:
        return "no common weekend"
    return f"{format_utc(earliest)} ({', '.join(f'{hub.code} {format_local(earliest, hub.zone)}' for hub in hubs)})"


class MaintenanceWindowForm(forms.ModelForm):
    """Checks the rules through the same functions the service uses, so the
    staff member sees every refusal, with what to change, next to the form."""

    class Meta:
        model = MaintenanceWindow
        fields = (
            "hubs",
            "title",
            "description",
            "impact",
            "starts_at",
            "ends_at",
            "is_emergency",
            "emergency_reason",
        )
        widgets = {"hubs": forms.CheckboxSelectMultiple}
        help_texts = {
            "starts_at": "UTC. At least 5 days from now, at the weekend (Saturday 00:00 to Monday 00:00) in every hub.",
            "ends_at": "UTC. Inside the same weekend in every hub.",
            "is_emergency": "Bypasses the weekend and notice rules. Flagged everywhere the window is shown.",
            "emergency_reason": "Required for an emergency; kept in the staff audit log and shown to customers.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.checked_at = timezone.now()
        hubs_field = self.fields.get("hubs")
        if hubs_field is not None:
            lines = [f"{hub.code}: {_earliest_text([hub])}" for hub in Hub.objects.order_by("sort_order", "code")]
            hubs_field.help_text = "Earliest allowed start per hub, if announced now: " + "; ".join(lines) + "."
        chosen = self._chosen_hubs()
        if chosen and "starts_at" in self.fields:
            self.fields["starts_at"].help_text += (
                f" Earliest allowed start for the chosen hubs ({', '.join(hub.code for hub in chosen)}): "
                f"{_earliest_text(chosen)}."
            )

    def _chosen_hubs(self) -> list[Hub]:
        codes: list[str] = []
        if self.is_bound:
            codes = self.data.getlist(self.add_prefix("hubs")) if hasattr(self.data, "getlist") else []
        elif self.instance.pk is not None:
            codes = [hub.code for hub in self.instance.hubs.all()]
        return list(Hub.objects.filter(code__in=codes).order_by("sort_order", "code"))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        assert cleaned is not None  # BaseForm.clean returns cleaned_data
        if self.errors or "starts_at" not in self.fields:
            return cleaned
        self.checked_at = timezone.now()
        values = {
            "hubs": list(cleaned.get("hubs") or []),
            "title": cleaned.get("title") or "",
            "impact": cleaned.get("impact") or MaintenanceWindow.Impact.UNAVAILABLE,
            "starts_at": cleaned["starts_at"],
            "ends_at": cleaned["ends_at"],
            "emergency": bool(cleaned.get("is_emergency")),
            "emergency_reason": cleaned.get("emergency_reason") or "",
            "now": self.checked_at,
        }
        if self.instance.pk is None:
            refusals = maintenance_schedule_refusals(**values)
        else:
            stored = MaintenanceWindow.objects.get(pk=self.instance.pk)
            refusals = maintenance_change_plan(
                window=stored, description=cleaned.get("description") or "", **values
            ).refusals
        if refusals:
            raise ValidationError(refusals)
        return cleaned


class MaintenanceActionForm(ActionForm):
    reason = forms.CharField(
        required=False,
        label="Reason",
        help_text="Why the maintenance is cancelled; told to customers and kept in the staff audit log.",
        widget=forms.TextInput(attrs={"size": 50, "placeholder": "Reason (for cancelling)"}),
    )


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(AuditedModelAdmin[MaintenanceWindow]):
    form = MaintenanceWindowForm
    action_form = MaintenanceActionForm
    list_display = (
        "id",
        "emergency_flag",
        "title",
        "hub_codes",
        "starts_at",
        "ends_at",
        "impact",
        "state",
        "announced_at",
        "notices_sent",
    )
    list_display_links = ("id", "title")
    list_filter = ("state", "hubs", "impact", "is_emergency")
    search_fields = ("title", "description")
    date_hierarchy = "starts_at"
    readonly_fields = (
        "state",
        "announced_at",
        "revision",
        "created_by",
        "created_at",
        "changed_at",
        "started_at",
        "completed_at",
        "cancelled_at",
        "cancel_reason",
    )
    inlines = (NoticeDeliveryInline,)
    actions = ("cancel_windows",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[MaintenanceWindow]:
        return super().get_queryset(request).prefetch_related("hubs")

    def get_fieldsets(self, request: HttpRequest, obj: MaintenanceWindow | None = None) -> Any:
        editable = ("hubs", "title", "description", "impact", "starts_at", "ends_at")
        fieldsets = [
            (None, {"fields": editable}),
            ("Emergency", {"fields": ("is_emergency", "emergency_reason")}),
        ]
        if obj is not None:
            fieldsets.append(("State", {"fields": self.readonly_fields}))
        return fieldsets

    def has_change_permission(self, request: HttpRequest, obj: MaintenanceWindow | None = None) -> bool:
        # Completed and cancelled windows are history: what customers were told stays as it was.
        if obj is not None and obj.state in (MaintenanceWindow.State.COMPLETED, MaintenanceWindow.State.CANCELLED):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: MaintenanceWindow | None = None) -> bool:
        return False  # cancel instead: customers were told, and the notices stay on record

    @admin.display(description="Emergency", ordering="is_emergency")
    def emergency_flag(self, window: MaintenanceWindow) -> str:
        return "EMERGENCY" if window.is_emergency else ""

    @admin.display(description="Hubs")
    def hub_codes(self, window: MaintenanceWindow) -> str:
        return ", ".join(hub.code for hub in window.hubs.all())

    @admin.display(description="Notices sent")
    def notices_sent(self, window: MaintenanceWindow) -> str:
        sent = window.deliveries.filter(state=NoticeDelivery.State.SENT).count()
        failed = window.deliveries.filter(state=NoticeDelivery.State.FAILED).count()
        return f"{sent}" + (f" ({failed} failed)" if failed else "")

    def save_model(self, request: HttpRequest, obj: MaintenanceWindow, form: Any, change: bool) -> None:
        # The service saves, checks the rules again, writes the audit entry and
        # queues the notices; the mixin must not write a second entry.
        values = {
            "hubs": list(form.cleaned_data["hubs"]),
            "title": form.cleaned_data["title"],
            "description": form.cleaned_data.get("description") or "",
            "impact": form.cleaned_data["impact"],
            "starts_at": form.cleaned_data["starts_at"],
            "ends_at": form.cleaned_data["ends_at"],
            "emergency": bool(form.cleaned_data.get("is_emergency")),
            "emergency_reason": form.cleaned_data.get("emergency_reason") or "",
            "acting_user": request.user,
            "now": form.checked_at,
        }
        window = maintenance_change(window=obj, **values) if change else maintenance_schedule(**values)
        obj.pk = window.pk
        obj._state.adding = False
        obj.refresh_from_db()
        audit_mark_done(request, obj)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # The hubs were set by the service; the deliveries inline is read-only.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    @admin.action(description="Cancel the selected windows (customers are told)", permissions=["change"])
    def cancel_windows(self, request: HttpRequest, queryset: QuerySet[MaintenanceWindow]) -> None:
        reason = request.POST.get("reason", "").strip()
        for window in queryset:
            try:
                maintenance_cancel(window=window, acting_user=signed_in_user(request), reason=reason)
            except MaintenanceRefused as exc:
                self.message_user(request, str(exc), messages.WARNING)
            else:
                self.message_user(request, f"Window {window.pk} is cancelled; customers are told.", messages.SUCCESS)


@admin.register(NoticeDelivery)
class NoticeDeliveryAdmin(AuditedModelAdmin):
    list_display = ("window", "kind", "revision", "email", "state", "attempts", "sent_at", "last_error")
    list_filter = ("state", "kind", "window__hubs")
    search_fields = ("email", "window__title")
    list_select_related = ("window",)
    readonly_fields = (
        "window",
        "user",
        "email",
        "kind",
        "revision",
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

    def has_delete_permission(self, request: HttpRequest, obj: NoticeDelivery | None = None) -> bool:
        return False

    @admin.action(description="Send the selected failed notices again", permissions=["change"])
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[NoticeDelivery]) -> None:
        count = notice_deliveries_retry(
            delivery_ids=queryset.values_list("pk", flat=True), acting_user=signed_in_user(request)
        )
        self.message_user(request, f"{count} failed notice(s) queued again.", messages.SUCCESS)
