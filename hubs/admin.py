"""The support staff's admin for hubs and facilities, with failover.

Hubs are seeded by migration: staff edit their details but never add or
delete one, and never change a code. Which facility serves a hub changes only
through the failover actions (``hubs.services.hub_fail_over``), so every
failover carries a reason in the staff audit log.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from hubs.models import Facility, Hub
from hubs.services import HubFailoverError, facility_set_availability, hub_fail_over
from portal.admin_audit import AuditedModelAdmin


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
        fields = ("city", "country", "region", "time_zone", "sort_order")

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
    list_display = ("code", "city", "country", "region", "time_zone", "serving_facility", "facilities_status")
    list_filter = ("region", "serving_facility")
    search_fields = ("code", "city", "country")
    fields = ("code", "city", "country", "region", "time_zone", "sort_order", "serving_facility")
    readonly_fields = ("code", "serving_facility")
    inlines = (FacilityInline,)
    actions = ("fail_over_to_alternate", "fail_back_to_primary")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Hub]:
        return super().get_queryset(request).prefetch_related("facilities")

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
                hub_fail_over(hub=hub, to_role=to_role, acting_user=request.user, reason=reason)
            except HubFailoverError as exc:
                self.message_user(request, f"Hub {hub.code} was not failed over: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"Hub {hub.code} is now served by its {to_role} facility.", messages.SUCCESS)


@admin.register(Facility)
class FacilityAdmin(AuditedModelAdmin):
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
            facility_set_availability(facility=facility, is_available=is_available, acting_user=request.user)
            self.message_user(request, f"{facility.name} is marked {state}.", messages.SUCCESS)
            if not is_available and facility.hub.serving_facility == facility.role:
                self.message_user(
                    request,
                    f"Hub {facility.hub.code} is still served by {facility.name}: fail it over from the hubs list.",
                    messages.WARNING,
                )

    def save_model(self, request: HttpRequest, obj: Facility, form: object, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not obj.is_available and obj.hub.serving_facility == obj.role:
            self.message_user(
                request,
                f"Hub {obj.hub.code} is still served by {obj.name}, now unavailable: fail it over from the hubs list.",
                messages.WARNING,
            )
