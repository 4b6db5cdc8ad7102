"""Output shapes of the maintenance endpoint."""

from __future__ import annotations

from rest_framework import serializers


class MaintenanceWindowSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField()
    impact = serializers.CharField(help_text="unavailable, read_only or degraded.")
    state = serializers.CharField(help_text="scheduled, in_progress, completed or cancelled (by the clock).")
    is_emergency = serializers.BooleanField()
    emergency_reason = serializers.CharField(help_text="Why it could not wait; empty unless is_emergency.")
    hubs = serializers.ListField(child=serializers.CharField(), help_text="Codes of every hub in the window.")
    starts_at = serializers.DateTimeField(help_text="UTC.")
    ends_at = serializers.DateTimeField(help_text="UTC.")
    starts_at_local = serializers.DateTimeField(help_text="In your hub's time zone, with its offset.")
    ends_at_local = serializers.DateTimeField(help_text="In your hub's time zone, with its offset.")
    announced_at = serializers.DateTimeField(help_text="UTC: the announcement the notice counts from.")


class MaintenanceHubSerializer(serializers.Serializer):
    code = serializers.CharField()
    city = serializers.CharField()
    time_zone = serializers.CharField()


class MaintenanceListSerializer(serializers.Serializer):
    hub = MaintenanceHubSerializer()
    in_progress = MaintenanceWindowSerializer(many=True)
    upcoming = MaintenanceWindowSerializer(many=True)
    recent = MaintenanceWindowSerializer(many=True, help_text="Ended or cancelled in the last 30 days, newest first.")
