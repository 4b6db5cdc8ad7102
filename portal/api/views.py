"""The account endpoints (me, hubs), Recently deleted and the activity log."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hubs.models import Hub
from portal.api.base import TenantAPIView, page_body, problems, validated_body, validated_query
from portal.api.serializers import (
    ActivityPageSerializer,
    ActivityQuerySerializer,
    ChangeSerializer,
    HubListSerializer,
    HubSerializer,
    MeSerializer,
    NodeSerializer,
    RestoreSerializer,
    TrashItemSerializer,
    TrashPageSerializer,
    TrashQuerySerializer,
)
from portal.api.views_files import folder_listing, node_json
from portal.signed_in import signed_in_user
from snapshots.models import Node
from snapshots.selectors import activity, trash_items
from snapshots.selectors_storage import storage_usage
from snapshots.selectors_trash import subtree_bytes_of, trash_item_at_path, trash_original_paths
from snapshots.services import trash_restore

# SECTION: account


class MeView(TenantAPIView):
    @extend_schema(
        operation_id="me",
        summary="Who and where you are",
        description=(
            "The caller, their workspace (tenant) and role in it, its hub, and its storage use: the live "
            "files the quota counts, and the bytes kept only by history."
        ),
        responses={200: MeSerializer, **problems(403)},
    )
    def get(self, request: Request) -> Response:
        tenant = self.tenant
        usage = storage_usage(tenant=tenant)
        user = signed_in_user(request)
        body = {
            "user": {"id": user.pk, "email": user.email},
            "tenant": {"name": tenant.name, "slug": tenant.slug},
            "role": request.membership.role,  # type: ignore[attr-defined]
            "hub": tenant.hub,
            "storage": {
                "live_bytes": usage.live_bytes,
                "live_files": usage.live_files,
                "history_bytes": usage.history_bytes,
                "quota_bytes": usage.quota_bytes,
                "max_file_bytes": tenant.effective_max_file_bytes,
            },
        }
        return Response(MeSerializer(body).data)


class HubsView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="hubs_list",
        summary="The seven hubs",
        description="Where a workspace's files can live. No authentication needed.",
        responses={200: HubListSerializer},
        auth=[],
    )
    def get(self, request: Request) -> Response:
        hubs = Hub.objects.order_by("sort_order", "code")
        return Response({"items": HubSerializer(hubs, many=True).data})


# SECTION: recently deleted


class TrashView(TenantAPIView):
    @extend_schema(
        operation_id="trash_list",
        summary="List recently deleted items",
        description=(
            "Deleted files and folders that can still be restored, newest first, one page at a time. "
            "`path` keeps only items deleted from that folder; `q` only names containing the text."
        ),
        parameters=[TrashQuerySerializer],
        responses={200: TrashPageSerializer, **problems(400, 404, 409)},
    )
    def get(self, request: Request) -> Response:
        query = validated_query(TrashQuerySerializer, request)
        folder = folder_listing(tenant=self.tenant, path=query["path"])[1] if "path" in query else None
        page = trash_items(
            tenant=self.tenant,
            folder=folder,
            query=query.get("q") or None,
            cursor=query.get("cursor") or None,
            limit=query["limit"],
        )
        context = {
            "paths": trash_original_paths(tenant=self.tenant, items=page.items),
            "folder_bytes": subtree_bytes_of(
                tenant=self.tenant, node_ids=[item.node_id for item in page.items if item.kind == Node.Kind.FOLDER]
            ),
        }
        items = TrashItemSerializer(page.items, many=True, context=context).data
        return Response(page_body(request, items=items, next_cursor=page.next_cursor))


class TrashRestoreView(TenantAPIView):
    @extend_schema(
        operation_id="trash_restore",
        summary="Restore a deleted item",
        description=(
            "Puts one item back where it was, making missing folders again. Name it by its `id` from the trash "
            "listing, or by the `path` it had (the most recently deleted item of that name in that folder). "
            'If the name was taken meanwhile it comes back as "name (restored)". Answers the item with its new path.'
        ),
        request=RestoreSerializer,
        responses={200: NodeSerializer, **problems(400, 403, 404, 409)},
    )
    def post(self, request: Request) -> Response:
        body = validated_body(RestoreSerializer, request)
        version_id = body["id"] if "id" in body else trash_item_at_path(tenant=self.tenant, path=body["path"]).pk
        version = trash_restore(tenant=self.tenant, version_id=version_id, acting_user=signed_in_user(request))
        return Response(node_json(tenant=self.tenant, version=version))


# SECTION: activity


class ActivityView(TenantAPIView):
    @extend_schema(
        operation_id="activity_list",
        summary="The workspace's changes",
        description="Every change to the workspace's files, newest first, one page at a time.",
        parameters=[ActivityQuerySerializer],
        responses={200: ActivityPageSerializer, **problems(400)},
    )
    def get(self, request: Request) -> Response:
        query = validated_query(ActivityQuerySerializer, request)
        page = activity(tenant=self.tenant, cursor=query.get("cursor") or None, limit=query["limit"])
        items = ChangeSerializer(page.items, many=True).data
        return Response(page_body(request, items=items, next_cursor=page.next_cursor))
