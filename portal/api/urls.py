"""/api/: the v1 endpoints, the OpenAPI schema and its interactive docs.
Any other URL under /api/ answers a 404 problem, not an HTML page."""

from csp.decorators import csp_update
from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from portal.api import schema as _schema_extensions  # noqa: F401  (registers the auth schemes)
from portal.api.accounts import views as accounts_api
from portal.api.exceptions import api_not_found
from portal.api.files import bulk as bulk_api
from portal.api.files import ingest as ingest_api
from portal.api.files import views as files_api
from portal.api.maintenance import views as maintenance_api
from portal.api.search import views as search_api
from portal.api.snapshots import views as snapshots_api
from portal.api.status import views as status_api
from portal.api.team import views as team_api

# Swagger UI under the site's Content-Security-Policy: the split view serves its
# start-up script from this same URL (?script) instead of inline, the template
# has no <style>, and only this page adds data: images (Swagger UI's stylesheet
# draws its icons as data: URLs).
api_docs = csp_update({"img-src": ["data:"]})(
    SpectacularSwaggerSplitView.as_view(
        url_name="api_schema", authentication_classes=[], template_name="portal/api/swagger_ui.html"
    )
)

urlpatterns = [
    path("v1/me/", accounts_api.MeView.as_view(), name="api_me"),
    path("v1/hubs/", accounts_api.HubsView.as_view(), name="api_hubs"),
    path("v1/files/", files_api.FilesView.as_view(), name="api_files"),
    path("v1/files/content", files_api.FileContentView.as_view(), name="api_file_content"),
    path("v1/files/folders", files_api.FolderCreateView.as_view(), name="api_folder_create"),
    path("v1/files/move", files_api.MoveView.as_view(), name="api_move"),
    path("v1/files/copy", files_api.CopyView.as_view(), name="api_copy"),
    path("v1/files/bulk", ingest_api.BulkUploadView.as_view(), name="api_files_bulk"),
    path("v1/files/bulk-move", bulk_api.BulkMoveView.as_view(), name="api_bulk_move"),
    path("v1/files/bulk-delete", bulk_api.BulkDeleteView.as_view(), name="api_bulk_delete"),
    path("v1/files/zip", bulk_api.ZipView.as_view(), name="api_zip"),
    path("v1/files/versions", snapshots_api.FileVersionsView.as_view(), name="api_file_versions"),
    path(
        "v1/files/versions/<int:version_id>/content",
        snapshots_api.FileVersionContentView.as_view(),
        name="api_file_version_content",
    ),
    path(
        "v1/files/versions/<int:version_id>/restore",
        snapshots_api.FileVersionRestoreView.as_view(),
        name="api_file_version_restore",
    ),
    path("v1/snapshots/", snapshots_api.SnapshotsView.as_view(), name="api_snapshots"),
    path("v1/snapshots/schedule", snapshots_api.SnapshotScheduleView.as_view(), name="api_snapshot_schedule"),
    path("v1/snapshots/<int:snapshot_id>/files/", snapshots_api.SnapshotFilesView.as_view(), name="api_snapshot_files"),
    path(
        "v1/snapshots/<int:snapshot_id>/content",
        snapshots_api.SnapshotContentView.as_view(),
        name="api_snapshot_content",
    ),
    path("v1/restores/", snapshots_api.RestoresView.as_view(), name="api_restores"),
    path("v1/restores/<int:job_id>", snapshots_api.RestoreJobView.as_view(), name="api_restore"),
    path("v1/restores/<int:job_id>/cancel", snapshots_api.RestoreCancelView.as_view(), name="api_restore_cancel"),
    path("v1/trash/", files_api.TrashView.as_view(), name="api_trash"),
    path("v1/trash/restore", files_api.TrashRestoreView.as_view(), name="api_trash_restore"),
    path("v1/trash/bulk-restore", bulk_api.BulkTrashRestoreView.as_view(), name="api_trash_bulk_restore"),
    path("v1/search/", search_api.SearchView.as_view(), name="api_search"),
    path("v1/activity/", files_api.ActivityView.as_view(), name="api_activity"),
    path("v1/members/", team_api.MembersView.as_view(), name="api_members"),
    path("v1/members/history", team_api.MembershipEventsView.as_view(), name="api_members_history"),
    path("v1/members/<int:membership_id>", team_api.MemberView.as_view(), name="api_member"),
    path(
        "v1/members/<int:membership_id>/ownership",
        team_api.OwnershipTransferView.as_view(),
        name="api_member_ownership",
    ),
    path("v1/invitations/", team_api.InvitationsView.as_view(), name="api_invitations"),
    path("v1/invitations/<int:invitation_id>", team_api.InvitationView.as_view(), name="api_invitation"),
    path("v1/maintenance/", maintenance_api.MaintenanceView.as_view(), name="api_maintenance"),
    path("v1/status/", status_api.StatusView.as_view(), name="api_status"),
    path("schema/", SpectacularAPIView.as_view(authentication_classes=[]), name="api_schema"),
    path("docs/", api_docs, name="api_docs"),
    re_path(r"^.*$", api_not_found),
]
