"""Many items at once over the API: move, delete, restore from Recently
deleted, and download as one zip. Each is one request and, for the writes,
one transaction and one step of the activity log (snapshots.services.bulk):
a refusal of any item changes nothing."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from hubs.roles import Action
from portal.api.base import TenantAPIView, problems, validated_body
from portal.api.fields import MAX_DATABASE_ID, BodySerializer, StrictIntegerField, path_field
from portal.api.files.serializers import NodeSerializer
from portal.api.files.views import nodes_json
from portal.signed_in import signed_in_user
from portal.zips import zip_response
from snapshots.paths import join_path, split_path
from snapshots.services import nodes_delete, nodes_move, trash_restore_many


def _paths_field(**kwargs: Any) -> serializers.ListField:
    return serializers.ListField(
        child=path_field(),
        min_length=1,
        max_length=settings.HUBPORT_BULK_MAX_ITEMS,
        help_text=f"Absolute paths, at most {settings.HUBPORT_BULK_MAX_ITEMS:,}. "
        "An item inside another chosen folder comes with its folder.",
        **kwargs,
    )


class BulkPathsSerializer(BodySerializer):
    paths = _paths_field()


class BulkMoveSerializer(BodySerializer):
    paths = _paths_field()
    to = path_field(help_text="The folder they move into, under their own names; it must exist.")


class BulkRestoreSerializer(BodySerializer):
    ids = serializers.ListField(
        child=StrictIntegerField(min_value=1, max_value=MAX_DATABASE_ID),
        min_length=1,
        max_length=settings.HUBPORT_BULK_MAX_ITEMS,
        help_text="Ids of items in the trash listing.",
    )


class BulkNodesSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    items = NodeSerializer(many=True)


class BulkDeletedSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    paths = serializers.ListField(child=serializers.CharField(), help_text="Where the deleted items were.")


class BulkMoveView(TenantAPIView):
    @extend_schema(
        operation_id="files_bulk_move",
        summary="Move several files and folders into one folder",
        description="All move, or none does (a taken name, a missing item: 409 or 404, and nothing changes).",
        request=BulkMoveSerializer,
        responses={200: BulkNodesSerializer, **problems(400, 403, 404, 409, 423)},
    )
    def post(self, request: Request) -> Response:
        body = validated_body(BulkMoveSerializer, request)
        moved = nodes_move(
            tenant=self.tenant, paths=body["paths"], to_folder=body["to"], acting_user=signed_in_user(request)
        )
        items = nodes_json(tenant=self.tenant, versions=moved)
        return Response({"count": len(items), "items": items})


class BulkDeleteView(TenantAPIView):
    @extend_schema(
        operation_id="files_bulk_delete",
        summary="Delete several files and folders",
        description="All go to Recently deleted, or none does.",
        request=BulkPathsSerializer,
        responses={200: BulkDeletedSerializer, **problems(400, 403, 404, 423)},
    )
    def post(self, request: Request) -> Response:
        body = validated_body(BulkPathsSerializer, request)
        deleted = nodes_delete(tenant=self.tenant, paths=body["paths"], acting_user=signed_in_user(request))
        paths = sorted({join_path(split_path(path)) for path in body["paths"]})
        return Response({"count": len(deleted), "paths": paths})


class BulkTrashRestoreView(TenantAPIView):
    @extend_schema(
        operation_id="trash_bulk_restore",
        summary="Restore several deleted items",
        description='Each comes back where it was ("name (restored)" if its name was taken); all, or none.',
        request=BulkRestoreSerializer,
        responses={200: BulkNodesSerializer, **problems(400, 403, 404, 409, 507)},
    )
    def post(self, request: Request) -> Response:
        body = validated_body(BulkRestoreSerializer, request)
        restored = trash_restore_many(tenant=self.tenant, version_ids=body["ids"], acting_user=signed_in_user(request))
        items = nodes_json(tenant=self.tenant, versions=restored)
        return Response({"count": len(items), "items": items})


class ZipView(TenantAPIView):
    role_actions = {"POST": Action.READ}  # a POST only because a list of paths does not fit a URL

    @extend_schema(
        operation_id="files_zip",
        summary="Download files and folders as one zip",
        description=(
            "Streams a zip of the chosen items and everything in them, named by their paths under the folder "
            "they share. Refused with 413 past the zip size limit, before any byte is sent."
        ),
        request=BulkPathsSerializer,
        responses={
            (200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="The zip."),
            **problems(400, 404, 413),
        },
    )
    def post(self, request: Request) -> Any:
        body = validated_body(BulkPathsSerializer, request)
        return zip_response(tenant=self.tenant, paths=body["paths"], archive_name="Hubport files.zip")
