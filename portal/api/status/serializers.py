"""Output shapes of GET /api/v1/status/."""

from __future__ import annotations

from rest_framework import serializers

from hubs.models import Incident, MaintenanceWindow
from hubs.uptime_read import HubState

PERCENT_HELP = (
    'A percentage with two decimals, as a string ("99.98"), rounded down so it is never better than '
    "measured; null when the period had no minute to count (all of it announced maintenance)."
)


def percentage() -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True, help_text=PERCENT_HELP)


# Its own name, so the schema's enum of these keeps its name (ENUM_NAME_OVERRIDES).
HUB_STATES = [state.value for state in HubState]


class StatusPeriodsSerializer(serializers.Serializer):
    day = percentage()
    month = percentage()
    year = percentage()


class StatusComponentSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="database, storage.primary, storage.alternate, broker, snapshots, ...")
    status = serializers.ChoiceField(choices=HUB_STATES)


class StatusHubSerializer(serializers.Serializer):
    code = serializers.CharField()
    status = serializers.ChoiceField(
        choices=HUB_STATES,
        help_text="major_outage: a critical incident on the database, the broker or the workers, or on both "
        "storages; partial_outage: any other critical incident; degraded: a warning incident; "
        "under_maintenance: a window of the hub is running (short of a major outage).",
    )
    uptime = StatusPeriodsSerializer(
        help_text="Availability of the hub's current local day, month and year so far: up minutes / (minutes "
        "in the period - announced maintenance minutes) x 100; minutes with no probe result count as not up."
    )
    coverage = StatusPeriodsSerializer(
        help_text="Share of the period's minutes with a probe result (measured coverage)."
    )
    components = StatusComponentSerializer(many=True)


class StatusIncidentUpdateSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    state = serializers.ChoiceField(choices=Incident.State.choices)
    body = serializers.CharField()


class StatusIncidentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    hub = serializers.CharField(allow_null=True, help_text="The hub's code; null for the control plane (every hub).")
    component = serializers.CharField()
    severity = serializers.ChoiceField(choices=Incident.Severity.choices)
    state = serializers.ChoiceField(choices=Incident.State.choices)
    title = serializers.CharField()
    opened_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    updates = StatusIncidentUpdateSerializer(many=True, help_text="The public updates only, oldest first.")


class StatusMaintenanceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField()
    impact = serializers.ChoiceField(choices=MaintenanceWindow.Impact.choices)
    state = serializers.CharField(help_text="scheduled or in_progress (by the clock).")
    is_emergency = serializers.BooleanField()
    hubs = serializers.ListField(child=serializers.CharField())
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()


class StatusSerializer(serializers.Serializer):
    hubs = StatusHubSerializer(many=True)
    incidents = StatusIncidentSerializer(
        many=True, help_text="Open incidents and those resolved in the last 14 days, newest first."
    )
    maintenance = StatusMaintenanceSerializer(many=True, help_text="Windows running or to come, soonest first.")
