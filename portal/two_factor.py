"""Two-factor devices: enrolment, backup codes, verification, and the tenant policy.

Devices are Hubport's own django-otp devices (``portal.models``): one
AuthenticatorDevice (an authenticator app, its key encrypted at rest) and one
BackupCodeDevice (the backup codes, kept only as keyed hashes) per person. They
live on the control plane, so every write here runs in one transaction on
``default``. Every change, and every sign-in with a backup code, emails the
person (``portal.security.notices``); the edge gives the request's details.
"""

from __future__ import annotations

import logging
import os
import re
from base64 import b32encode
from dataclasses import dataclass, field
from datetime import datetime

import segno
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django_otp import devices_for_user, user_has_device
from django_otp.models import Device, VerifyNotAllowed

from hubs.models import Membership, Tenant
from hubs.services import audit_record
from portal.models import AuthenticatorDevice, BackupCode, BackupCodeDevice, User
from portal.security.encryption import SecretUnreadable, backup_code_hash, new_backup_hash_key_sealed, secret_decrypt
from portal.security.notice_emails import AccountNotice
from portal.security.notices import account_notice_send

logger = logging.getLogger(__name__)

BACKUP_CODE_COUNT = 10
TOTP_DEVICE_NAME = "Authenticator app"
BACKUP_DEVICE_NAME = "Backup codes"
TOTP_CODE_PATTERN = re.compile(r"^\d{6}$")
# A backup code is 5 random bytes (40 bits) in base32: 8 characters a-z, 2-7.
BACKUP_CODE_PATTERN = re.compile(r"^[a-z2-7]{8}$")
# Unconfirmed enrolments older than this are replaced by a fresh secret, so a
# secret left on an abandoned screen (or a shoulder-surfed one) stops mattering.
ENROLMENT_MAX_AGE_SECONDS = 60 * 60


@dataclass(frozen=True)
class TotpEnrolment:
    device: AuthenticatorDevice
    secret_base32: str
    config_url: str

    @property
    def secret_grouped(self) -> str:
        """The secret in groups of four, easier to type into an app by hand."""
        return " ".join(self.secret_base32[i : i + 4] for i in range(0, len(self.secret_base32), 4))

    def qr_svg(self) -> str:
        """The otpauth:// URL as an inline SVG QR code, drawn on the server."""
        return segno.make(self.config_url, error="m").svg_inline(
            scale=5,
            border=2,
            dark="#111827",
            light="#ffffff",
            omitsize=True,
            title="QR code for your authenticator app",
            svgclass="qr-code",
        )


@dataclass(frozen=True)
class EnrolmentResult:
    device: AuthenticatorDevice
    backup_codes: list[str] = field(default_factory=list)


def normalise_code(raw: str) -> str:
    """Codes are typed with spaces or dashes ("123 456", "abcd-efgh"); compare without them."""
    return re.sub(r"[\s-]+", "", raw or "").lower()


def format_backup_code(token: str) -> str:
    return f"{token[:4]}-{token[4:]}"


def new_backup_code() -> str:
    return b32encode(os.urandom(5)).decode("ascii").lower()


def _notify(*, user: User, change: str, notice_details: dict[str, str]) -> None:
    account_notice_send(user=user, kind=AccountNotice.TWO_FACTOR_CHANGED, details={**notice_details, "change": change})


def _throttle_message(device: Device) -> str | None:
    allowed, details = device.verify_is_allowed()
    if allowed:
        return None
    if details and details.get("reason") == VerifyNotAllowed.N_FAILED_ATTEMPTS:
        locked_until: datetime | None = details.get("locked_until")
        if locked_until is not None:
            seconds = max(1, int((locked_until - timezone.now()).total_seconds()) + 1)
            return f"Too many wrong codes. Wait {seconds} seconds, then try again."
    return "Too many wrong codes. Wait a moment, then try again."


# SECTION: reads


def user_has_two_factor(*, user: User) -> bool:
    """True when the person has a confirmed authenticator app (backup codes alone do not count)."""
    return AuthenticatorDevice.objects.devices_for_user(user, confirmed=True).exists()


