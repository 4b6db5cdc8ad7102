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
