"""Input and output shapes of GET /api/v1/search/."""

from __future__ import annotations

from datetime import datetime

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.api.fields import TextField, cursor_field, limit_field
from snapshots.models import Node, NodeVersion
from snapshots.selectors import restorable_until
from snapshots.selectors.search import MAX_QUERY_CHARS, SearchHit


class SearchQuerySerializer(serializers.Serializer):
    q = TextField(
        max_length=MAX_QUERY_CHARS,
        trim_whitespace=False,
        help_text=(
            "Part of a name, matched literally and case-insensitively (no character is an operator). "
            "With a `/`, the part after the last `/` is matched in names and the whole text in paths."
        ),
    )
    deleted = serializers.ChoiceField(
        choices=["false", "true"],
        required=False,
        default="false",
        help_text="`true` searches Recently deleted instead of the live files.",
    )
    cursor = cursor_field()
    limit = limit_field(50)


class SearchHitSerializer(serializers.Serializer):
    """A file or folder whose name matched."""

    # Context: ``folder_bytes`` (node id → bytes below a folder) and ``deleted``.
    id = serializers.SerializerMethodField(
        help_text="A live item's stable id; a deleted item's id for POST /api/v1/trash/restore."
    )
    name = serializers.SerializerMethodField()
    path = serializers.CharField(help_text="Its path; for a deleted item, where it was when it was deleted.")
    folder = serializers.SerializerMethodField(help_text="The folder it is (or was) in.")
    kind = serializers.SerializerMethodField()
    size = serializers.SerializerMethodField(help_text="Bytes: a file's size, or everything below a folder.")
    modified_at = serializers.SerializerMethodField()
    deleted_at = serializers.SerializerMethodField(help_text="Null for a live item.")
    restorable_until = serializers.SerializerMethodField(help_text="Null for a live item.")

    def get_id(self, hit: SearchHit) -> int:
        return hit.version.pk if self.context["deleted"] else hit.version.node_id

    def get_name(self, hit: SearchHit) -> str:
        return hit.version.name

    def get_folder(self, hit: SearchHit) -> str:
        return hit.path.rsplit("/", 1)[0] or "/"

    @extend_schema_field(serializers.ChoiceField(choices=Node.Kind.choices))
    def get_kind(self, hit: SearchHit) -> str:
        return hit.version.kind

    def get_size(self, hit: SearchHit) -> int:
        version: NodeVersion = hit.version
        if version.kind == Node.Kind.FOLDER:
            return self.context["folder_bytes"].get(version.node_id, 0)
        return version.size

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_modified_at(self, hit: SearchHit) -> str:
        return self._moment(hit.version.changed_at) or ""

    @extend_schema_field({"type": "string", "format": "date-time", "nullable": True})
    def get_deleted_at(self, hit: SearchHit) -> str | None:
        return self._moment(hit.version.closed_at) if self.context["deleted"] else None

    @extend_schema_field({"type": "string", "format": "date-time", "nullable": True})
    def get_restorable_until(self, hit: SearchHit) -> str | None:
        return self._moment(restorable_until(hit.version)) if self.context["deleted"] else None

    @staticmethod
    def _moment(value: datetime | None) -> str | None:
        return serializers.DateTimeField().to_representation(value) if value is not None else None


class SearchPageSerializer(serializers.Serializer):
    items = SearchHitSerializer(many=True)
    next_cursor = serializers.CharField(
        allow_null=True, help_text="Pass as ?cursor= for the next page; null at the end."
    )
    next = serializers.URLField(allow_null=True, help_text="The next page's URL; null at the end.")
