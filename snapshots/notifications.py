"""Telling people what the store did. Messages carry ids and counts, never
file names: the email is sent by a control-plane worker outside the hub."""

from __future__ import annotations

from django.db import transaction

from snapshots.models import RestoreJob


def restore_finished_notify(*, job: RestoreJob) -> None:
    """Queue the "your restore has ended" email to the person who asked for it."""
    user_id = job.requested_by_user_id
    if user_id is None or job.by_support:
        return  # support staff follow their restores in the admin

    def enqueue() -> None:
        from snapshots.tasks import restore_finished_email_task

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
            },
        )

    # The job row was loaded through for_tenant, so it knows its hub database.
    transaction.on_commit(enqueue, using=job._state.db)
