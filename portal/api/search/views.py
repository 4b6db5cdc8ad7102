"""GET /api/v1/search/: validates, calls the store's search selector, serializes."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from portal.api.base import TenantAPIView, page_body, problems, validated_query
from portal.api.search.serializers import SearchHitSerializer, SearchPageSerializer, SearchQuerySerializer
from snapshots.models import Node
from snapshots.selectors.search import search_names
from snapshots.selectors.trash import subtree_bytes_of


class SearchView(TenantAPIView):
    @extend_schema(
        operation_id="search",
        summary="Search by name",
        description=(
            "Files and folders whose name contains `q` (case-insensitive, literally), in the live files or, with "
            "`deleted=true`, in Recently deleted; each with its path and folder. Ranked: the exact name first, then "
            "names starting with `q`, then the rest, newest first within each; one page at a time (a page may hold "
            "fewer than `limit` items and still have a next one)."
        ),
        parameters=[SearchQuerySerializer],
        responses={200: SearchPageSerializer, **problems(400)},
    )
    def get(self, request: Request) -> Response:
        query = validated_query(SearchQuerySerializer, request)
        deleted = query["deleted"] == "true"
        page = search_names(
            tenant=self.tenant,
            text=query["q"],
            deleted=deleted,
            cursor=query.get("cursor") or None,
            limit=query["limit"],
        )
        folders = [hit.version.node_id for hit in page.items if hit.version.kind == Node.Kind.FOLDER]
        context = {"deleted": deleted, "folder_bytes": subtree_bytes_of(tenant=self.tenant, node_ids=folders)}
        items = SearchHitSerializer(page.items, many=True, context=context).data
        return Response(page_body(request, items=items, next_cursor=page.next_cursor))
