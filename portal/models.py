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


class SignInEvent(models.Model):
    """One attempt to sign in to a person's account, kept 90 days
    (``portal.services.sign_ins``): what the person's "Sign-in history" shows,
    and what a new sign-in is compared with before they are emailed about it.
    Only attempts on an existing account are kept; an unknown email leaves no row."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Signed in"
        WRONG_PASSWORD = "wrong_password", "Wrong password"
        WRONG_CODE = "wrong_code", "Wrong two-factor code"
        SLOWED_DOWN = "slowed_down", "Slowed down (too many attempts)"

    class Method(models.TextChoices):
        PASSWORD = "password", "Password"
        PASSWORD_CODE = "password_code", "Password and app code"
        BACKUP_CODE = "backup_code", "Password and backup code"
        EMAIL_LINK = "email_link", "Password and emailed link"
        SIGNUP = "signup", "Signing up"
        OTHER = "other", "Other"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sign_in_events")
    created_at = models.DateTimeField(db_index=True)
    address = models.GenericIPAddressField(null=True, blank=True)
    # The address's network ("203.0.113.0/24", "2001:db8:1::/48"): what "a new
    # network" is judged by (portal.services.sign_ins.address_network).
    network = models.CharField(max_length=64, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    device = models.CharField(max_length=200, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    method = models.CharField(max_length=20, choices=Method.choices, blank=True)
    # A wrong code that set off the "wrong codes" email: at most one per window.
    notified = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="sign_in_user_time"),
            models.Index(fields=["user", "outcome", "created_at"], name="sign_in_user_outcome_time"),
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} at {self.created_at:%Y-%m-%d %H:%M} UTC"


class UserSession(models.Model):
    """One signed-in browser session of a person, for Settings → Sign-ins and
    sessions (``portal.services.sessions``): made at sign-in, seen at most
    once a minute by ``portal.middleware.sessions``, gone at sign-out, when
    ended from the list, or (hourly) once its session has expired.

    ``key_hash`` (SHA-256 of the session key) is the only name of a session
    that pages, forms and URLs carry. ``session_key`` is kept to end the
    session in the session store; Django's session table beside it holds the
    same keys, so hashing them here would protect nothing at rest."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="user_sessions")
    key_hash = models.CharField(max_length=64, unique=True)
    session_key = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    device = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-last_seen_at", "-id"]

    def __str__(self) -> str:
        return f"{self.device or 'session'} since {self.created_at:%Y-%m-%d %H:%M} UTC"
