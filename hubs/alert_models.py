"""The duty engineer's models: who is on call, how an incident escalates, and
the alert outbox. Kept beside ``hubs.models`` (which re-exports them) so that
module stays under its 500 lines; the incident is named by its label
(``"hubs.Incident"``), so this module never imports ``hubs.models`` back.

- ``OnCallRota``: ordered ``RotaParticipant`` rows hand the pager on every
  ``handoff_hours`` counted from ``starts_at``; a ``RotaOverride`` covering the
  moment wins over the rotation.
- ``EscalationPolicy``: ordered ``EscalationStep`` rows (the on-call of a rota
  or one staff user, then wait N minutes), the whole list repeated at most
  ``repeat_limit`` more times while nobody acknowledges.
- ``IncidentPaging``: the policy copied onto an incident when it opens (as
  PagerDuty does, so editing the policy later does not change an incident in
  flight), where the escalation stands, and who was paged.
- ``AlertDelivery``: one alert of one event to one recipient on one channel
  (email or webhook), claimed, sent or failed like ``NoticeDelivery``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from hubs.outbox_state import DeliveryState


class OnCallRota(models.Model):
    """Who carries the pager when. Exactly one rota may be the default."""

    name = models.CharField(max_length=100, unique=True)
    is_default = models.BooleanField(default=False, help_text="The rota the default escalation policy pages.")
    starts_at = models.DateTimeField(help_text="The first handoff: the first participant is on call from here.")
    handoff_hours = models.PositiveIntegerField(
        default=168, help_text="How long each participant is on call before the next takes over (168: a week)."
    )

    class Meta:
        ordering = ["name"]
        verbose_name = "on-call rota"
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="oncall_rota_one_default"
            ),
            models.CheckConstraint(condition=models.Q(handoff_hours__gte=1), name="oncall_rota_handoff_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class RotaParticipant(models.Model):
    rota = models.ForeignKey(OnCallRota, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField(default=0, help_text="Order in the rotation, lowest first.")

    class Meta:
        ordering = ["rota", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["rota", "user"], name="rota_participant_once")]

    def __str__(self) -> str:
        return f"{self.rota} #{self.position}: user {self.user_id}"


class RotaOverride(models.Model):
    """Someone takes the pager for a while (a swap, a holiday cover); wins over the rotation."""

    rota = models.ForeignKey(OnCallRota, on_delete=models.CASCADE, related_name="overrides")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()

    class Meta:
        ordering = ["rota", "-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="rota_override_ends_after"
            )
        ]

    def __str__(self) -> str:
        return f"{self.rota}: user {self.user_id} {self.starts_at:%Y-%m-%d %H:%M}-{self.ends_at:%Y-%m-%d %H:%M} UTC"


class EscalationPolicy(models.Model):
    name = models.CharField(max_length=100, unique=True)
    is_default = models.BooleanField(default=False, help_text="Copied onto every incident when it opens.")
    repeat_limit = models.PositiveSmallIntegerField(
        default=2, help_text="How many more times the steps run again while nobody acknowledges (0: once through)."
    )

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "escalation policies"
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="escalation_policy_one_default"
            )
        ]

    def __str__(self) -> str:
        return self.name


class EscalationStep(models.Model):
    """Notify the on-call of a rota or one staff user, then wait before the next step."""

    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(default=0)
    rota = models.ForeignKey(OnCallRota, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    wait_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="Empty: HUBPORT_ALERT_ESCALATE_AFTER_MINUTES (15 by default)."
    )

    class Meta:
        ordering = ["policy", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(rota__isnull=False, user__isnull=True) | models.Q(rota__isnull=True, user__isnull=False)
                ),
                name="escalation_step_one_target",
            )
        ]

    def __str__(self) -> str:
        target = f"on-call of {self.rota}" if self.rota_id else f"user {self.user_id}"
        return f"{self.policy} step {self.position}: {target}"


class IncidentPaging(models.Model):
    """The escalation policy as it was when the incident opened, and where it stands.

    ``steps`` is a list of ``{"rota_id", "user_id", "label", "wait_minutes"}``;
    ``step`` and ``cycle`` say which step was paged last and in which pass (0:
    the first); ``next_at`` is when the next step is due (empty: escalation
    stopped, by an acknowledgement, the resolution or the repeat limit).
    """

    incident = models.OneToOneField("hubs.Incident", on_delete=models.CASCADE, related_name="paging")
    policy_name = models.CharField(max_length=100, blank=True)
    steps = models.JSONField(default=list)
    repeat_limit = models.PositiveSmallIntegerField(default=0)
    step = models.PositiveSmallIntegerField(default=0)
    cycle = models.PositiveSmallIntegerField(default=0)
    escalations = models.PositiveIntegerField(default=0)
    next_at = models.DateTimeField(null=True, blank=True, db_index=True)
    stopped_reason = models.CharField(max_length=32, blank=True)
    paged_user_ids = models.JSONField(default=list, blank=True)
    events = models.PositiveIntegerField(default=0, help_text="Alert events emitted so far (numbers the deliveries).")

    class Meta:
        verbose_name_plural = "incident pagings"

    def __str__(self) -> str:
        return f"Paging of incident {self.incident_id}"


class AlertDelivery(models.Model):
    """One event of one incident to one recipient on one channel."""

    class Event(models.TextChoices):
        OPENED = "incident.opened", "Opened"
        ACKNOWLEDGED = "incident.acknowledged", "Acknowledged"
        ESCALATED = "incident.escalated", "Escalated"
        RESOLVED = "incident.resolved", "Resolved"

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        WEBHOOK = "webhook", "Webhook"

    State = DeliveryState

    incident = models.ForeignKey("hubs.Incident", on_delete=models.CASCADE, related_name="alerts")
    event = models.CharField(max_length=32, choices=Event.choices)
    sequence = models.PositiveIntegerField(help_text="The event's number within the incident.")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    recipient = models.CharField(max_length=500, help_text="An email address or a webhook URL.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING, db_index=True)
    created_at = models.DateTimeField()
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "alert deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "sequence", "channel", "recipient"], name="alert_once_per_event_recipient"
            )
        ]

    def __str__(self) -> str:
        return f"{self.event} of incident {self.incident_id} by {self.channel} ({self.state})"
