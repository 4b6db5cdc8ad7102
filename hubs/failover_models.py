"""A hub's failovers, kept beside ``hubs.models`` (which re-exports them) so
that module stays near its 500 lines. The hub and the person are named by
label, so this module never imports ``hubs.models`` back."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class FailoverEvent(models.Model):
    """One failover of a hub (to its alternate facility or back), what it lost
    and how long the hub was without file transactions (control plane).

    The recovery point is what the side that took over had not received when it
    did: replication lag at promotion (WAL bytes received but not replayed, and
    the age of the last replayed commit) and the blobs still missing a facility.
    The recovery time runs from the first failed probe of the outage (the
    failover's start when nothing was failing) to the first passing
    ``file_transaction`` probe after the failover, filled in by the probe round
    that records it."""

    class Direction(models.TextChoices):
        TO_ALTERNATE = "to_alternate", "To the alternate facility"
        TO_PRIMARY = "to_primary", "Back to the primary facility"

    hub = models.ForeignKey("hubs.Hub", on_delete=models.PROTECT, related_name="failover_events")
    direction = models.CharField(max_length=16, choices=Direction.choices)
    reason = models.CharField(max_length=500)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    automatic = models.BooleanField(default=False, help_text="Made by the probes' rule, not by a person.")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    generation = models.PositiveIntegerField(help_text="The hub's failover generation this failover made.")
    promoted = models.BooleanField(default=False, help_text="A standby database was promoted to take writes.")
    database_detail = models.CharField(max_length=300, blank=True)
    lag_bytes = models.BigIntegerField(null=True, blank=True, help_text="WAL received but not replayed at promotion.")
    lag_seconds = models.FloatField(null=True, blank=True, help_text="Age of the last replayed commit at promotion.")
    blobs_not_copied = models.PositiveIntegerField(null=True, blank=True)
    bytes_not_copied = models.BigIntegerField(null=True, blank=True)
    outage_started_at = models.DateTimeField(
        null=True, blank=True, help_text="The first failed probe of the outage, or the start when none failed."
    )
    recovered_at = models.DateTimeField(
        null=True, blank=True, help_text="The first passing file_transaction probe after the failover."
    )
    recovery_seconds = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["hub", "-started_at"], name="failover_event_hub_started")]

    def __str__(self) -> str:
        return f"{self.hub_id} {self.get_direction_display().lower()} at {self.started_at:%Y-%m-%d %H:%M} UTC"
