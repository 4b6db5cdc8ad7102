"""Snapshots, restores, file versions and storage; included at the root.

The job page's address, /restores/<id>/, is in the email a restore's
requester gets when it ends (portal.tasks): keep it.
"""

from django.urls import path

from portal.views.snapshots import browse, jobs, listing, restore, storage, versions

urlpatterns = [
    path("snapshots/", listing.snapshot_list, name="snapshots"),
    path("snapshots/take", listing.snapshot_take, name="snapshot_take"),
    path("snapshots/schedule", listing.snapshot_schedule, name="snapshot_schedule"),
    path("snapshots/browse", browse.snapshot_browse, name="snapshot_browse"),
    path("snapshots/download", browse.snapshot_download, name="snapshot_download"),
    path("snapshots/restore", restore.snapshot_restore, name="snapshot_restore"),
    path("restores/", jobs.restore_list, name="restores"),
    path("restores/<int:job_id>/", jobs.restore_job, name="restore_job"),
    path("restores/<int:job_id>/progress", jobs.restore_job_progress, name="restore_job_progress"),
    path("restores/<int:job_id>/cancel", jobs.restore_job_cancel, name="restore_job_cancel"),
    path("versions/", versions.file_versions, name="file_versions"),
    path("versions/download", versions.version_download, name="version_download"),
    path("versions/restore", versions.version_restore, name="version_restore"),
    path("storage/", storage.storage, name="storage"),
]
