"""Input and output shapes of the files, folders, move, trash and activity
endpoints. Paths are passed on exactly as sent and judged by the store
(portal.api.fields)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.api.fields import (
    MAX_DATABASE_ID,
    BodySerializer,
    StrictIntegerField,
    TextField,
    cursor_field,
    limit_field,
    path_field,
    query_path_field,
)
from snapshots.models import Change, Node, NodeVersion
from snapshots.selectors import LISTING_ORDERS, restorable_until
from snapshots.services import OnConflict

# SECTION: query strings and request bodies


class PathQuerySerializer(serializers.Serializer):
    path = query_path_field()


class UploadQuerySerializer(PathQuerySerializer):
    on_conflict = serializers.ChoiceField(
        choices=[choice.value for choice in OnConflict],
        required=False,
        default=OnConflict.REPLACE.value,
        help_text=(
            "When a file already has this name: `replace` it (its content becomes an earlier version), "
            '`keep_both` (the upload takes the next free name, "report (2).pdf"), or `fail` with 409.'
        ),
    )


class FolderListQuerySerializer(serializers.Serializer):
    path = query_path_field(required=False, default="/")
    cursor = cursor_field()
    limit = limit_field(200)
    order = serializers.ChoiceField(choices=list(LISTING_ORDERS), required=False, default="name")


class TrashQuerySerializer(serializers.Serializer):
    path = query_path_field(required=False, help_text="Only items deleted from this (live) folder.")
    q = TextField(
        required=False, allow_blank=True, max_length=255, help_text="Only items whose name contains this text."
    )
    cursor = cursor_field()
    limit = limit_field(100)


class ActivityQuerySerializer(serializers.Serializer):
    cursor = cursor_field()
    limit = limit_field(100)


class FolderCreateSerializer(BodySerializer):
    path = path_field(help_text="The new folder's full path; missing folders on the way are made too.")


class MoveSerializer(BodySerializer):
    """Move and/or rename: ``from`` is where the item is, ``to`` its full new path."""

    # ``from`` is a Python keyword: the field is declared as from_path and
    # exposed under its API name in get_fields.
    from_path = path_field(help_text="What to move or rename.")
    to = path_field(help_text="Its full new path, e.g. /Archive/report.pdf.")

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = fields.pop("from_path")
        return fields


class CopySerializer(MoveSerializer):
    """Copy: ``from`` is the item to copy, ``to`` the copy's full path."""

    from_path = path_field(help_text="What to copy: a file, or a folder with everything in it.")
    to = path_field(help_text="The copy's full path, e.g. /Archive/report.pdf.")


class RestoreSerializer(BodySerializer):
    one_of_required = (("id",), ("path",))

    id = StrictIntegerField(
        required=False, min_value=1, max_value=MAX_DATABASE_ID, help_text="The id of an item in the trash listing."
    )
    path = path_field(
        required=False,
        help_text="The path the item had; the most recently deleted item with that name in that folder comes back.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("id" in attrs) == ("path" in attrs):
            raise serializers.ValidationError("Give either the item's id or its path, not both and not neither.")
        return attrs


# SECTION: responses


class NodeSerializer(serializers.Serializer):
    """A file or folder in the live tree."""

    # Context: ``paths`` (node id → path) and ``folder_bytes`` (node id → bytes below a folder).
    id = serializers.IntegerField(source="node_id", help_text="The item's stable id; it survives renames and moves.")
    name = serializers.CharField()
    path = serializers.SerializerMethodField()
    kind = serializers.ChoiceField(choices=Node.Kind.choices)
    size = serializers.SerializerMethodField(help_text="Bytes: a file's size, or everything below a folder.")
    sha256 = serializers.SerializerMethodField(help_text="A file's SHA-256 (also its ETag); null for a folder.")
    modified_at = serializers.DateTimeField(source="changed_at")
    modified_by = serializers.CharField(source="author_label")

    def get_path(self, version: NodeVersion) -> str:
        return self.context["paths"][version.node_id]

    def get_size(self, version: NodeVersion) -> int:
        if version.kind == Node.Kind.FOLDER:
            return self.context.get("folder_bytes", {}).get(version.node_id, 0)
        return version.size

    def get_sha256(self, version: NodeVersion) -> str | None:
        return version.blob.sha256 if version.kind == Node.Kind.FILE and version.blob is not None else None


class FolderPageSerializer(serializers.Serializer):
    path = serializers.CharField(help_text="The folder listed.")
    items = NodeSerializer(many=True)
    next_cursor = serializers.CharField(
        allow_null=True, help_text="Pass as ?cursor= for the next page; null at the end."
    )
    next = serializers.URLField(allow_null=True, help_text="The next page's URL; null at the end.")


class TrashItemSerializer(serializers.Serializer):
    """A deleted file or folder that can still be restored."""

    # Context: ``paths`` (version id → original path) and ``folder_bytes``
    # (node id → bytes that were below a folder).
    id = serializers.IntegerField(help_text="Pass to POST /api/v1/trash/restore.")
    name = serializers.CharField()
    path = serializers.SerializerMethodField(help_text="Where it was when it was deleted.")
    kind = serializers.ChoiceField(choices=Node.Kind.choices)
    size = serializers.SerializerMethodField()
    deleted_at = serializers.DateTimeField(source="closed_at")
    deleted_by = serializers.CharField(source="closed_by_label")
    restorable_until = serializers.SerializerMethodField()

    def get_path(self, version: NodeVersion) -> str:
        return self.context["paths"][version.pk]

    def get_size(self, version: NodeVersion) -> int:
        if version.kind == Node.Kind.FOLDER:
            return self.context.get("folder_bytes", {}).get(version.node_id, 0)
        return version.size

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_restorable_until(self, version: NodeVersion) -> str:
        return serializers.DateTimeField().to_representation(restorable_until(version))


class TrashPageSerializer(serializers.Serializer):
    items = TrashItemSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)
    next = serializers.URLField(allow_null=True)


class ChangeSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label", help_text="Who made the change.")
    restore_job = serializers.IntegerField(
        source="restore_job_id",
        allow_null=True,
        help_text="The restore job that made the change, item by item (its changes form one group); else null.",
    )

    class Meta:
        model = Change
        fields = ["seq", "at", "action", "path", "previous_path", "actor", "by_support", "restore_job"]
        # One row per change, so a client sees every path a bulk step touched;
        # the rows of one step share its seq (the pages fold them into one entry).
        extra_kwargs = {
            "seq": {
                "help_text": "The step that made the change: every change of one bulk move, delete or "
                "restore shares it, so a client can group them as the pages do."
            }
        }


class ActivityPageSerializer(serializers.Serializer):
    items = ChangeSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)
    next = serializers.URLField(allow_null=True)
