from __future__ import annotations

import logging

from celery import Task, shared_task
from django.contrib.auth import get_user_model

from hubs.models import Tenant
from portal.security.notice_emails import AccountNotice, account_notice_email
from portal.services.provisioning import tenant_provision

logger = logging.getLogger(__name__)


# The ignores on @shared_task: celery-types takes extra task options such as
# hub_scoped (see portal/celery.py) only together with base=; Celery takes them always.
@shared_task(bind=True, acks_late=True, hub_scoped=True, max_retries=10, default_retry_delay=30)  # type: ignore[call-overload]
def tenant_provision_task(self: Task, *, tenant_id: int) -> None:
    """Make a new tenant's space in its hub database. Runs on hub.<code>."""
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        logger.info("Tenant %s is gone; nothing to provision", tenant_id)
        return
    try:
        tenant_provision(tenant=tenant)
    except Exception as exc:  # noqa: BLE001 - any failure is retried with a countdown
        raise self.retry(exc=exc) from exc


@shared_task(acks_late=True, max_retries=5, default_retry_delay=60, autoretry_for=(OSError,))
def account_notice_email_task(*, user_id: int, kind: str, details: dict[str, str], to: str = "") -> str:
    """Send one security email to a person (control queue): queued by
    ``portal.security.notices.account_notice_send``; a mail server that is down
    is retried five times a minute apart."""
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None or not (to or user.email):
        logger.info("Account notice %s for user %s: nobody to send it to", kind, user_id)
        return "nobody"
    account_notice_email(user=user, kind=AccountNotice(kind), details=details, to=to).send(fail_silently=False)
    return "sent"


@shared_task(acks_late=True)
def sign_in_history_expire_task() -> dict[str, int]:
    """Hourly (beat): sign-in events past their 90 days go, and the session
    list's rows of sessions the store no longer holds; both in batches."""
    from portal.services.sessions import user_sessions_expire
    from portal.services.sign_in_retention import sign_in_events_expire

    return {"sign_in_events": sign_in_events_expire(), "user_sessions": user_sessions_expire()}
