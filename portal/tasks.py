from __future__ import annotations

import logging

from celery import Task, shared_task

from portal.models import Tenant
from portal.services import tenant_provision

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


RESTORE_STATE_WORDS = {
    "succeeded": "has finished",
    "failed": "has failed",
    "cancelled": "was cancelled",
}


@shared_task(acks_late=True, max_retries=5, default_retry_delay=60, autoretry_for=(OSError,))
def restore_finished_email_task(*, user_id: int, restore_job_id: int, state: str, counts: dict[str, int]) -> None:
    """Email the person who asked for a restore that it has ended. Control queue:
    the message and the email carry ids and counts, never file names."""
    from django.core.mail import send_mail

    from hubs.links import absolute_url
    from portal.models import User

    user = User.objects.filter(pk=user_id).first()
    if user is None or not user.email:
        return
    words = RESTORE_STATE_WORDS.get(state, "has ended")
    lines = [
        f"Your restore {words}.",
        "",
        f"Restored: {counts.get('restored', 0)}",
        f"Restored under a new name: {counts.get('renamed', 0)}",
        f"Overwritten: {counts.get('overwritten', 0)}",
        f"Already as in the snapshot: {counts.get('unchanged', 0)}",
        f"Skipped: {counts.get('skipped', 0)}",
        f"Failed: {counts.get('failed', 0)}",
        "",
        f"Details: {absolute_url('restore_job', job_id=restore_job_id)}",
    ]
    send_mail(
        subject=f"Hubport: your restore {words}",
        message="\n".join(lines),
        from_email=None,
        recipient_list=[user.email],
    )
