"""Input and output shapes of the snapshots, restores and file versions
endpoints. As in portal.api.fields, paths are passed on exactly as sent
and judged by the store."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from hubs.models import Tenant
from portal.api.fields import (
    MAX_PATH_LENGTH,
    PATH_PATTERN,
    BodySerializer,
    PathField,
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
    TextField,
    cursor_field,
    limit_field,
    path_field,
    query_path_field,
)
from portal.api.files.serializers import NodeSerializer
from snapshots.models import Node, NodeVersion, RestoreJob, Snapshot
from snapshots.selectors import LISTING_ORDERS, restorable_until
from snapshots.services import RestoreRequest, snapshot_expires_at
from snapshots.services.restore_request import MAX_RESTORE_PATHS


def _datetime(value: datetime | None) -> str | None:
    return serializers.DateTimeField().to_representation(value) if value is not None else None


# SECTION: query strings and request bodies


class PageQuerySerializer(serializers.Serializer):
    cursor = cursor_field()
    limit = limit_field(100)


class SnapshotFolderQuerySerializer(serializers.Serializer):
    path = query_path_field(required=False, default="/", help_text="A folder as it was when the snapshot was taken.")
    cursor = cursor_field()
    limit = limit_field(200)
    order = serializers.ChoiceField(choices=list(LISTING_ORDERS), required=False, default="name")


class SnapshotFileQuerySerializer(serializers.Serializer):
    path = query_path_field(help_text="A file as it was when the snapshot was taken.")


class FileVersionsQuerySerializer(serializers.Serializer):
    path = query_path_field(help_text="A file, or the path of a file deleted from there within the retention period.")
    cursor = cursor_field()
    limit = limit_field(100)


class SnapshotCreateSerializer(BodySerializer):
    label = TextField(  # type: ignore[assignment]  # a declared field, not Field.label
        required=False, allow_blank=True, default="", max_length=200, help_text="A note to find the snapshot by."
    )


class SnapshotScheduleSerializer(BodySerializer):
    schedule = serializers.ChoiceField(
        choices=Tenant.SnapshotSchedule.choices,
        help_text="How often a scheduled snapshot is taken: hourly, every 4 hours (4h) or daily.",
    )


class MomentField(serializers.DateTimeField):
    """An ISO 8601 moment, passed on as sent: one without a time zone stays
    without one, and the restore service refuses it (a naive time would be
    read in the server's zone, which is nobody's intention). One with its
    offset stays in that offset too: the service only compares it, and
    converting 0001-01-01T00:00:00Z to the caller's zone overflowed, a 400
    "out of range" where any other moment that long ago is outside the
    retention period (422), as one in the future is."""

    def enforce_timezone(self, value: datetime) -> datetime:
        return value


@extend_schema_field(serializers.ChoiceField(choices=RestoreJob.Conflict.choices))
class ConflictField(StrictCharField):
    """A conflict policy, passed on as sent: the restore service knows the policies."""


@extend_schema_field(serializers.ChoiceField(choices=RestoreJob.Mode.choices))
class ModeField(StrictCharField):
    """A restore mode, passed on as sent: the restore service knows the modes."""


@extend_schema_field({"type": "string", "pattern": f"^original$|{PATH_PATTERN}"})
class RestoreTargetField(PathField):
    """Either "original" or the absolute path of a folder to restore into. A
    blank one is the restore service's to refuse, with its reason, as it does
    for the page and the admin (docs/style.md, one input per use case)."""


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "string", "minLength": 1, "maxLength": MAX_PATH_LENGTH, "pattern": PATH_PATTERN},
        "minItems": 1,
        "maxItems": MAX_RESTORE_PATHS,
    }
)
class RestorePathsField(serializers.ListField):
    """The schema says at most 1,000; the restore service refuses more, with
    its reason, for every edge alike."""


class RestoreRequestSerializer(BodySerializer):
    """A restore request, parsed; the restore service decides every rule about
    it, as it does for the pages and the admin. Unknown fields are refused: a
    misspelt ``paths`` would otherwise restore everything."""

    one_of_required = (("snapshot",), ("at",))

    snapshot = StrictIntegerField(required=False, help_text="Restore from this snapshot's id ...")
    at = MomentField(
        required=False,
        help_text=f"... or from this moment (ISO 8601 with a time zone), within the last "
        f"{settings.SNAPSHOT_RETENTION_DAYS} days. Give exactly one of snapshot and at.",
    )
    paths = RestorePathsField(
        child=path_field(),
        required=False,
        allow_empty=False,
        help_text="Files and folders to restore, as they were then (at most 1,000). Leave out to restore everything.",
    )
    target = RestoreTargetField(
        required=False,
        default="original",
        trim_whitespace=False,
        max_length=MAX_PATH_LENGTH,
        allow_blank=True,
        help_text='"original" (the default) puts items back where they were; a folder path restores into that folder.',
    )
    conflict = ConflictField(
        required=False,
        default=RestoreJob.Conflict.RENAME,
        help_text='When a name is taken: "rename" keeps both, "overwrite" replaces it (a pre-restore snapshot '
        'keeps what was there), "skip" leaves it.',
    )
    mode = ModeField(
        required=False,
        default=RestoreJob.Mode.MERGE,
        help_text='"merge" (the default) brings items back beside what is there now; "exact" makes a folder '
        "(one of `paths`) or everything exactly as it was: what was made since moves to Recently deleted, names "
        "taken are overwritten (`conflict` does not apply), and no `target` is taken. The pre-restore snapshot "
        "undoes it: an exact restore from it brings back the tree before.",
    )
    dry_run = StrictBooleanField(
        required=False, default=False, help_text="Answer what the restore would do, and change nothing."
    )


def restore_request_of_body(body: dict[str, Any]) -> RestoreRequest:
    """The restore request a validated body asks for."""
    return RestoreRequest(
        snapshot_id=body.get("snapshot"),
        at=body.get("at"),
        paths=tuple(body.get("paths") or ()),
        target=None if body["target"] == "original" else body["target"],
        conflict=body["conflict"],
        mode=body["mode"],
    )


# SECTION: responses


class SnapshotSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    taken_at = serializers.DateTimeField()
    kind = serializers.ChoiceField(choices=Snapshot.Kind.choices)
    label = serializers.CharField()  # type: ignore[assignment]  # a declared field, not Field.label
    file_count = serializers.IntegerField(help_text="Files in the tree at that moment.")
    byte_count = serializers.IntegerField(help_text="Their bytes.")
    expires_at = serializers.SerializerMethodField(help_text="When the snapshot leaves the retention period.")
    created_by = serializers.CharField(source="created_by_label", help_text="Empty for a scheduled snapshot.")

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_expires_at(self, snapshot: Snapshot) -> str | None:
        return _datetime(snapshot_expires_at(snapshot))


class SnapshotPageSerializer(serializers.Serializer):
    items = SnapshotSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)
    next = serializers.URLField(allow_null=True)


class SnapshotNodeSerializer(NodeSerializer):
    """A file or folder as it was when the snapshot was taken. A folder's size
    then is not kept (counting it means walking its whole subtree): null."""

    size = serializers.SerializerMethodField(help_text="A file's bytes; null for a folder.")

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    # Narrower than NodeSerializer.get_size on purpose: a folder's size then is null.
    def get_size(self, version: NodeVersion) -> int | None:  # type: ignore[override]
        return version.size if version.kind == Node.Kind.FILE else None


class SnapshotFolderPageSerializer(serializers.Serializer):
    snapshot = serializers.IntegerField()
    taken_at = serializers.DateTimeField(help_text="The moment the listing shows.")
    path = serializers.CharField()
    items = SnapshotNodeSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)
    next = serializers.URLField(allow_null=True)


class FileVersionSerializer(serializers.Serializer):
    id = serializers.IntegerField(
        help_text="Download with GET .../versions/{id}/content, restore with POST .../restore."
    )
    name = serializers.CharField(help_text="The file's name in this version (renames make versions too).")
    size = serializers.IntegerField()
    sha256 = serializers.SerializerMethodField()
    modified_at = serializers.DateTimeField(source="changed_at", help_text="When this version was made.")
    modified_by = serializers.CharField(source="author_label")
    current = serializers.SerializerMethodField(help_text="This is the file's content now.")
    valid_until = serializers.DateTimeField(
        source="closed_at", allow_null=True, help_text="When it was replaced or deleted; null while current."
    )
    restorable_until = serializers.SerializerMethodField(
        help_text="When it leaves the retention period; null while current."
    )

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_sha256(self, version: NodeVersion) -> str | None:
        return version.blob.sha256 if version.blob is not None else None

    def get_current(self, version: NodeVersion) -> bool:
        return version.valid_to is None

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_restorable_until(self, version: NodeVersion) -> str | None:
        if version.closed_at is None:
            return None
        return _datetime(restorable_until(version))


class FileVersionPageSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The file's stable id.")
    path = serializers.CharField()
    deleted = serializers.BooleanField(help_text="The file is in Recently deleted; no version is current.")
    items = FileVersionSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)
    next = serializers.URLField(allow_null=True)


class RestoreProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField(source="done_items")
    total = serializers.IntegerField(source="total_items", help_text="0 until the worker has planned the job.")
    percent = serializers.IntegerField(source="progress_percent")


class RestoreSummarySerializer(serializers.Serializer):
    restored = serializers.IntegerField()
    renamed = serializers.IntegerField()
    overwritten = serializers.IntegerField()
    skipped = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    failed = serializers.IntegerField()
    removed = serializers.IntegerField(help_text="An exact restore: items not there then, moved to Recently deleted.")


class RestoreFailureSerializer(serializers.Serializer):
    path = serializers.CharField()
    reason = serializers.CharField()


class RestoreSourceSerializer(serializers.Serializer):
    snapshot = serializers.IntegerField(
        source="snapshot_id", allow_null=True, help_text="null: a moment, or a snapshot that has expired since."
    )
    at = serializers.DateTimeField(source="source_at", help_text="The moment restored from.")


class RestoreJobSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.SerializerMethodField(help_text="This job's URL, to poll.")
    state = serializers.ChoiceField(choices=RestoreJob.State.choices)
    progress = RestoreProgressSerializer(source="*")
    summary = RestoreSummarySerializer(source="*")
    failures = RestoreFailureSerializer(many=True, help_text="Up to 1,000 items that failed, with the reason.")
    error = serializers.CharField(help_text="Why a failed job stopped; empty otherwise.")
    source = RestoreSourceSerializer(source="*")  # type: ignore[assignment]  # a declared field, not Field.source
    paths = serializers.ListField(child=serializers.CharField(), help_text="Empty: everything.")
    target = serializers.SerializerMethodField(help_text='"original", or the folder restored into.')
    conflict = serializers.ChoiceField(choices=RestoreJob.Conflict.choices)
    mode = serializers.ChoiceField(choices=RestoreJob.Mode.choices)
    pre_restore_snapshot = serializers.IntegerField(
        source="pre_restore_snapshot_id", allow_null=True, help_text="Restore from it to undo this restore."
    )
    cancel_requested = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    requested_by = serializers.CharField(source="requested_by_label")
    by_support = serializers.BooleanField()

    def get_url(self, job: RestoreJob) -> str:
        return self.context["request"].build_absolute_uri(reverse("api_restore", kwargs={"job_id": job.pk}))

    def get_target(self, job: RestoreJob) -> str:
        return job.target or "original"


class RestoreJobPageSerializer(serializers.Serializer):
    items = RestoreJobSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)
    next = serializers.URLField(allow_null=True)


class RestorePreviewItemSerializer(serializers.Serializer):
    action = serializers.ChoiceField(
        choices=["restored", "renamed", "overwritten", "skipped", "unchanged", "failed", "removed"]
    )
    path = serializers.CharField(help_text="Where the item would go (removed: where it is now).")
    reason = serializers.CharField(required=False)


class RestoreTotalSerializer(serializers.Serializer):
    items = serializers.IntegerField()
    files = serializers.IntegerField(help_text="Files, those inside removed folders included.")
    bytes = serializers.IntegerField()


class RestorePreviewTotalsSerializer(serializers.Serializer):
    back = RestoreTotalSerializer()
    removed = RestoreTotalSerializer()


class RestoreRemovalSerializer(serializers.Serializer):
    path = serializers.CharField(help_text="Where it is now.")
    kind = serializers.ChoiceField(choices=Node.Kind.choices)


class RestorePreviewSerializer(serializers.Serializer):
    dry_run = StrictBooleanField(help_text="Always true: nothing was changed.")
    counts = RestoreSummarySerializer()
    total_items = serializers.IntegerField()
    items = RestorePreviewItemSerializer(many=True, help_text="The first 1,000 items, in the order they would go.")
    failures = RestoreFailureSerializer(many=True)
    mode = serializers.ChoiceField(choices=RestoreJob.Mode.choices)
    totals = RestorePreviewTotalsSerializer(
        help_text="What comes back (restored, renamed or overwritten) and what an exact restore removes."
    )
    removals = RestoreRemovalSerializer(
        many=True, help_text="An exact restore: the first 1,000 items it moves to Recently deleted."
    )
