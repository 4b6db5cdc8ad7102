"""The control plane's hubs, facilities, tenants and monitoring rows. Just over
500 lines: the Hub's failover fields belong on the Hub; the alerts', status
subscriptions' and failovers' models live in their own modules, re-exported at
the foot."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Self
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models

from hubs.errors import HubChangeError
from hubs.outbox_state import DeliveryState


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
    failover_generation = models.PositiveIntegerField(
        default=0,
        editable=False,
        help_text="Bumped by every failover: a process holding a database connection of an older "
        "generation closes it and connects to the serving side (hubs.db).",
    )
    auto_failover_after_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Fail over to the alternate by itself when the primary's database or storage probes have "
        "failed this many minutes and the alternate is healthy. Empty: never (the default).",
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


class TenantModelQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        if "hub" in kwargs or "hub_id" in kwargs:
            raise HubChangeError("A tenant's hub cannot be changed: its data never leaves the hub chosen at signup.")
        return super().update(**kwargs)

    def customers(self) -> TenantModelQuerySet:
        """Tenants of customers: every count, list, quota sum, schedule and
        notice leaves out the probe tenants monitoring keeps in each hub."""
        return self.filter(is_probe=False)


class Tenant(models.Model):
    """A customer business. Control plane: holds no file names and no content."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=63, unique=True)
    hub = models.ForeignKey(Hub, on_delete=models.PROTECT, related_name="tenants")
    created_at = models.DateTimeField(auto_now_add=True)
    require_two_factor = models.BooleanField(
        default=False, help_text="Every member must enrol a two-factor device before using the portal."
    )
    provisioned_at = models.DateTimeField(
        null=True, blank=True, help_text="When the tenant's space in its hub database was made."
    )
    quota_bytes = models.BigIntegerField(
        null=True, blank=True, help_text="Live bytes allowed; empty means the default (HUBPORT_DEFAULT_QUOTA_BYTES)."
    )

    class SnapshotSchedule(models.TextChoices):
        HOURLY = "hourly", "Every hour"
        EVERY_4_HOURS = "4h", "Every 4 hours"
        DAILY = "daily", "Every day"

    snapshot_schedule = models.CharField(
        max_length=8, choices=SnapshotSchedule.choices, default=SnapshotSchedule.HOURLY
    )
    max_file_bytes = models.BigIntegerField(
        null=True, blank=True, help_text="Largest single file; empty means the default (HUBPORT_MAX_FILE_BYTES)."
    )
    is_probe = models.BooleanField(
        default=False,
        editable=False,
        help_text="Monitoring's own tenant (the emulated file transaction): no members, hidden from customers' "
        "lists, counts, quotas, schedules and notices.",
    )

    objects = TenantModelQuerySet.as_manager()

    # The hub the row had when it was read (None for a tenant not yet saved).
    _loaded_hub_id: str | None

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # An invariant, not business logic: whatever path saves a tenant (admin,
        # shell, a forgotten service), its hub stays the one it was created with.
        loaded_hub_id = getattr(self, "_loaded_hub_id", None)
        if self.pk is not None and loaded_hub_id is not None and loaded_hub_id != self.hub_id:
            raise HubChangeError(
                f"Tenant {self.slug} belongs to hub {loaded_hub_id}; a tenant's hub cannot be changed."
            )
        super().save(*args, **kwargs)
        self._loaded_hub_id = self.hub_id

    @classmethod
    def from_db(cls, db: str | None, field_names: Collection[str], values: Collection[Any], **kwargs: Any) -> Self:
        # **kwargs: Django 6 adds fetch_mode=; Django 5.2 passes nothing more.
        instance = super().from_db(db, field_names, values, **kwargs)
        instance._loaded_hub_id = instance.__dict__.get("hub_id")
        return instance

    @property
    def effective_quota_bytes(self) -> int:
        return self.quota_bytes if self.quota_bytes is not None else settings.HUBPORT_DEFAULT_QUOTA_BYTES

    @property
    def effective_max_file_bytes(self) -> int:
        return self.max_file_bytes if self.max_file_bytes is not None else settings.HUBPORT_MAX_FILE_BYTES


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"
        READ_ONLY = "read_only", "Read-only"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tenant__name", "user__email"]
        constraints = [models.UniqueConstraint(fields=["user", "tenant"], name="membership_unique_user_tenant")]

    def __str__(self) -> str:
        return f"{self.user} in {self.tenant.slug} ({self.role})"

    @property
    def can_administer(self) -> bool:
        return self.role in (self.Role.OWNER, self.Role.ADMIN)


