"""The security emails a person gets about their own account: what each one
says. Built here, sent by ``portal.tasks.account_notice_email_task``, queued by
``portal.security.notices.account_notice_send``.

Every email names what happened, when (in the person's own time zone), from
which address and device, and what to do if it was not them. None carries a
file name or anything a workspace holds: they are about the account alone.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from django.core.mail import EmailMessage
from django.template.loader import render_to_string

from hubs.links import absolute_url

if TYPE_CHECKING:
    from portal.models import User


class AccountNotice(StrEnum):
    """The kinds of security email; each has ``templates/emails/account/<kind>.txt``."""

    NEW_SIGN_IN = "new_sign_in"
    WRONG_CODES = "wrong_codes"
    PASSWORD_CHANGED = "password_changed"
    EMAIL_CHANGED = "email_changed"
    EMAIL_CHANGE_CONFIRM = "email_change_confirm"
    TWO_FACTOR_CHANGED = "two_factor_changed"
    SIGN_IN_LINK = "sign_in_link"


SUBJECTS = {
    AccountNotice.NEW_SIGN_IN: "Hubport: a new sign-in to your account",
    AccountNotice.WRONG_CODES: "Hubport: wrong two-factor codes were entered for your account",
    AccountNotice.PASSWORD_CHANGED: "Hubport: your password was changed",
    AccountNotice.EMAIL_CHANGED: "Hubport: your account's email address was changed",
    AccountNotice.EMAIL_CHANGE_CONFIRM: "Hubport: confirm your new email address",
    AccountNotice.TWO_FACTOR_CHANGED: "Hubport: your two-factor settings were changed",
    AccountNotice.SIGN_IN_LINK: "Hubport: finish signing in",
}


def account_notice_email(*, user: User, kind: AccountNotice, details: dict[str, str], to: str = "") -> EmailMessage:
    """The email for one notice. ``details`` are strings the template shows
    (time, address, device, what changed, a link); ``to`` overrides the
    account's address (an email change tells the old address and confirms the new)."""
    context = {
        "user": user,
        "details": details,
        "reset_url": absolute_url("password_reset"),
        "security_url": absolute_url("account_security"),
    }
    body = render_to_string(f"emails/account/{kind.value}.txt", context)
    return EmailMessage(subject=SUBJECTS[kind], body=body, to=[to or user.email])
