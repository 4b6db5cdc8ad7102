"""Snapshots, restores, file versions and storage; included at the root.

The job page's address, /restores/<id>/, is in the email a restore's
requester gets when it ends (portal.tasks): keep it.
"""

from django.urls import path

from portal.views import snapshots

urlpatterns = [
    path("snapshots/", snapshots.snapshot_list, name="snapshots"),
    path("snapshots/take", snapshots.snapshot_take, name="snapshot_take"),
    path("snapshots/schedule", snapshots.snapshot_schedule, name="snapshot_schedule"),
    path("snapshots/browse", snapshots.snapshot_browse, name="snapshot_browse"),
    path("snapshots/download", snapshots.snapshot_download, name="snapshot_download"),
    path("snapshots/restore", snapshots.snapshot_restore, name="snapshot_restore"),
    path("restores/", snapshots.restore_list, name="restores"),
    path("restores/<int:job_id>/", snapshots.restore_job, name="restore_job"),
    path("restores/<int:job_id>/progress", snapshots.restore_job_progress, name="restore_job_progress"),
    path("restores/<int:job_id>/cancel", snapshots.restore_job_cancel, name="restore_job_cancel"),
    path("versions/", snapshots.file_versions, name="file_versions"),
    path("versions/download", snapshots.version_download, name="version_download"),
    path("versions/restore", snapshots.version_restore, name="version_restore"),
    path("storage/", snapshots.storage, name="storage"),
]