def user_has_any_device(*, user: User) -> bool:
    return user_has_device(user, confirmed=True)


def confirmed_totp_device(*, user: User) -> AuthenticatorDevice | None:
    return AuthenticatorDevice.objects.devices_for_user(user, confirmed=True).order_by("-id").first()


def backup_codes_remaining(*, user: User) -> int:
    return BackupCode.objects.filter(device__user=user, device__confirmed=True).count()


def tenants_requiring_two_factor(*, user: User) -> list[Tenant]:
    return list(Tenant.objects.filter(memberships__user=user, require_two_factor=True).order_by("name").distinct())


def members_two_factor_status(*, tenant: Tenant) -> list[tuple[Membership, bool]]:
    """Each member of the tenant and whether they have a confirmed authenticator app."""
    memberships = list(Membership.objects.filter(tenant=tenant).select_related("user").order_by("user__email"))
    enrolled = set(
        AuthenticatorDevice.objects.filter(user__in=[m.user_id for m in memberships], confirmed=True).values_list(
            "user_id", flat=True
        )
    )
    return [(membership, membership.user_id in enrolled) for membership in memberships]


# SECTION: enrolment


def totp_enrolment_start(*, user: User) -> TotpEnrolment:
    """The person's pending (unconfirmed) authenticator, made if there is none.

    Reloading the page shows the same secret until it is confirmed or grows stale,
    so a person who scanned the code and then refreshed is not left with a dead
    entry in their app.
    """
    with transaction.atomic(using="default"):
        pending = (
            AuthenticatorDevice.objects.devices_for_user(user, confirmed=False).select_for_update().order_by("-id")
        )
        stale_before = timezone.now().timestamp() - ENROLMENT_MAX_AGE_SECONDS
        device = None
        for candidate in pending:
            created = candidate.created_at.timestamp() if candidate.created_at else 0
            # A pending secret under a key since removed cannot be shown: replaced too.
            if device is None and created >= stale_before and candidate.key_readable:
                device = candidate
            else:
                candidate.delete()
        if device is None:
            device = AuthenticatorDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    return TotpEnrolment(
        device=device,
        secret_base32=b32encode(device.bin_key).decode("ascii").rstrip("="),
        config_url=device.config_url,
    )


def totp_enrolment_confirm(*, user: User, device_id: int, code: str, notice_details: dict[str, str]) -> EnrolmentResult:
    """Confirm a pending authenticator with a code from it.

    A confirmed authenticator replaces any earlier one. The first time a person
    enrols, ten backup codes are made and returned (shown once); a person who
    replaces their app keeps the backup codes they already hold.
    """
    token = normalise_code(code)
    with transaction.atomic(using="default"):
        device = (
            AuthenticatorDevice.objects.select_for_update().filter(pk=device_id, user=user, confirmed=False).first()
        )
        if device is None:
            raise ValidationError(
                {"code": ["This set-up has expired or was already finished. Start again."]}, code="expired"
            )
        if not TOTP_CODE_PATTERN.match(token):
            raise ValidationError({"code": ["Enter the 6-digit code your app shows."]}, code="format")
        throttled = _throttle_message(device)
        if throttled:
            raise ValidationError({"code": [throttled]}, code="throttled")
        if not device.verify_token(token):
            raise ValidationError(
                {"code": ["That code is not right. Check the time on your phone and enter the current code."]},
                code="invalid",
            )
        replacing = AuthenticatorDevice.objects.filter(user=user, confirmed=True).exclude(pk=device.pk).exists()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        AuthenticatorDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        backup_codes: list[str] = []
        if not BackupCode.objects.filter(device__user=user, device__confirmed=True).exists():
            backup_codes = _backup_codes_replace(user=user)
        change = (
            "a new authenticator app was added; it replaces the earlier one"
            if replacing
            else "an authenticator app was added"
        )
        if backup_codes:
            change += f", and {len(backup_codes)} backup codes were made"
        _notify(user=user, change=change, notice_details=notice_details)
    return EnrolmentResult(device=device, backup_codes=backup_codes)


