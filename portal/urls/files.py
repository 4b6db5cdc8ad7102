"""The browser file manager, Recently deleted and Activity; included at the root.

Folder pages live under /files/ (any name can be a folder's, so no action can
share that prefix); the actions live under /file-actions/.
"""

from django.urls import path

from portal.views import files

urlpatterns = [
    path("files/", files.browse, name="files"),
    path("files/<path:subpath>", files.browse, name="files_folder"),
    path("file-actions/upload", files.upload, name="files_upload"),
    path("file-actions/new-folder", files.folder_new, name="files_folder_new"),
    path("file-actions/rename", files.rename, name="files_rename"),
    path("file-actions/move", files.move, name="files_move"),
    path("file-actions/delete", files.delete, name="files_delete"),
    path("file-actions/download", files.download, name="files_download"),
    path("recently-deleted/", files.trash, name="trash"),
    path("recently-deleted/restore", files.trash_restore, name="trash_restore"),
    path("activity/", files.activity, name="activity"),
]
