"""Writes to the versioned store, one module per job:

- ``kernel``: one step of the tenant clock and the operations every write is
  made of (close version rows, open version rows, move the folder counters);
- ``files``: provisioning, folders, file writes, move, rename, delete;
- ``copies``: server-side copies of files and folders (the same blobs);
- ``ingest``: many files from one tar stream, in one step (the bulk upload);
- ``trash``: bringing back a deleted item or an earlier version of a file;
- ``purge``: removing an item from all history (support);
- ``snapshots``: taking snapshots, on request and on schedule;
- restores from a snapshot or a moment: ``restore_request`` (the request and
  its checks), ``restore_plan`` (the items), ``restore_conflicts`` (the rule
  for a taken name), ``restore_planner`` (what happens to each item, shared
  by the preview and the run), ``restore_engine`` (the writes) and
  ``restore_jobs`` (start, cancel) and ``restore_runs`` (run and resume in
  batches, stalled jobs).

Callers import the service functions from here.
"""

from snapshots.services.bulk import nodes_delete, nodes_move, trash_restore_many
from snapshots.services.copies import node_copy
from snapshots.services.files import (
    OnConflict,
    file_write,
    folder_create,
    node_delete,
    node_move,
    node_rename,
    store_provision,
)
from snapshots.services.ingest import IngestResult, files_ingest_tar
from snapshots.services.kernel import Actor, ChangeStep, actor_for, change_step
from snapshots.services.purge import PURGED_PATH, PurgeResult, node_purge
from snapshots.services.restore_jobs import restore_cancel, restore_start
from snapshots.services.restore_plan import PlanItem, restore_plan
from snapshots.services.restore_planner import RestorePreview, restore_moment_label, restore_preview
from snapshots.services.restore_request import (
    RestoreRequest,
    RestoreSource,
    ValidatedRestore,
    restore_request_of,
    restore_source,
    restore_validate,
)
from snapshots.services.restore_runs import (
    GAVE_UP,
    INTERNAL_ERROR,
    MAX_ATTEMPTS,
    restore_run,
    restores_stalled,
    restores_stalled_claim,
)
from snapshots.services.snapshots import snapshot_create, snapshot_expires_at, snapshots_take_scheduled
from snapshots.services.support_views import support_view_record
from snapshots.services.trash import trash_restore, version_restore

__all__ = [
    "node_copy",
    "OnConflict",
    "GAVE_UP",
    "INTERNAL_ERROR",
    "MAX_ATTEMPTS",
    "PURGED_PATH",
    "Actor",
    "ChangeStep",
    "PlanItem",
    "PurgeResult",
    "RestorePreview",
    "RestoreRequest",
    "RestoreSource",
    "ValidatedRestore",
    "actor_for",
    "change_step",
    "file_write",
    "files_ingest_tar",
    "IngestResult",
    "folder_create",
    "node_delete",
    "nodes_delete",
    "nodes_move",
    "node_move",
    "node_purge",
    "node_rename",
    "restore_cancel",
    "restore_moment_label",
    "restore_plan",
    "restore_preview",
    "restore_request_of",
    "restore_run",
    "restore_source",
    "restore_start",
    "restore_validate",
    "restores_stalled",
    "restores_stalled_claim",
    "snapshot_create",
    "snapshot_expires_at",
    "snapshots_take_scheduled",
    "store_provision",
    "support_view_record",
    "trash_restore",
    "trash_restore_many",
    "version_restore",
]
