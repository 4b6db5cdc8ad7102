"""Writes of a person's own settings.

A person's settings are theirs alone: they change no workspace, no file and no
staff-visible setting, so nothing goes to the staff audit log (which records
staff actions) or to a workspace's activity log (which records changes to its
files). A change of password or email address is told to the person by email
instead, in the same transaction's commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import password_validation
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import router, transaction

from hubs.links import absolute_url
from portal.models import User
from portal.security.notice_emails import AccountNotice
from portal.security.notices import account_notice_send
from portal.selectors import time_zone_names


def user_time_zone_set(*, user: User, time_zone: str) -> User:
    """Set the zone every page shows ``user`` times in: an IANA zone name, or
    blank for their workspace hub's."""
    if time_zone and time_zone not in time_zone_names():
        raise ValidationError(
            {"time_zone": f"{time_zone!r} is not an IANA time zone this server knows, e.g. Asia/Tokyo."},
            code="invalid_time_zone",
        )
    with transaction.atomic(using=router.db_for_write(User)):
        # Saved even when the value in memory already matches: the row may differ.
        user.time_zone = time_zone
        user.save(update_fields=["time_zone"])
    return user


# SECTION: password and email address (each change is told to the person, ASVS 6.3.7)

EMAIL_CHANGE_SALT = "hubport.accounts.email-change"
EMAIL_CHANGE_MAX_AGE = timedelta(hours=24)


@dataclass(frozen=True)
class EmailChange:
    """A confirmed change of address, as the signed link carries it."""

    user_id: int
    old_email: str
    new_email: str


def user_password_change(*, user: User, new_password: str, details: dict[str, str], how: str = "changed") -> User:
    """Set ``user``'s password (validated by AUTH_PASSWORD_VALIDATORS) and tell
    them. Every session signed in with the old password ends on its next request
    (Django checks each session's password hash); the edge keeps the current one."""
    password_validation.validate_password(new_password, user)
    with transaction.atomic(using=router.db_for_write(User)):
        user.set_password(new_password)
        user.save(update_fields=["password"])
        account_notice_send(user=user, kind=AccountNotice.PASSWORD_CHANGED, details={**details, "how": how})
    return user


def _email_free(*, email: str, user: User) -> None:
    if User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
        raise ValidationError({"new_email": "Another account uses that address."}, code="email_taken")


def user_email_change_request(*, user: User, new_email: str, details: dict[str, str]) -> str:
    """Send a confirmation link to ``new_email``; nothing changes until it is
    opened. Returns the link (the email carries it)."""
    new_email = new_email.strip().lower()
    if new_email == user.email.lower():
        raise ValidationError({"new_email": "That is your address already."}, code="email_unchanged")
    _email_free(email=new_email, user=user)
    token = signing.dumps({"u": user.pk, "old": user.email, "new": new_email}, salt=EMAIL_CHANGE_SALT, compress=True)
    link = absolute_url("email_change_confirm", token=token)
    valid_for = f"{int(EMAIL_CHANGE_MAX_AGE.total_seconds() // 3600)} hours"
    with transaction.atomic(using=router.db_for_write(User)):
        account_notice_send(
            user=user,
            kind=AccountNotice.EMAIL_CHANGE_CONFIRM,
            details={**details, "link": link, "valid_for": valid_for},
            to=new_email,
        )
    return link


def email_change_read(*, token: str, user: User) -> EmailChange:
    """The change a link asks for, if it is ``user``'s, unexpired and unused: a
    link made before the address last changed no longer matches it."""
    try:
        data = signing.loads(token, salt=EMAIL_CHANGE_SALT, max_age=EMAIL_CHANGE_MAX_AGE)
    except signing.SignatureExpired as error:
        raise ValidationError(
            "This link has expired. Ask for a new one from your profile.", code="link_expired"
        ) from error
    except signing.BadSignature as error:
        raise ValidationError(
            "This link is not valid. Ask for a new one from your profile.", code="link_invalid"
        ) from error
    if not isinstance(data, dict) or data.get("u") != user.pk:
        raise ValidationError(
            "This link belongs to another account. Sign in as the account that asked for it.", code="link_other_user"
        )
    if data.get("old") != user.email:
        raise ValidationError("This link was already used or a newer change replaced it.", code="link_used")
    return EmailChange(user_id=user.pk, old_email=str(data["old"]), new_email=str(data["new"]))


def user_email_change_confirm(*, user: User, token: str, details: dict[str, str]) -> User:
    """Change ``user``'s address (their sign-in name too) as the link says, and
    tell the old address."""
    change = email_change_read(token=token, user=user)
    with transaction.atomic(using=router.db_for_write(User)):
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.email != change.old_email:
            raise ValidationError("This link was already used or a newer change replaced it.", code="link_used")
        _email_free(email=change.new_email, user=locked)
        locked.email = locked.username = change.new_email
        locked.save(update_fields=["email", "username"])
        account_notice_send(
            user=locked,
            kind=AccountNotice.EMAIL_CHANGED,
            details={**details, "old_email": change.old_email, "new_email": change.new_email},
            to=change.old_email,
        )
    user.email = user.username = change.new_email
    return user
