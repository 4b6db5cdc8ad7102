"""Telling people what the store did. Messages carry ids and counts, never
file names: the email is sent by a control-plane worker outside the hub."""

from __future__ import annotations

from celery import shared_task
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction

from hubs.links import absolute_url
from snapshots.models import RestoreJob


def restore_finished_notify(*, job: RestoreJob) -> None:
    """Queue the "your restore has ended" email to the person who asked for it."""
    user_id = job.requested_by_user_id
    if user_id is None or job.by_support:
        return  # support staff follow their restores in the admin

    def enqueue() -> None:
        restore_finished_email_task.delay(
            user_id=user_id,
            restore_job_id=job.pk,
            state=job.state,
            counts={
                "restored": job.restored,
                "renamed": job.renamed,
                "overwritten": job.overwritten,
                "skipped": job.skipped,
                "unchanged": job.unchanged,
                "failed": job.failed,
                "removed": job.removed,
            },
        )

    # The job row was loaded through for_tenant, so it knows its hub database.
    transaction.on_commit(enqueue, using=job._state.db)


RESTORE_STATE_WORDS = {
    "succeeded": "has finished",
    "failed": "has failed",
    "cancelled": "was cancelled",
}


@shared_task(acks_late=True, max_retries=5, default_retry_delay=60, autoretry_for=(OSError,))
def restore_finished_email_task(*, user_id: int, restore_job_id: int, state: str, counts: dict[str, int]) -> None:
    """Email the person who asked for a restore that it has ended. Control queue:
    the message and the email carry ids and counts, never file names."""
    user = get_user_model().objects.filter(pk=user_id).first()
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
        *([f"Moved to Recently deleted (not there then): {counts['removed']}"] if counts.get("removed") else []),
        "",
        f"Details: {absolute_url('restore_job', job_id=restore_job_id)}",
    ]
    send_mail(
        subject=f"Hubport: your restore {words}",
        message="\n".join(lines),
        from_email=None,
        recipient_list=[user.email],
    )
