from __future__ import annotations

import logging
import time
from base64 import b32encode
from urllib.parse import quote, urlencode

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.oath import TOTP

from portal.security.encryption import (
    SecretUnreadable,
    backup_code_hash,
    new_backup_hash_key_sealed,
    new_totp_key_sealed,
    secret_decrypt,
)

logger = logging.getLogger(__name__)


class User(AbstractUser):  # type: ignore[django-manager-missing]  # django-otp ships no types for its DeviceManager
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
    scope = models.CharField(
        max_length=8,
        choices=[("api", "REST API"), ("dav", "WebDAV app password")],
        default="api",
        help_text="api: the REST API (Bearer); dav: WebDAV only, as an app password (Basic) or Bearer.",
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class AuthenticatorDevice(TimestampMixin, ThrottlingMixin, Device):
    """An authenticator app (RFC 6238), as django-otp's TOTPDevice but with the
    key encrypted at rest (``portal.security.encryption``; django-otp keeps it as
    plaintext hex). Verification is django-otp's: the same tolerance, clock
    drift and refusal of any code at or before the last used time step."""

    sealed_key = models.TextField(
        default=new_totp_key_sealed, help_text="The TOTP key, encrypted under HUBPORT_ENCRYPTION_KEYS."
    )
    step = models.PositiveSmallIntegerField(default=30, help_text="The time step in seconds.")
    t0 = models.BigIntegerField(default=0, help_text="The Unix time at which to begin counting steps.")
    digits = models.PositiveSmallIntegerField(choices=[(6, 6), (8, 8)], default=6)
    tolerance = models.PositiveSmallIntegerField(
        default=1, help_text="The number of time steps in the past or future to allow."
    )
    drift = models.SmallIntegerField(
        default=0, help_text="The number of time steps the prover is known to deviate from our clock."
    )
    last_t = models.BigIntegerField(
        default=-1, help_text="The time step of the last verified code; the next must be later."
    )

    class Meta(Device.Meta):
        verbose_name = "authenticator app"

    @property
    def bin_key(self) -> bytes:
        """The key itself; SecretUnreadable when no configured key opens it."""
        return secret_decrypt(self.sealed_key)

    @property
    def key_readable(self) -> bool:
        try:
            self.bin_key  # noqa: B018 - decrypting is the check
        except SecretUnreadable:
            return False
        return True

    def verify_token(self, token: object) -> bool:
        verify_allowed, _ = self.verify_is_allowed()
        if not verify_allowed:
            return False
        try:
            key = self.bin_key
        except SecretUnreadable:
            # Not a wrong code: nothing the person types can match. Said once
            # here for the operator; the sign-in page tells the person.
            logger.error("TOTP device %s: its key is encrypted under none of HUBPORT_ENCRYPTION_KEYS", self.pk)
            return False
        try:
            number = int(str(token))
        except ValueError:
            verified = False
        else:
            totp = TOTP(key, self.step, self.t0, self.digits, self.drift)
            totp.time = time.time()
            verified = totp.verify(number, self.tolerance, self.last_t + 1)
            if verified:
                self.last_t = totp.t()
                if getattr(settings, "OTP_TOTP_SYNC", True):
                    self.drift = totp.drift
                self.throttle_reset(commit=False)
                self.set_last_used_timestamp(commit=False)
                self.save()
        if not verified:
            self.throttle_increment(commit=True)
        return verified

    def get_throttle_factor(self) -> int:
        return int(getattr(settings, "OTP_TOTP_THROTTLE_FACTOR", 1))

    @property
    def config_url(self) -> str:
        """The otpauth:// URL an authenticator app reads from the QR code."""
        label = str(self.user.get_username())
        params = urlencode(
            {"secret": b32encode(self.bin_key), "algorithm": "SHA1", "digits": self.digits, "period": self.step}
        )
        issuer = str(getattr(settings, "OTP_TOTP_ISSUER", "") or "").replace(":", "")
        if issuer:
            label = f"{issuer}:{label}"
            params += f"&issuer={quote(issuer)}"
        return f"otpauth://totp/{quote(label)}?{params}"


class BackupCodeDevice(TimestampMixin, ThrottlingMixin, Device):
    """A person's backup codes, as django-otp's StaticDevice, but each code is
    kept only as an HMAC-SHA256 under this device's own hashing key, which is
    itself encrypted (``portal.security.encryption.backup_code_hash`` says why
    not a slow hash). A code is deleted when used."""

    sealed_hash_key = models.TextField(
        default=new_backup_hash_key_sealed,
        help_text="The key the codes are hashed with, encrypted under HUBPORT_ENCRYPTION_KEYS.",
    )

    class Meta(Device.Meta):
        verbose_name = "backup codes"

    def code_hash(self, code: str) -> str:
        return backup_code_hash(hash_key=secret_decrypt(self.sealed_hash_key), code=code)

    def verify_token(self, token: object) -> bool:
        verify_allowed, _ = self.verify_is_allowed()
        if not verify_allowed:
            return False
        try:
            digest = self.code_hash(str(token).lower())
        except SecretUnreadable:
            logger.error("Backup codes %s: their key is encrypted under none of HUBPORT_ENCRYPTION_KEYS", self.pk)
            match = None
        else:
            match = self.codes.filter(code_hash=digest).first()
        if match is not None:
            match.delete()
            self.throttle_reset(commit=False)
            self.set_last_used_timestamp(commit=False)
            self.save()
        else:
            self.throttle_increment()
        return match is not None

    def get_throttle_factor(self) -> int:
        return int(getattr(settings, "OTP_STATIC_THROTTLE_FACTOR", 1))


class BackupCode(models.Model):
    """One unused backup code, as its keyed hash."""

    device = models.ForeignKey(BackupCodeDevice, on_delete=models.CASCADE, related_name="codes")
    code_hash = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "code_hash"], name="backup_code_unique_per_device")]


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
