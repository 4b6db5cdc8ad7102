"""The browser file manager, Recently deleted and Activity; included at the root.

Folder pages live under /files/ (any name can be a folder's, so no action can
share that prefix); the actions live under /file-actions/.
"""

from django.urls import path

from portal.views.files import activity, browse, bulk, operations, search, trash

urlpatterns = [
    path("files/", browse.browse, name="files"),
    path("files/<path:subpath>", browse.browse, name="files_folder"),
    path("file-actions/upload", operations.upload, name="files_upload"),
    path("file-actions/upload-conflicts", operations.upload_conflicts, name="files_upload_conflicts"),
    path("file-actions/new-folder", operations.folder_new, name="files_folder_new"),
    path("file-actions/rename", operations.rename, name="files_rename"),
    path("file-actions/move", operations.move, name="files_move"),
    path("file-actions/delete", operations.delete, name="files_delete"),
    path("file-actions/download", operations.download, name="files_download"),
    path("file-actions/download-zip", bulk.folder_zip, name="files_download_zip"),
    path("file-actions/bulk", bulk.bulk, name="files_bulk"),
    path("recently-deleted/", trash.trash, name="trash"),
    path("recently-deleted/restore", trash.trash_restore, name="trash_restore"),
    path("recently-deleted/restore-selected", bulk.trash_bulk_restore, name="trash_bulk_restore"),
    path("search/", search.search, name="files_search"),
    path("activity/", activity.activity, name="activity"),
]