class StaffAuditEntry(models.Model):
    """Who did which kind of action to what, and when. Control plane: a staff
    action on a tenant's content is recorded with its file names in the hub's
    database; this row keeps only the id of that hub-side record."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    actor_email = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=100)
    target_id = models.CharField(max_length=64)
    target_repr = models.CharField(max_length=200, blank=True)
    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    hub_record_id = models.CharField(max_length=64, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "staff audit entry"
        verbose_name_plural = "staff audit log"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_email} {self.action} {self.target_type} {self.target_id}"


class MaintenanceWindow(models.Model):
    """Announced maintenance of one or more hubs. Written only through
    ``hubs.services.maintenance`` (schedule, change, cancel) and ``hubs.services.advance``, which enforce the
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
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
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

    State = DeliveryState

    window = models.ForeignKey(MaintenanceWindow, on_delete=models.CASCADE, related_name="deliveries")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
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


class ProbeResult(models.Model):
    """One probe's outcome in one round (control plane). Raw rows are kept 48 hours
    (hubs.services.probes.probe_results_expire); the detail holds ids, never file names."""

    class Severity(models.TextChoices):
        CRITICAL = "critical", "Critical"
        WARNING = "warning", "Warning"

    hub = models.ForeignKey(
        Hub, on_delete=models.PROTECT, null=True, blank=True, related_name="+", help_text="Empty: control plane."
    )
    name = models.CharField(max_length=100)
    component = models.CharField(max_length=64)
    severity = models.CharField(max_length=16, choices=Severity.choices)
    ok = models.BooleanField()
    latency_ms = models.FloatField()
    detail = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-at", "hub", "name"]
        indexes = [models.Index(fields=["hub", "name", "-at"], name="probe_result_hub_name_at")]

    def __str__(self) -> str:
        return (
            f"{self.name} ({self.hub_id or 'control'}) {'ok' if self.ok else 'failed'} at {self.at:%Y-%m-%d %H:%M:%S}"
        )


class Heartbeat(models.Model):
    """The last moment something proved it was alive (control plane), one row per
    name: ``scheduler`` (beat, every minute) and ``control.write`` (the control
    database's write probe)."""

    name = models.CharField(max_length=64, unique=True)
    at = models.DateTimeField()
    # What the last beat carried: a worker ping's nonce, so the prober that sent
    # it knows the answer is to its own ping.
    token = models.CharField(max_length=64, blank=True, default="")

    def __str__(self) -> str:
        return f"{self.name} at {self.at:%Y-%m-%d %H:%M:%S}"


class Incident(models.Model):
    """Something wrong with one component of a hub (or of the control plane), told
    through its life cycle. The partial unique constraint keeps one unresolved
    incident per hub and component, however many observers run at once."""

    class Severity(models.TextChoices):
        CRITICAL = "critical", "Critical"
        WARNING = "warning", "Warning"

    class State(models.TextChoices):
        INVESTIGATING = "investigating", "Investigating"
        IDENTIFIED = "identified", "Identified"
        MONITORING = "monitoring", "Monitoring"
        RESOLVED = "resolved", "Resolved"

    hub = models.ForeignKey(Hub, on_delete=models.PROTECT, null=True, blank=True, related_name="incidents")
    component = models.CharField(max_length=64)
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.CRITICAL)
    state = models.CharField(max_length=16, choices=State.choices, default=State.INVESTIGATING, db_index=True)
    title = models.CharField(max_length=200)
    automatic = models.BooleanField(default=False, help_text="Opened by the probes, not by staff.")
    opened_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    affected = models.JSONField(default=list, blank=True, help_text="Names of the probes the incident covers.")

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            # Two partial indexes rather than one with nulls_distinct=False:
            # SQLite cannot make that one at all (Django skips it there), and
            # these hold on both databases.
            models.UniqueConstraint(
                fields=["hub", "component"],
                condition=~models.Q(state="resolved"),
                name="incident_one_unresolved_per_hub_component",
            ),
            models.UniqueConstraint(
                fields=["component"],
                condition=models.Q(hub__isnull=True) & ~models.Q(state="resolved"),
                name="incident_one_unresolved_per_control_component",
            ),
        ]

    def __str__(self) -> str:
        return f"Incident {self.pk}: {self.title} ({self.state})"