def _backup_codes_replace(*, user: User) -> list[str]:
    device = BackupCodeDevice.objects.filter(user=user).order_by("id").first()
    if device is None:
        device = BackupCodeDevice.objects.create(user=user, name=BACKUP_DEVICE_NAME, confirmed=True)
    elif not device.confirmed:
        device.confirmed = True
        device.save(update_fields=["confirmed"])
    BackupCodeDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.codes.all().delete()
    # New codes, new hashing key: also mends a device whose key is no longer readable.
    device.sealed_hash_key = new_backup_hash_key_sealed()
    device.save(update_fields=["sealed_hash_key"])
    codes: set[str] = set()
    while len(codes) < BACKUP_CODE_COUNT:
        codes.add(new_backup_code())
    hash_key = secret_decrypt(device.sealed_hash_key)
    BackupCode.objects.bulk_create(
        [BackupCode(device=device, code_hash=backup_code_hash(hash_key=hash_key, code=code)) for code in sorted(codes)]
    )
    return [format_backup_code(token) for token in sorted(codes)]


def backup_codes_regenerate(*, user: User, notice_details: dict[str, str]) -> list[str]:
    """Ten new backup codes; every earlier one stops working."""
    with transaction.atomic(using="default"):
        if not AuthenticatorDevice.objects.devices_for_user(user, confirmed=True).exists():
            raise ValidationError("Set up an authenticator app before making backup codes.", code="no_device")
        codes = _backup_codes_replace(user=user)
        _notify(
            user=user,
            change=f"{len(codes)} new backup codes were made; the earlier ones no longer work",
            notice_details=notice_details,
        )
        return codes


def totp_device_remove(*, user: User, device_id: int, notice_details: dict[str, str]) -> None:
    """Remove the person's authenticator app and, with it, their backup codes.

    Refused while a workspace they belong to requires two-factor: they may
    replace the app (enrol a new one) but not go without.
    """
    with transaction.atomic(using="default"):
        device = AuthenticatorDevice.objects.select_for_update().filter(pk=device_id, user=user).first()
        if device is None:
            raise ValidationError("This device no longer exists.", code="missing")
        requiring = tenants_requiring_two_factor(user=user)
        if requiring and device.confirmed:
            names = ", ".join(tenant.name for tenant in requiring)
            raise ValidationError(
                f"{names} requires two-factor authentication for every member. "
                "Set up a new authenticator app instead; it replaces this one.",
                code="required",
            )
        device.delete()
        change = "an authenticator app was removed"
        if not AuthenticatorDevice.objects.devices_for_user(user, confirmed=True).exists():
            BackupCodeDevice.objects.filter(user=user).delete()
            change = "the authenticator app and the backup codes were removed; signing in needs only the password"
        if device.confirmed:
            _notify(user=user, change=change, notice_details=notice_details)


# SECTION: verification


@dataclass(frozen=True)
class CodeCheck:
    device: Device | None
    error: str = ""


UNREADABLE_KEY_MESSAGE = (
    "Your authenticator app can no longer be checked here and must be set up again. "
    "Sign in with one of your backup codes, then set up your authenticator app again "
    "under Two-factor authentication."
)
UNREADABLE_BACKUP_MESSAGE = (
    "Your backup codes can no longer be checked here. Sign in with the code from your authenticator app, "
    "then make new backup codes under Two-factor authentication."
)


