from __future__ import annotations

from zoneinfo import ZoneInfo

from django.db import models


class Hub(models.Model):
    """One of the seven regional hubs. Seeded by migration; codes never change."""

    code = models.CharField(max_length=2, primary_key=True)
    city = models.CharField(max_length=64)
    country = models.CharField(max_length=64)
    region = models.CharField(max_length=32)
    time_zone = models.CharField(max_length=64, help_text="IANA time zone, e.g. Europe/London")
    serving_facility = models.CharField(
        max_length=16,
        default="primary",
        choices=[("primary", "Primary"), ("alternate", "Alternate")],
        help_text="The facility that serves the hub now; staff fail over to the alternate and back.",
    )
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return f"{self.city}, {self.country} ({self.code})"

    @property
    def label(self) -> str:
        return f"{self.city}, {self.country}"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def database_alias(self) -> str:
        from hubs.routing import hub_database_alias

        return hub_database_alias(self.code)

    @property
    def queue(self) -> str:
        from hubs.routing import hub_queue

        return hub_queue(self.code)


class Facility(models.Model):
    """A data centre inside a hub. Every hub has a primary and an alternate;
    blobs are written to both, and the hub can be served from either."""

    class Role(models.TextChoices):
        PRIMARY = "primary", "Primary"
        ALTERNATE = "alternate", "Alternate"

    hub = models.ForeignKey(Hub, on_delete=models.PROTECT, related_name="facilities")
    role = models.CharField(max_length=16, choices=Role.choices)
    name = models.CharField(max_length=64)
    is_available = models.BooleanField(
        default=True, help_text="Cleared by monitoring or staff when the facility cannot take writes."
    )

    class Meta:
        ordering = ["hub__sort_order", "role"]
        verbose_name_plural = "facilities"
        constraints = [models.UniqueConstraint(fields=["hub", "role"], name="facility_one_per_role_per_hub")]

    def __str__(self) -> str:
        return f"{self.name} ({self.hub_id} {self.role})"

    @property
    def storage_alias(self) -> str:
        from hubs.storage import facility_storage_alias

        return facility_storage_alias(self.hub_id, self.role)


class MaintenanceWindow(models.Model):
    """Announced maintenance of one or more hubs. Written only through
    ``hubs.maintenance`` (schedule, change, cancel, advance), which enforces the
    promise: at the weekend in every affected hub, announced five days ahead,
    unless staff mark it an emergency with a written reason."""

    class Impact(models.TextChoices):
        UNAVAILABLE = "unavailable", "Unavailable"
        READ_ONLY = "read_only", "Read-only"
        DEGRADED = "degraded", "Degraded"

    class State(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    hubs = models.ManyToManyField(Hub, related_name="maintenance_windows")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="Shown to customers: what changes and what they will notice.")
    impact = models.CharField(max_length=16, choices=Impact.choices, default=Impact.UNAVAILABLE)
    starts_at = models.DateTimeField(db_index=True)
    ends_at = models.DateTimeField(db_index=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.SCHEDULED, db_index=True)
    is_emergency = models.BooleanField(default=False)
    emergency_reason = models.TextField(blank=True)
    created_by = models.ForeignKey("portal.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    announced_at = models.DateTimeField(help_text="The announcement the five days' notice counts from.")
    # Bumped by every change, so each change's notices are their own deliveries.
    revision = models.PositiveIntegerField(default=1)
    changed_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="maintenance_ends_after_start"
            ),
            models.CheckConstraint(
                condition=models.Q(is_emergency=False) | ~models.Q(emergency_reason=""),
                name="maintenance_emergency_has_reason",
            ),
        ]

    def __str__(self) -> str:
        flag = "EMERGENCY " if self.is_emergency else ""
        return f"{flag}{self.title} ({self.starts_at:%Y-%m-%d %H:%M} UTC)"


class NoticeDelivery(models.Model):
    """One notice about one window to one person: who was told what, and when.
    The unique constraint is what makes a notice go out once, however often the
    tasks that send it run."""

    class Kind(models.TextChoices):
        ANNOUNCED = "announced", "Announcement"
        REMINDER = "reminder", "Reminder (24 h before)"
        CHANGED = "changed", "Change"
        CANCELLED = "cancelled", "Cancellation"
        STARTED = "started", "Start"
        COMPLETED = "completed", "Completion"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    window = models.ForeignKey(MaintenanceWindow, on_delete=models.CASCADE, related_name="deliveries")
    user = models.ForeignKey("portal.User", on_delete=models.CASCADE, related_name="+")
    email = models.EmailField(help_text="The address the notice went to.")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    revision = models.PositiveIntegerField(help_text="The window's revision the notice describes.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["window", "kind", "email"]
        verbose_name_plural = "notice deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["window", "user", "kind", "revision"], name="notice_once_per_user_kind_revision"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of window {self.window_id} to {self.email} ({self.state})"
