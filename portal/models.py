from __future__ import annotations

from collections.abc import Collection
from typing import Any, Self

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A person. Signs in with their email address, which is also the username."""

    email = models.EmailField(unique=True)

    def __str__(self) -> str:
        return self.email


class HubChangeError(ValueError):
    """A tenant's hub is chosen at signup and never changes."""


class TenantQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        if "hub" in kwargs or "hub_id" in kwargs:
            raise HubChangeError("A tenant's hub cannot be changed: its data never leaves the hub chosen at signup.")
        return super().update(**kwargs)


class Tenant(models.Model):
    """A customer business. Control plane: holds no file names and no content."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=63, unique=True)
    hub = models.ForeignKey("hubs.Hub", on_delete=models.PROTECT, related_name="tenants")
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

    objects = TenantQuerySet.as_manager()

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


class ApiToken(models.Model):
    """A personal access token: acts for one user in one tenant. Only a SHA-256
    of the secret is stored (the secret has 256 bits of entropy, so a fast hash
    is enough); the full token is shown once, at creation."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, db_index=True, help_text="Shown to tell tokens apart; not secret.")
    secret_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
