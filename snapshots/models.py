"""The versioned store. Data plane: these rows live only in the hub databases
and are reached through ``Model.objects.for_tenant(tenant)``.

History is built into the store: a NodeVersion row is valid on the tenant's
change sequence over ``[valid_from, valid_to)``; the live tree is the rows with
``valid_to IS NULL``. A change closes the current row and opens a new one.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from hubs.dataplane import DataPlaneModel


class TenantClock(DataPlaneModel):
    """The tenant's change sequence, and its space in the hub: one row per
    tenant, made when the tenant is provisioned. ``seq`` is bumped in the same
    transaction as every change. The counters are the live tree's totals,
    kept exact by the services in the same transactions."""

    seq = models.BigIntegerField(default=0)
    root = models.OneToOneField("Node", on_delete=models.PROTECT, related_name="+", null=True)
    provisioned_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant_id"], name="clock_one_per_tenant")]


class Change(DataPlaneModel):
    """What happened at one step of the tenant clock, with its wall time: maps
    "as of 10:42 yesterday" to a sequence number, and is the customer-visible
    activity log. A step that does several things (an upload that made its
    folders, a restore batch) has several rows with the same ``seq``; a
    restore job's rows, item by item over all its batches, carry its id."""

    class Action(models.TextChoices):
        PROVISION = "provision", "Account created"
        CREATE = "create", "Uploaded"
        REPLACE = "replace", "Replaced"
        MKDIR = "mkdir", "Created folder"
        RENAME = "rename", "Renamed"
        MOVE = "move", "Moved"
        DELETE = "delete", "Deleted"
        RESTORE = "restore", "Restored"
        PURGE = "purge", "Purged from history"

    seq = models.BigIntegerField()
    at = models.DateTimeField(db_index=True)
    action = models.CharField(max_length=16, choices=Action.choices)
    actor_user_id = models.BigIntegerField(null=True)
    actor_label = models.CharField(max_length=254, blank=True)
    by_support = models.BooleanField(default=False)
    node_id = models.BigIntegerField(null=True)
    path = models.TextField(blank=True)
    previous_path = models.TextField(blank=True)
    detail = models.TextField(blank=True, help_text="A support action's written reason.")
    restore_job_id = models.BigIntegerField(
        null=True, blank=True, help_text="The restore job that made this change: its changes are shown as one group."
    )

    class Meta:
        ordering = ["-seq"]
        indexes = [
            models.Index(fields=["tenant_id", "seq"], name="change_tenant_seq"),
            models.Index(fields=["tenant_id", "at"], name="change_tenant_at"),
        ]


class Blob(DataPlaneModel):
    """Immutable content, keyed by SHA-256 within one tenant (never across
    tenants). Its bytes are in both facilities of the hub before this row commits."""

    sha256 = models.CharField(max_length=64)
    generation = models.CharField(
        max_length=32,
        help_text="Part of the storage key: bytes written for a row that the collector later removed are never "
        "mistaken for a new row's bytes.",
    )
    size = models.BigIntegerField()
    created_at = models.DateTimeField()
    touched_at = models.DateTimeField(
        help_text="Last time an upload claimed this blob; the collector's grace runs from here."
    )
    needs_replication = models.BooleanField(
        default=False, help_text="The alternate facility was down at upload; the repair job copies it."
    )
    verified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant_id", "sha256"], name="blob_unique_per_tenant")]

    @property
    def storage_key(self) -> str:
        return blob_storage_key(self.tenant_id, self.sha256, self.generation)


def blob_storage_key(tenant_id: int, sha256: str, generation: str) -> str:
    return f"t{tenant_id}/blobs/{sha256[:2]}/{sha256[2:4]}/{sha256}.{generation}"


class Node(DataPlaneModel):
    """A file or folder with a stable id; its names, places and contents over
    time are its versions. The subtree counters describe the live subtree below
    a folder and make folder sizes, quota and snapshot counts O(1) reads."""

    class Kind(models.TextChoices):
        FILE = "file", "File"
        FOLDER = "folder", "Folder"

    kind = models.CharField(max_length=6, choices=Kind.choices)
    created_at = models.DateTimeField()
    subtree_files = models.BigIntegerField(default=0)
    subtree_bytes = models.BigIntegerField(default=0)


class NodeVersion(DataPlaneModel):
    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="versions")
    parent = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="child_versions", null=True)
    name = models.CharField(max_length=255)
    kind = models.CharField(max_length=6, choices=Node.Kind.choices)
    blob = models.ForeignKey(Blob, on_delete=models.PROTECT, null=True, related_name="versions")
    size = models.BigIntegerField(default=0)
    valid_from = models.BigIntegerField()
    valid_to = models.BigIntegerField(null=True)
    changed_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True)
    author_user_id = models.BigIntegerField(null=True)
    author_label = models.CharField(max_length=254, blank=True)
    closed_by_user_id = models.BigIntegerField(null=True)
    closed_by_label = models.CharField(max_length=254, blank=True)
    closed_by_action = models.CharField(max_length=16, blank=True)
    in_trash = models.BooleanField(
        default=False, help_text="This row ended its node's life by a delete, and the node is not back yet."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant_id", "parent", "name"],
                condition=Q(valid_to__isnull=True),
                name="version_unique_live_name",
            ),
            models.UniqueConstraint(
                fields=["node"], condition=Q(valid_to__isnull=True), name="version_one_live_per_node"
            ),
        ]
        indexes = [
            models.Index(fields=["parent", "valid_from"], name="version_parent_from"),
            models.Index(fields=["node", "valid_from"], name="version_node_from"),
            models.Index(fields=["tenant_id", "closed_at"], name="version_tenant_closed"),
            models.Index(fields=["tenant_id", "-closed_at", "-id"], condition=Q(in_trash=True), name="version_trash"),
        ]