def code_verify(*, user: User, code: str, notice_details: dict[str, str]) -> CodeCheck:
    """Check a code typed at sign-in against the person's devices.

    Six digits are checked against the authenticator app, anything else against
    the backup codes, so a mistyped app code does not also count as a failed
    backup-code attempt. django-otp does the refusing: a TOTP code at or before
    the device's last used time step is refused (no replay), a backup code is
    deleted when used (and the person is emailed), and repeated failures are
    throttled. An app whose key no configured encryption key opens is not a
    wrong code: the person is told to use a backup code and set the app up again.
    """
    token = normalise_code(code)
    if TOTP_CODE_PATTERN.match(token):
        devices: list[Device] = list(AuthenticatorDevice.objects.devices_for_user(user, confirmed=True).order_by("id"))
    elif BACKUP_CODE_PATTERN.match(token):
        devices = list(BackupCodeDevice.objects.devices_for_user(user, confirmed=True).order_by("id"))
    else:
        return CodeCheck(device=None, error="Enter the 6-digit code from your app, or one of your backup codes.")
    if not devices:
        return CodeCheck(device=None, error="That code is not right.")
    readable = [device for device in devices if _secret_readable(device)]
    if not readable:
        is_app = isinstance(devices[0], AuthenticatorDevice)
        return CodeCheck(device=None, error=UNREADABLE_KEY_MESSAGE if is_app else UNREADABLE_BACKUP_MESSAGE)
    with transaction.atomic(using="default"):
        for device in readable:
            locked = type(device).objects.select_for_update().get(pk=device.pk)
            throttled = _throttle_message(locked)
            if throttled:
                return CodeCheck(device=None, error=throttled)
            if locked.verify_token(token):
                if isinstance(locked, BackupCodeDevice):
                    remaining = locked.codes.count()
                    _notify(
                        user=user,
                        change=f"a backup code was used to sign in ({remaining} left)",
                        notice_details=notice_details,
                    )
                return CodeCheck(device=locked)
    return CodeCheck(device=None, error="That code is not right, or it has already been used.")


def _secret_readable(device: Device) -> bool:
    sealed = getattr(device, "sealed_key", None) or getattr(device, "sealed_hash_key", None)
    if sealed is None:
        return True
    try:
        secret_decrypt(sealed)
    except SecretUnreadable:
        logger.error(
            "Two-factor device %s: its secret is encrypted under none of HUBPORT_ENCRYPTION_KEYS", device.persistent_id
        )
        return False
    return True


def device_for_code(*, user: User, code: str) -> Device | None:
    """The device a code typed at sign-in is for, when the person chose none.

    Their only confirmed device; otherwise, by the code's shape, their one
    authenticator app (six digits) or their backup codes. None when that leaves
    more than one (or none): then they must choose.
    """
    devices = list(devices_for_user(user, confirmed=True))
    if len(devices) == 1:
        return devices[0]
    token = normalise_code(code)
    kind: type[Device]
    if TOTP_CODE_PATTERN.match(token):
        kind = AuthenticatorDevice
    elif BACKUP_CODE_PATTERN.match(token):
        kind = BackupCodeDevice
    else:
        return None
    of_kind = [device for device in devices if isinstance(device, kind)]
    return of_kind[0] if len(of_kind) == 1 else None


def user_devices(*, user: User) -> list[Device]:
    return list(devices_for_user(user, confirmed=True))


# SECTION: the tenant's policy


def tenant_require_two_factor_set(*, tenant: Tenant, acting_user: User, required: bool) -> Tenant:
    """Require (or stop requiring) two-factor for every member of the tenant.

    Only an owner may change it, and an owner turning it on must have two-factor
    themselves first, so they cannot lock themselves out of their own setting.
    """
    with transaction.atomic(using="default"):
        locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
        is_owner = Membership.objects.filter(tenant=locked, user=acting_user, role=Membership.Role.OWNER).exists()
        if not is_owner:
            raise PermissionDenied("Only an owner can change the workspace's two-factor policy.")
        if required and not user_has_two_factor(user=acting_user):
            raise ValidationError(
                "Set up two-factor authentication for your own account before requiring it of everyone.",
                code="owner_without_device",
            )
        if locked.require_two_factor != required:
            before = {"require_two_factor": locked.require_two_factor}
            locked.require_two_factor = required
            locked.save(update_fields=["require_two_factor"])
            audit_record(
                actor=acting_user,
                action="tenant.require_two_factor",
                target=locked,
                tenant=locked,
                before=before,
                after={"require_two_factor": required},
            )
    tenant.require_two_factor = required
    return locked
