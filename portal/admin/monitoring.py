"""The staff admin for incidents: the list, the timeline, updates and acknowledging.

Every field of an incident is read-only here. The change page's form adds one
step to the timeline (a public or private update, possibly moving the state,
reopening a resolved automatic incident) and saves it through
``hubs.services.incidents.incident_update_add``; the "acknowledge" action goes
through ``incident_acknowledge``. Both audit; the admin never writes the model
around them.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from hubs.alerts import incident_timeline
from hubs.errors import IncidentRefused
from hubs.models import Incident, IncidentPaging, IncidentUpdate
from hubs.services.incidents import incident_acknowledge, incident_update_add
from portal.admin.audit import AuditedModelAdmin, audit_mark_done
from portal.signed_in import signed_in_user

INCIDENT_FIELDS = (
    "hub",
    "component",
    "severity",
    "state",
    "title",
    "automatic",
    "affected",
    "opened_at",
    "acknowledged_at",
    "acknowledged_by",
    "resolved_at",
    "escalation",
    "timeline",
)


class IncidentUpdateInline(admin.TabularInline):
    model = IncidentUpdate
    fields = ("at", "state", "public", "author", "body")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class IncidentUpdateForm(forms.ModelForm):
    """The change page's one input: a step for the timeline. Leave the text empty to change nothing."""

    update_state = forms.ChoiceField(choices=Incident.State.choices, label="State after this update")
    update_body = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False, label="Update")
    update_public = forms.BooleanField(required=False, initial=True, label="Public (customers will read it)")

    class Meta:
        model = Incident
        fields: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["update_state"].initial = self.instance.state


@admin.register(Incident)
class IncidentAdmin(AuditedModelAdmin[Incident]):
    form = IncidentUpdateForm
    list_display = (
        "id",
        "hub",
        "component",
        "severity",
        "state",
        "title",
        "opened_at",
        "acknowledged_at",
        "resolved_at",
    )
    list_filter = ("hub", "state", "severity", "automatic")
    search_fields = ("title", "component")
    readonly_fields = INCIDENT_FIELDS
    fieldsets = (
        (None, {"fields": INCIDENT_FIELDS}),
        ("Add an update", {"fields": ("update_state", "update_body", "update_public")}),
    )
    inlines = (IncidentUpdateInline,)
    actions = ("acknowledge",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Incident]:
        return super().get_queryset(request).select_related("hub", "acknowledged_by")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Incident | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Incident, form: Any, change: bool) -> None:
        # The service saves and audits; the mixin must not write a second entry.
        audit_mark_done(request, obj)
        body = form.cleaned_data.get("update_body", "").strip()
        state = form.cleaned_data["update_state"]
        if not body:
            if state != obj.state:
                self.message_user(request, "Say what changed: a change of state needs an update.", messages.ERROR)
            return
        try:
            incident_update_add(
                incident=obj,
                state=state,
                body=body,
                public=form.cleaned_data.get("update_public", False),
                acting_user=signed_in_user(request),
            )
        except IncidentRefused as exc:
            self.message_user(request, f"Incident {obj.pk} was not updated: {exc.detail}", messages.ERROR)
        else:
            obj.refresh_from_db()

    @admin.display(description="Escalation")
    def escalation(self, obj: Incident) -> str:
        paging = IncidentPaging.objects.filter(incident=obj).first()
        if paging is None:
            return "-"
        policy = paging.policy_name or "no policy (only webhooks were told)"
        where = f"step {paging.step + 1} of {len(paging.steps)}, pass {paging.cycle + 1} of {paging.repeat_limit + 1}"
        if paging.next_at:
            return f"{policy}: {where}; next step at {paging.next_at:%Y-%m-%d %H:%M} UTC"
        return f"{policy}: {where}; stopped ({paging.stopped_reason or 'not started'})"

    @admin.display(description="Timeline (UTC): updates, alerts, acknowledgement, escalations")
    def timeline(self, obj: Incident) -> SafeString:
        if obj.pk is None:
            return format_html("{}", "-")
        return format_html(
            "<ol>{}</ol>",
            format_html_join(
                "",
                "<li><strong>{}</strong> {}: {}</li>",
                ((entry.at.strftime("%Y-%m-%d %H:%M:%S"), entry.kind, entry.text) for entry in incident_timeline(obj)),
            ),
        )

    @admin.action(description="Acknowledge the selected incidents")
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        for incident in queryset:
            try:
                incident_acknowledge(incident=incident, acting_user=signed_in_user(request))
            except IncidentRefused as exc:
                self.message_user(request, f"Incident {incident.pk}: {exc.detail}", messages.WARNING)
            else:
                self.message_user(request, f"Incident {incident.pk} is acknowledged.", messages.SUCCESS)