class Snapshot(DataPlaneModel):
    """A named point on the tenant's clock. Taking one is an insert: the
    history it points into is already in the store."""

    class Kind(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        MANUAL = "manual", "Manual"
        PRE_RESTORE = "pre_restore", "Before a restore"

    seq = models.BigIntegerField()
    taken_at = models.DateTimeField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    label = models.CharField(max_length=200, blank=True)
    file_count = models.BigIntegerField(default=0)
    byte_count = models.BigIntegerField(default=0)
    created_by_user_id = models.BigIntegerField(null=True)
    created_by_label = models.CharField(max_length=254, blank=True)

    class Meta:
        ordering = ["-taken_at", "-id"]
        indexes = [models.Index(fields=["tenant_id", "-taken_at"], name="snapshot_tenant_taken")]


class RestoreJob(DataPlaneModel):
    """A restore: its request, its progress and its outcome. The task that runs
    it commits each batch of items together with ``done_items``, so a worker
    killed mid-job resumes exactly where the last batch ended."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    class Conflict(models.TextChoices):
        RENAME = "rename", "Keep both (rename the restored item)"
        OVERWRITE = "overwrite", "Overwrite what is there now"
        SKIP = "skip", "Skip items whose name is taken"

    class Mode(models.TextChoices):
        MERGE = "merge", "Merge into what is there now"
        EXACT = "exact", "Exactly as it was (what was made since goes to Recently deleted)"

    FINISHED_STATES = (State.SUCCEEDED, State.FAILED, State.CANCELLED)

    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    snapshot = models.ForeignKey(Snapshot, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    source_seq = models.BigIntegerField()
    source_at = models.DateTimeField()
    paths = models.JSONField(default=list, help_text="Restored paths; empty means everything.")
    target = models.TextField(blank=True, help_text="Empty: the original location; else the folder restored into.")
    conflict = models.CharField(max_length=16, choices=Conflict.choices, default=Conflict.RENAME)
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.MERGE)
    requested_by_user_id = models.BigIntegerField(null=True)
    requested_by_label = models.CharField(max_length=254, blank=True)
    by_support = models.BooleanField(default=False)
    pre_restore_snapshot = models.ForeignKey(
        Snapshot, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    total_items = models.BigIntegerField(default=0)
    done_items = models.BigIntegerField(default=0)
    restored = models.BigIntegerField(default=0)
    renamed = models.BigIntegerField(default=0)
    overwritten = models.BigIntegerField(default=0)
    skipped = models.BigIntegerField(default=0)
    unchanged = models.BigIntegerField(default=0)
    failed = models.BigIntegerField(default=0)
    removed = models.BigIntegerField(
        default=0, help_text="Exact mode: items not in the source, sent to Recently deleted."
    )
    failures = models.JSONField(default=list, help_text="Up to 1,000 {path, reason} of items that failed.")
    cancel_requested = models.BooleanField(default=False)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last batch committed by a worker.")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant_id", "-created_at"], name="restore_tenant_created"),
            models.Index(fields=["state", "heartbeat_at"], name="restore_state_heartbeat"),
        ]

    @property
    def is_finished(self) -> bool:
        return self.state in self.FINISHED_STATES

    @property
    def progress_percent(self) -> int:
        if not self.total_items:
            return 100 if self.is_finished else 0
        return min(100, int(self.done_items * 100 / self.total_items))


class RestoreFolderMap(DataPlaneModel):
    """Which folder a restore made (or merged into) for each source folder, so
    a resumed job puts the rest of a folder's items where the first part went."""

    job = models.ForeignKey(RestoreJob, on_delete=models.CASCADE, related_name="+")
    source_node_id = models.BigIntegerField()
    target_node_id = models.BigIntegerField(null=True, help_text="Empty: the folder was skipped with its contents.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "source_node_id"], name="restore_map_unique_source")]


class HubHeartbeat(models.Model):
    """One row per hub, in that hub's database: the hub database's write probe
    updates it every round. Not a tenant's row, so it is reached with
    ``.using(hub_database_alias(code))`` rather than ``for_tenant``."""

    hub_code = models.CharField(max_length=2, unique=True)
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.hub_code} at {self.at:%Y-%m-%d %H:%M:%S}"


class ScrubFinding(DataPlaneModel):
    """One copy of a blob that a scrub pass found missing or corrupt (and
    whether it was repaired from the other facility), or a blob with no good
    copy anywhere (``lost``). Kept in the blob's hub: it names ids, and support
    reaches the files it affects only through the hub."""

    class Kind(models.TextChoices):
        MISSING = "missing", "Missing"
        CORRUPT = "corrupt", "Corrupt"
        LOST = "lost", "Lost (no good copy in any facility)"

    blob_id = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    facility = models.CharField(max_length=16, blank=True, help_text="The facility's role; blank for a lost blob.")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    pass_started_at = models.DateTimeField(help_text="The pass that found it.")
    found_at = models.DateTimeField()
    found_by = models.CharField(
        max_length=8,
        choices=[("scrub", "A scrub pass"), ("download", "A download that did not verify")],
        default="scrub",
    )
    repaired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["kind", "repaired_at"], name="scrub_finding_open")]

    def __str__(self) -> str:
        return f"blob {self.blob_id} {self.kind} {self.facility or 'everywhere'}"


