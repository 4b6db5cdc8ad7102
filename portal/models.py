from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A person. Signs in with their email address, which is also the username."""

    email = models.EmailField(unique=True)
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        help_text="IANA time zone every page shows times in, e.g. Asia/Tokyo; blank: the workspace hub's.",
    )

    def __str__(self) -> str:
        return self.email


class ApiToken(models.Model):
    """A personal access token: acts for one user in one tenant. Only a SHA-256
    of the secret is stored (the secret has 256 bits of entropy, so a fast hash
    is enough); the full token is shown once, at creation."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    tenant = models.ForeignKey("hubs.Tenant", on_delete=models.CASCADE, related_name="api_tokens")
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
