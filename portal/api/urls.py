"""/api/: the v1 endpoints, the OpenAPI schema and its interactive docs.
Any other URL under /api/ answers a 404 problem, not an HTML page."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from portal.api import maintenance as maintenance_api
from portal.api import schema as _schema_extensions  # noqa: F401  (registers the auth schemes)
from portal.api import views, views_files, views_snapshots
from portal.api.exceptions import api_not_found

urlpatterns = [
    path("v1/me/", views.MeView.as_view(), name="api_me"),
    path("v1/hubs/", views.HubsView.as_view(), name="api_hubs"),
    path("v1/files/", views_files.FilesView.as_view(), name="api_files"),
    path("v1/files/content", views_files.FileContentView.as_view(), name="api_file_content"),
    path("v1/files/folders", views_files.FolderCreateView.as_view(), name="api_folder_create"),
    path("v1/files/move", views_files.MoveView.as_view(), name="api_move"),
    path("v1/files/versions", views_snapshots.FileVersionsView.as_view(), name="api_file_versions"),
    path(
        "v1/files/versions/<int:version_id>/content",
        views_snapshots.FileVersionContentView.as_view(),
        name="api_file_version_content",
    ),
    path(
        "v1/files/versions/<int:version_id>/restore",
        views_snapshots.FileVersionRestoreView.as_view(),
        name="api_file_version_restore",
    ),
    path("v1/snapshots/", views_snapshots.SnapshotsView.as_view(), name="api_snapshots"),
    path("v1/snapshots/schedule", views_snapshots.SnapshotScheduleView.as_view(), name="api_snapshot_schedule"),
    path(
        "v1/snapshots/<int:snapshot_id>/files/", views_snapshots.SnapshotFilesView.as_view(), name="api_snapshot_files"
    ),
    path(
        "v1/snapshots/<int:snapshot_id>/content",
        views_snapshots.SnapshotContentView.as_view(),
        name="api_snapshot_content",
    ),
    path("v1/restores/", views_snapshots.RestoresView.as_view(), name="api_restores"),
    path("v1/restores/<int:job_id>", views_snapshots.RestoreJobView.as_view(), name="api_restore"),
    path("v1/restores/<int:job_id>/cancel", views_snapshots.RestoreCancelView.as_view(), name="api_restore_cancel"),
    path("v1/trash/", views.TrashView.as_view(), name="api_trash"),
    path("v1/trash/restore", views.TrashRestoreView.as_view(), name="api_trash_restore"),
    path("v1/activity/", views.ActivityView.as_view(), name="api_activity"),
    path("v1/maintenance/", maintenance_api.MaintenanceView.as_view(), name="api_maintenance"),
    path("schema/", SpectacularAPIView.as_view(authentication_classes=[]), name="api_schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api_schema", authentication_classes=[]), name="api_docs"),
    re_path(r"^.*$", api_not_found),
]