class IncidentUpdate(models.Model):
    """One step of an incident's timeline; the public ones are what customers will read."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="updates")
    at = models.DateTimeField()
    state = models.CharField(max_length=16, choices=Incident.State.choices)
    body = models.TextField()
    public = models.BooleanField(default=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.get_state_display()} at {self.at:%Y-%m-%d %H:%M} UTC"


class ProbeStreak(models.Model):
    """How many rounds in a row one probe has failed or passed, so opening and
    resolving an incident never reads raw results. ``hub`` is null for a
    control-plane probe."""

    hub = models.ForeignKey(Hub, on_delete=models.CASCADE, null=True, blank=True, related_name="probe_streaks")
    name = models.CharField(max_length=64)
    component = models.CharField(max_length=64)
    severity = models.CharField(max_length=16, choices=Incident.Severity.choices)
    consecutive_failures = models.PositiveIntegerField(default=0)
    consecutive_passes = models.PositiveIntegerField(default=0)
    last_ok = models.BooleanField(default=True)
    last_at = models.DateTimeField()

    class Meta:
        ordering = ["hub", "name"]
        constraints = [
            models.UniqueConstraint(fields=["hub", "name"], name="probe_streak_one_per_hub_name", nulls_distinct=False)
        ]

    def __str__(self) -> str:
        return f"{self.hub_id or 'control'}/{self.name}"


class HubUptimeDay(models.Model):
    """One UTC day of one hub's minutes as its probe rounds saw them, as two
    bitmaps of 1,440 bits (bit i: the day's minute i, little-endian): ``observed``
    (a round of the hub landed in the minute) and ``down`` (a critical probe
    failed in one). Up = observed and not down; unknown = not observed;
    maintenance is not stored, it is read from the windows. Kept 400 days.

    A row per minute would be about 100 bytes a minute with its indexes on
    PostgreSQL, 370 MB a year for seven hubs; these two bitmaps are some 450
    bytes a hub a day (``manage.py bench_probes`` measures it)."""

    hub = models.ForeignKey(Hub, on_delete=models.CASCADE, related_name="+")
    day = models.DateField(help_text="The UTC day; local days are cut from these by the readers.")
    observed = models.BinaryField(max_length=180, editable=False)
    down = models.BinaryField(max_length=180, editable=False)

    class Meta:
        ordering = ["hub", "day"]
        verbose_name = "hub uptime day"
        constraints = [models.UniqueConstraint(fields=["hub", "day"], name="hub_uptime_day_one_per_hub_day")]
        indexes = [models.Index(fields=["day"], name="hub_uptime_day_day")]

    def __str__(self) -> str:
        return f"{self.hub_id} {self.day:%Y-%m-%d}"


class ProbeFlip(models.Model):
    """A probe changing from passing to failing or back (control plane), kept 400
    days for incidents' timelines and audits. ``hub`` is null for the control plane."""

    hub = models.ForeignKey(Hub, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    name = models.CharField(max_length=100)
    ok = models.BooleanField(help_text="The state the probe flipped to.")
    at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["hub", "-at"], name="probe_flip_hub_at")]

    def __str__(self) -> str:
        return (
            f"{self.hub_id or 'control'}/{self.name} {'passing' if self.ok else 'failing'} at {self.at:%Y-%m-%d %H:%M}"
        )


# The duty engineer's models live beside this module (hubs/alert_models.py),
# which names the incident by its label and never imports this module back.
from hubs.alert_models import (  # noqa: E402, F401 - re-exported
    AlertDelivery,
    EscalationPolicy,
    EscalationStep,
    IncidentPaging,
    OnCallRota,
    RotaOverride,
    RotaParticipant,
)

# Failovers and what each measured (hubs/failover_models.py).
from hubs.failover_models import FailoverEvent  # noqa: E402, F401 - re-exported

# Status-page subscribers and their outbox (hubs/status_models.py), a tenant's
# invitations and team history (hubs/team_models.py), beside this module too.
from hubs.status_models import StatusDelivery, StatusSubscription  # noqa: E402, F401 - re-exported
from hubs.team_models import Invitation, MembershipEvent  # noqa: E402, F401 - re-exported
