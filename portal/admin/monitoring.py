"""The staff admin for incidents (the list, the timeline, updates and
acknowledging) and the probes' overview (last results and a sparkline).

The add page declares an incident through ``incident_open`` (it pages the
duty engineer as an automatic one does). Every field of an incident is
read-only afterwards. The change page's form adds one
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
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from hubs.alerts import incident_timeline
from hubs.errors import IncidentRefused
from hubs.models import Hub, Incident, IncidentPaging, IncidentUpdate, ProbeResult, ProbeStreak
from hubs.selectors import incident_unresolved_exists, probe_results_recent
from hubs.services.incidents import incident_acknowledge, incident_open, incident_update_add
from portal.admin.audit import AuditedModelAdmin, audit_mark_done
from portal.admin.sparkline import sparkline_svg
from portal.signed_in import signed_in_user

SPARKLINE_RESULTS = 60

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


class IncidentOpenForm(forms.ModelForm):
    """The add page: staff declare an incident the probes have not seen (a
    customer's report, a supplier's outage). It pages the duty engineer."""

    open_hub = forms.ModelChoiceField(
        queryset=Hub.objects.order_by("sort_order", "code"),
        required=False,
        label="Hub",
        empty_label="No hub: the control plane (every hub's customers)",
    )
    open_component = forms.RegexField(
        regex=r"^[a-z][a-z0-9_.]{0,63}$",
        label="Component",
        help_text="As the probes name it: database, storage.primary, storage.alternate, broker, workers, scheduler, "
        "snapshots, restores, notices, web, security, replication, file_transaction.",
        error_messages={"invalid": "Use lower-case letters, digits, dots and underscores, as the probes do."},
    )
    open_severity = forms.ChoiceField(choices=Incident.Severity.choices, initial=Incident.Severity.CRITICAL)
    open_title = forms.CharField(max_length=200, label="Title")
    open_body = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), label="First update")
    open_public = forms.BooleanField(required=False, initial=True, label="Public (customers will read it)")

    class Meta:
        model = Incident
        fields: tuple[str, ...] = ()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        hub, component = cleaned.get("open_hub"), cleaned.get("open_component")
        if component and incident_unresolved_exists(hub_code=hub.code if hub else None, component=component):
            raise forms.ValidationError(f"An incident is open for {component} on this hub already; update that one.")
        return cleaned


@admin.register(Incident)
class IncidentAdmin(AuditedModelAdmin[Incident]):
    form = IncidentUpdateForm
    add_form = IncidentOpenForm
    add_fieldsets = (
        (
            None,
            {"fields": ("open_hub", "open_component", "open_severity", "open_title", "open_body", "open_public")},
        ),
    )
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

    def has_delete_permission(self, request: HttpRequest, obj: Incident | None = None) -> bool:
        return False

    def get_form(self, request: HttpRequest, obj: Incident | None = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = self.add_form
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Incident | None = None) -> Any:
        return self.add_fieldsets if obj is None else super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Incident | None = None) -> Any:
        return () if obj is None else super().get_readonly_fields(request, obj)

    def get_inlines(self, request: HttpRequest, obj: Incident | None) -> Any:
        return () if obj is None else self.inlines

    def save_model(self, request: HttpRequest, obj: Incident, form: Any, change: bool) -> None:
        # The service saves and audits; the mixin must not write a second entry.
        audit_mark_done(request, obj)
        if not change:
            self._open(request, obj, form)
            return
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

    def response_post_save_add(self, request: HttpRequest, obj: Incident) -> HttpResponseRedirect:
        """After opening, the incident itself: its timeline shows who was paged."""
        return HttpResponseRedirect(reverse("admin:hubs_incident_change", args=[obj.pk]))

    def _open(self, request: HttpRequest, obj: Incident, form: Any) -> None:
        data = form.cleaned_data
        try:
            incident = incident_open(
                hub=data["open_hub"],
                component=data["open_component"],
                title=data["open_title"],
                body=data["open_body"],
                severity=data["open_severity"],
                public=data["open_public"],
                acting_user=signed_in_user(request),
            )
        except IncidentRefused as exc:
            # Lost a race with a probe round that opened the same incident: go to that one.
            self.message_user(request, f"No incident was opened: {exc.detail}", messages.ERROR)
            incident = (
                Incident.objects.filter(hub=data["open_hub"], component=data["open_component"])
                .exclude(state=Incident.State.RESOLVED)
                .get()
            )
        # The add view redirects to the object it was given: make it the service's.
        for field in Incident._meta.concrete_fields:
            setattr(obj, field.attname, getattr(incident, field.attname))
        obj._state.adding, obj._state.db = False, incident._state.db
        audit_mark_done(request, obj)  # now that it has the service's id

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


# SECTION: probes, their last results and a sparkline


@admin.register(ProbeStreak)
class ProbeOverviewAdmin(AuditedModelAdmin[ProbeStreak]):
    """One row per hub and probe: its last result, latency and detail, and its last
    60 results drawn as a sparkline (one indexed query per row shown)."""

    list_display = ("hub_label", "name", "component", "severity", "last_result", "latency", "detail", "sparkline")
    list_filter = ("hub", "severity", "last_ok")
    search_fields = ("name", "component")
    list_per_page = 50
    readonly_fields = (
        "hub",
        "name",
        "component",
        "severity",
        "consecutive_failures",
        "consecutive_passes",
        "last_ok",
        "last_at",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[ProbeStreak]:
        return super().get_queryset(request).select_related("hub")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ProbeStreak | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ProbeStreak | None = None) -> bool:
        return False

    def _recent(self, obj: ProbeStreak) -> list[ProbeResult]:
        cached = getattr(obj, "_recent_results", None)
        if cached is None:
            cached = probe_results_recent(hub_code=obj.hub_id, name=obj.name, limit=SPARKLINE_RESULTS)
            obj._recent_results = cached  # type: ignore[attr-defined]
        return cached

    @admin.display(description="Hub", ordering="hub")
    def hub_label(self, obj: ProbeStreak) -> str:
        return obj.hub_id or "control"

    @admin.display(description="Last result", ordering="last_ok")
    def last_result(self, obj: ProbeStreak) -> str:
        recent = self._recent(obj)
        if not recent:
            return "ok" if obj.last_ok else "failed"
        return f"{'ok' if recent[-1].ok else 'failed'} at {recent[-1].at:%Y-%m-%d %H:%M:%S} UTC"

    @admin.display(description="Latency")
    def latency(self, obj: ProbeStreak) -> str:
        recent = self._recent(obj)
        return f"{recent[-1].latency_ms:.0f} ms" if recent else "-"

    @admin.display(description="Detail")
    def detail(self, obj: ProbeStreak) -> str:
        recent = self._recent(obj)
        return recent[-1].detail if recent else ""

    @admin.display(description=f"Last {SPARKLINE_RESULTS} results")
    def sparkline(self, obj: ProbeStreak) -> SafeString:
        return sparkline_svg(self._recent(obj))
