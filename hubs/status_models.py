"""Who follows the status page by email, and the outbox of what they are sent.
Kept beside ``hubs.models`` (which re-exports them) so that module stays under
its 500 lines; other models are named by their labels, so this module never
imports ``hubs.models`` back.
"""

from __future__ import annotations

from django.db import models

from hubs.outbox_state import DeliveryState


class StatusSubscription(models.Model):
    """One email address subscribed to the status of some hubs (or all), with
    double opt-in: pending until the signed link in the confirmation is
    followed. One row per address; the hubs are set only by a confirmation, so
    nobody changes another person's subscription without their inbox."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending confirmation"
        ACTIVE = "active", "Active"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"

    email = models.EmailField(unique=True, help_text="Lower-cased.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING, db_index=True)
    all_hubs = models.BooleanField(default=False, help_text="Told about every hub, present and future.")
    hubs = models.ManyToManyField("hubs.Hub", blank=True, related_name="status_subscriptions")
    created_at = models.DateTimeField(auto_now_add=True)
    confirmation_sent_at = models.DateTimeField(
        null=True, blank=True, help_text="The last confirmation queued; at most one per 10 minutes."
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return f"{self.email} ({self.state})"


class StatusDelivery(models.Model):
    """One email to one subscriber: a confirmation, an incident's news or a
    maintenance announcement. The same outbox as ``NoticeDelivery`` (claimed,
    sent, failed, retried; ``hubs.services.notices`` serves both)."""

    class Kind(models.TextChoices):
        CONFIRMATION = "confirmation", "Confirmation"
        INCIDENT_OPENED = "incident_opened", "Incident opened"
        INCIDENT_UPDATED = "incident_updated", "Incident update"
        INCIDENT_RESOLVED = "incident_resolved", "Incident resolved"
        MAINTENANCE = "maintenance", "Maintenance announced"

    State = DeliveryState

    subscription = models.ForeignKey(StatusSubscription, on_delete=models.CASCADE, related_name="deliveries")
    email = models.EmailField(help_text="The address the email went to.")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    incident = models.ForeignKey("hubs.Incident", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    update = models.ForeignKey("hubs.IncidentUpdate", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    window = models.ForeignKey(
        "hubs.MaintenanceWindow", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    hub_codes = models.JSONField(
        default=list, blank=True, help_text="A confirmation's requested hubs (empty list with all_hubs: every hub)."
    )
    all_hubs = models.BooleanField(default=False)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "status deliveries"
        constraints = [
            models.UniqueConstraint(fields=["subscription", "update"], name="status_delivery_once_per_update"),
            models.UniqueConstraint(
                fields=["subscription", "window", "kind"],
                condition=models.Q(window__isnull=False),
                name="status_delivery_once_per_window",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.email} ({self.state})"