class SupportView(DataPlaneModel):
    """A support staff member looked at a tenant's names: one folder of a
    snapshot or a moment, in the admin. Kept in the tenant's hub, with the path,
    so the names never reach the control plane; the control-plane audit entry
    (``tenant.browse``) names only this row's id."""

    at = models.DateTimeField()
    staff_user_id = models.BigIntegerField()
    staff_label = models.CharField(max_length=254)
    snapshot_id = models.BigIntegerField(null=True, blank=True)
    seq = models.BigIntegerField(help_text="The tenant clock value the folder was read as of.")
    path = models.TextField()

    class Meta:
        indexes = [models.Index(fields=["tenant_id", "-at"], name="support_view_tenant_at")]

    def __str__(self) -> str:
        return f"support view {self.pk} of tenant {self.tenant_id}"


class ScrubPass(models.Model):
    """One scheduled scrub pass over every blob of a hub, in that hub's
    database: the cursor a killed worker resumes from, and the pass's counts.
    Not a tenant's row, so it is reached with ``.using(hub_database_alias(code))``.
    At most one pass of a hub is unfinished; a new one starts when
    ``HUBPORT_SCRUB_INTERVAL_DAYS`` have passed since the last one started."""

    hub_code = models.CharField(max_length=2)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    after_blob_pk = models.BigIntegerField(default=0, help_text="Every blob up to this id has been checked.")
    checked = models.BigIntegerField(default=0)
    repaired = models.BigIntegerField(default=0)
    lost = models.BigIntegerField(default=0)
    bytes = models.BigIntegerField(default=0)
    seconds = models.FloatField(default=0.0)
    slices = models.IntegerField(default=0)
    claimed_until = models.DateTimeField(
        null=True, blank=True, help_text="A slice works on the pass until then; a killed one's claim runs out."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hub_code"], condition=Q(finished_at__isnull=True), name="scrub_pass_one_open_per_hub"
            )
        ]
        indexes = [models.Index(fields=["hub_code", "-started_at"], name="scrub_pass_hub_started")]

    def __str__(self) -> str:
        return f"scrub of {self.hub_code} from {self.started_at:%Y-%m-%d %H:%M}"


class DavLock(DataPlaneModel):
    """A WebDAV lock (RFC 4918 section 6) a client holds on a path of the live
    tree, in the tenant's hub like the path itself. ``path`` is the lock's root
    as a WebDAV URL path below the workspace (``/`` is the workspace itself,
    names percent-encoded as the client's URLs are). A lock past
    ``expires_at`` is gone: not returned, and deleted when seen."""

    token = models.CharField(max_length=100)
    path = models.TextField()
    depth = models.CharField(max_length=8, help_text="0 or infinity.")
    scope = models.CharField(max_length=16, help_text="exclusive or shared.")
    lock_type = models.CharField(max_length=16, default="write")
    owner = models.TextField(blank=True, help_text="The client's DAV:owner element, as XML.")
    principal = models.CharField(max_length=64, help_text="Who took it: user-<id>, never an email.")
    timeout_seconds = models.FloatField()
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["token"], name="dav_lock_token_unique")]
        indexes = [models.Index(fields=["tenant_id", "expires_at"], name="dav_lock_tenant_expiry")]


class DavProperty(DataPlaneModel):
    """A WebDAV dead property (PROPPATCH) of a path of the live tree. Paths are
    WebDAV URL paths below the workspace, as for DavLock; ``folder`` is the
    path's parent, so a PROPFIND of a folder reads its members' properties in
    one query. The keys are SHA-256 of the paths (a path may be longer than an
    index entry may)."""

    path = models.TextField()
    path_key = models.CharField(max_length=64)
    folder_key = models.CharField(max_length=64)
    name = models.CharField(max_length=255, help_text="{namespace}local-name")
    value = models.TextField(help_text="The property element, as XML.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant_id", "path_key", "name"], name="dav_property_unique"),
        ]
        indexes = [models.Index(fields=["tenant_id", "folder_key"], name="dav_property_folder")]
