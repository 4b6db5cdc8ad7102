"""POST /api/v1/files/bulk: many files in one request, as a tar stream
(``snapshots.services.ingest``: why tar, and which refusals refuse a member or
the whole batch)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import UnsupportedMediaType
from rest_framework.request import Request
from rest_framework.response import Response

from hubs.display import bytes_label
from portal.api.base import TenantAPIView, problems, validated_query
from portal.api.fields import query_path_field
from portal.api.files.serializers import UploadQuerySerializer
from portal.api.files.views import BodyStreamParser
from portal.signed_in import signed_in_user
from portal.uploads import upload_body
from snapshots.models import Node
from snapshots.services import IngestResult, OnConflict, files_ingest_tar
from snapshots.services.ingest import OUTCOMES, Outcome

TAR_CONTENT_TYPE = "application/x-tar"


class BulkUploadQuerySerializer(UploadQuerySerializer):
    path = query_path_field(
        required=False,
        default="/",
        help_text="The folder the archive's members go into (made if missing); their names are relative to it.",
    )


class IngestItemSerializer(serializers.Serializer):
    path = serializers.CharField(
        help_text="Where the member went (with keep_both, the name it took); for a refused member, its name as sent."
    )
    kind = serializers.ChoiceField(choices=Node.Kind.choices)
    status = serializers.ChoiceField(
        choices=list(OUTCOMES),
        help_text="created, replaced (the earlier content stays restorable), unchanged (same bytes: no new "
        "version), folder (made or already there), or refused (see code and detail; nothing of it was stored).",
    )
    id = serializers.IntegerField(source="node_id", allow_null=True, help_text="The item's id; null when refused.")
    size = serializers.IntegerField()
    sha256 = serializers.CharField(allow_null=True)
    code = serializers.CharField(
        allow_null=True, help_text="Why it was refused: invalid_path, name_taken, wrong_kind, file_too_large."
    )
    detail = serializers.CharField(allow_null=True)


class IngestResultSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Members in the archive.")
    created = serializers.IntegerField()
    replaced = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    refused = serializers.IntegerField()
    seq = serializers.IntegerField(
        allow_null=True, help_text="The activity step the batch took (one for the whole batch); null if none."
    )
    items = IngestItemSerializer(many=True, help_text="One per member, in the archive's order.")


def ingest_json(result: IngestResult) -> dict[str, Any]:
    items = [
        {
            "path": item.path,
            "kind": item.kind,
            "status": item.status,
            "node_id": item.node_id if item.status != Outcome.REFUSED else None,
            "size": item.size,
            "sha256": item.sha256 or None,
            "code": item.code or None,
            "detail": item.detail or None,
        }
        for item in result.items
    ]
    counts = {status: result.count(status) for status in ("created", "replaced", "unchanged", "refused")}
    return IngestResultSerializer({"count": len(items), "seq": result.seq, "items": items, **counts}).data


class BulkUploadView(TenantAPIView):
    parser_classes = [BodyStreamParser]

    @extend_schema(
        operation_id="files_bulk_upload",
        summary="Upload many files at once (a tar stream)",
        description=(
            "The body is a tar archive (`Content-Type: application/x-tar`, e.g. `tar -cf - -C folder .`): each "
            "regular file becomes a file under `path` at its name in the archive, each folder a folder. The "
            "batch is stored in one transaction and one step of the activity log, each file with its own "
            "version. A member that one file could not be (a bad name, over your file size limit, a link, the "
            "same path twice, a taken name with `on_conflict=fail`) is refused in its own outcome and the rest "
            "is stored. The whole batch is refused, with nothing stored, when it would pass your quota (507), "
            "carries more than "
            f"{settings.HUBPORT_BULK_MAX_ITEMS:,} members or "
            f"{bytes_label(settings.HUBPORT_BULK_UPLOAD_MAX_BYTES)} (413), or is not a complete tar stream (400)."
        ),
        parameters=[BulkUploadQuerySerializer],
        request={TAR_CONTENT_TYPE: OpenApiTypes.BINARY},
        responses={
            200: OpenApiResponse(IngestResultSerializer, description="Each member's outcome."),
            **problems(
                400,
                409,
                411,
                413,
                415,
                503,
                507,
                s400="Invalid input: a bad folder path, or a body that is not a complete tar stream.",
                s409="The folder `path` is a file.",
                s413="More members or bytes than one batch may carry.",
                s415="The body is not sent as application/x-tar.",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        query = validated_query(BulkUploadQuerySerializer, request)
        if request.content_type.split(";")[0].strip().lower() != TAR_CONTENT_TYPE:
            raise UnsupportedMediaType(
                request.content_type, detail=f"Send the files as one tar stream, Content-Type: {TAR_CONTENT_TYPE}."
            )
        stream, _content_length = upload_body(request._request)
        result = files_ingest_tar(
            tenant=self.tenant,
            folder=query["path"],
            stream=stream,
            acting_user=signed_in_user(request),
            on_conflict=OnConflict(query["on_conflict"]),
        )
        return Response(ingest_json(result))
