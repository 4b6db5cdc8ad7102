"""/api/: the v1 endpoints, the OpenAPI schema and its interactive docs.
Any other URL under /api/ answers a 404 problem, not an HTML page."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from portal.api import schema as _schema_extensions  # noqa: F401  (registers the auth schemes)
from portal.api import views, views_files
from portal.api.exceptions import api_not_found

urlpatterns = [
    path("v1/me/", views.MeView.as_view(), name="api_me"),
    path("v1/hubs/", views.HubsView.as_view(), name="api_hubs"),
    path("v1/files/", views_files.FilesView.as_view(), name="api_files"),
    path("v1/files/content", views_files.FileContentView.as_view(), name="api_file_content"),
    path("v1/files/folders", views_files.FolderCreateView.as_view(), name="api_folder_create"),
    path("v1/files/move", views_files.MoveView.as_view(), name="api_move"),
    path("v1/trash/", views.TrashView.as_view(), name="api_trash"),
    path("v1/trash/restore", views.TrashRestoreView.as_view(), name="api_trash_restore"),
    path("v1/activity/", views.ActivityView.as_view(), name="api_activity"),
    path("schema/", SpectacularAPIView.as_view(authentication_classes=[]), name="api_schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api_schema", authentication_classes=[]), name="api_docs"),
    re_path(r"^.*$", api_not_found),
]
