"""Queueing a security email to a person (``portal.security.notice_emails``
says what each says). The one way every edge tells a person about their
account: sign-ins, wrong codes, changed password, email address or two-factor
settings. Queued after the change commits, so a rolled-back change sends nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from portal.security.notice_emails import AccountNotice
from portal.tasks import account_notice_email_task

if TYPE_CHECKING:
    from portal.models import User


def account_notice_send(
    *, user: User, kind: AccountNotice, details: dict[str, str] | None = None, to: str = ""
) -> None:
    """Email ``user`` (or ``to``) about ``kind`` once the current transaction commits."""
    payload = {str(key): str(value) for key, value in (details or {}).items()}

    def enqueue() -> None:
        account_notice_email_task.delay(user_id=user.pk, kind=kind.value, details=payload, to=to)

    transaction.on_commit(enqueue)
