"""The files endpoints: list a folder, upload and download a file, make a
folder, move or rename, delete; Recently deleted and the activity log. Each
validates, calls one store function and serializes its result."""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO, Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from hubs.models import Tenant
from portal.api.base import DOWNLOAD_CONTENT_TYPE, TenantAPIView, page_body, problems, validated_body, validated_query
from portal.api.files.serializers import (
    ActivityPageSerializer,
    ActivityQuerySerializer,
    ChangeSerializer,
    CopySerializer,
    FolderCreateSerializer,
    FolderListQuerySerializer,
    FolderPageSerializer,
    MoveSerializer,
    NodeSerializer,
    PathQuerySerializer,
    RestoreSerializer,
    TrashItemSerializer,
    TrashPageSerializer,
    TrashQuerySerializer,
    UploadQuerySerializer,
)
from portal.downloads import file_download_response
from portal.signed_in import signed_in_user
from portal.uploads import upload_body
from snapshots.errors import PreconditionFailed, WrongKind
from snapshots.models import Node, NodeVersion
from snapshots.paths import join_path, split_path
from snapshots.selectors import activity, folder_children, node_at_path, path_of, trash_items
from snapshots.selectors.lookup import path_lookup
from snapshots.selectors.search import live_paths
from snapshots.selectors.trash import subtree_bytes_of, trash_item_at_path, trash_original_paths
from snapshots.services import (
    OnConflict,
    file_write,
    folder_create,
    node_copy,
    node_delete,
    node_move,
    trash_restore,
)


def node_json(*, tenant: Tenant, version: NodeVersion, path: str | None = None) -> dict[str, Any]:
    """One live item, with its current path (``path`` when the caller knows it)."""
    folder_bytes = (
        subtree_bytes_of(tenant=tenant, node_ids=[version.node_id]) if version.kind == Node.Kind.FOLDER else {}
    )
    context = {
        "paths": {version.node_id: path if path is not None else path_of(tenant=tenant, node_id=version.node_id)},
        "folder_bytes": folder_bytes,
    }
    return NodeSerializer(version, context=context).data


def nodes_json(*, tenant: Tenant, versions: list[NodeVersion]) -> list[dict[str, Any]]:
    """Many live items as ``node_json`` gives each, their paths and folder
    sizes read for all at once (one query per folder level, one for the
    sizes): a bulk answer of 1,000 items was 4,000 queries one by one."""
    paths = live_paths(tenant=tenant, items=versions)
    folders = [version.node_id for version in versions if version.kind == Node.Kind.FOLDER]
    context = {
        "paths": {version.node_id: paths[version.pk] for version in versions},
        "folder_bytes": subtree_bytes_of(tenant=tenant, node_ids=folders),
    }
    return list(NodeSerializer(versions, many=True, context=context).data)


def folder_listing(*, tenant: Tenant, path: str) -> tuple[str, NodeVersion]:
    """The normalised path and live version of the folder at ``path``."""
    names = split_path(path)
    version = node_at_path(tenant=tenant, path=path)
    if version.kind != Node.Kind.FOLDER:
        raise WrongKind(f"{join_path(names)} is a file, not a folder; download it with GET /api/v1/files/content.")
    return join_path(names), version


# SECTION: listing and deleting


class FilesView(TenantAPIView):
    @extend_schema(
        operation_id="files_list",
        summary="List a folder",
        description="A folder's children, one page at a time (keyset cursor: pages stay fast however big the folder).",
        parameters=[FolderListQuerySerializer],
        responses={200: FolderPageSerializer, **problems(400, 404, 409)},
    )
    def get(self, request: Request) -> Response:
        query = validated_query(FolderListQuerySerializer, request)
        folder_path, folder = folder_listing(tenant=self.tenant, path=query["path"])
        page = folder_children(
            tenant=self.tenant,
            folder=folder,
            order=query["order"],
            cursor=query.get("cursor") or None,
            limit=query["limit"],
        )
        prefix = folder_path.rstrip("/")
        context = {
            "paths": {child.node_id: f"{prefix}/{child.name}" for child in page.items},
            "folder_bytes": subtree_bytes_of(
                tenant=self.tenant, node_ids=[c.node_id for c in page.items if c.kind == Node.Kind.FOLDER]
            ),
        }
        items = NodeSerializer(page.items, many=True, context=context).data
        return Response(page_body(request, items=items, next_cursor=page.next_cursor, path=folder_path))

    @extend_schema(
        operation_id="files_delete",
        summary="Delete a file or folder",
        description="It goes to Recently deleted (GET /api/v1/trash/) and can be restored for 28 days.",
        parameters=[PathQuerySerializer],
        responses={204: None, **problems(400, 404, 423)},
    )
    def delete(self, request: Request) -> Response:
        query = validated_query(PathQuerySerializer, request)
        node_delete(tenant=self.tenant, path=query["path"], acting_user=signed_in_user(request))
        return Response(status=204)


# SECTION: content


class BodyStreamParser(BaseParser):
    """Hands the body stream over untouched, so nothing reads an upload into memory."""

    media_type = "*/*"

    # The stubs allow only a mapping; DRF hands request.data whatever parse returns.
    def parse(  # type: ignore[override]
        self, stream: IO[bytes], media_type: str | None = None, parser_context: Any = None
    ) -> IO[bytes]:
        return stream


class AnyAcceptNegotiation(BaseContentNegotiation):
    """A download answers whatever the client accepts; its errors are JSON."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        return next(iter(parsers), None)

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = list(renderers)[0]  # DRF passes a list, never empty
        return renderer, renderer.media_type


def if_match_value(header: str | None, current: NodeVersion | None) -> str | None:
    """The sha256 to hand file_write for an If-Match header (strong comparison)."""
    if header is None:
        return None
    current_sha = current.blob.sha256 if current is not None and current.blob is not None else None
    tags = [tag for tag in (part.strip() for part in header.split(",")) if tag]
    if "*" in tags:
        if current is None or current.kind != Node.Kind.FILE:
            raise PreconditionFailed("If-Match: * asks for an existing file, and there is none at that path.")
        return None
    strong = [tag[1:-1] for tag in tags if len(tag) >= 2 and tag[0] == tag[-1] == '"']
    if current_sha is not None and current_sha in strong:
        return current_sha
    # Nothing matches: hand on a value that cannot match, so the store refuses
    # with 412 after its own check, and nothing is read or written.
    return strong[0] if strong else "-"


class FileContentView(TenantAPIView):
    parser_classes = [BodyStreamParser]
    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(
        operation_id="files_download",
        summary="Download a file",
        description=(
            "Streams the bytes. `ETag` is the quoted sha256; `If-None-Match` answers 304; a single "
            "`Range: bytes=first-last` (also `first-` and `-suffix`) answers 206 with `Content-Range`."
        ),
        parameters=[
            PathQuerySerializer,
            OpenApiParameter("Range", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False),
            OpenApiParameter("If-None-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False),
            OpenApiParameter("If-Range", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False),
        ],
        responses={
            (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="The whole file."),
            (206, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="The range asked for."),
            304: OpenApiResponse(description="Not modified: If-None-Match named the current sha256."),
            **problems(400, 404, 409, 416),
        },
    )
    def get(self, request: Request) -> Any:
        query = validated_query(PathQuerySerializer, request)
        version = node_at_path(tenant=self.tenant, path=query["path"])
        if version.kind != Node.Kind.FILE:
            raise WrongKind(
                f"{join_path(split_path(query['path']))} is a folder, not a file; list it with GET /api/v1/files/."
            )
        return file_download_response(
            request._request, tenant=self.tenant, version=version, content_type=DOWNLOAD_CONTENT_TYPE
        )

    @extend_schema(
        operation_id="files_upload",
        summary="Upload a file",
        description=(
            "The raw request body becomes the file at `path`; missing folders are made, an existing file is "
            "replaced (its earlier content stays restorable for 28 days) unless `on_conflict` says to keep both or "
            "to fail. Send `Content-Length`: without it, a "
            "chunked body is read to its end where the server marks that end (gunicorn does), and is refused "
            "with 411 elsewhere. With "
            '`If-Match: "<sha256>"` the upload only replaces the file if it still has that content (else 412).'
        ),
        parameters=[
            UploadQuerySerializer,
            OpenApiParameter("If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False),
        ],
        request={"application/octet-stream": OpenApiTypes.BINARY},
        responses={
            200: OpenApiResponse(NodeSerializer, description="An existing file was replaced."),
            201: OpenApiResponse(
                NodeSerializer, description="A new file was made (with `keep_both`, under the name in `path`)."
            ),
            **problems(400, 404, 409, 411, 412, 413, 423, 503, 507),
        },
    )
    def put(self, request: Request) -> Response:
        query = validated_query(UploadQuerySerializer, request)
        stream, content_length = upload_body(request._request)
        # The path is looked up once, here, and the store carries the answer
        # into its write (it looks again only if the tenant changed meanwhile).
        names = split_path(query["path"])
        seen = path_lookup(tenant=self.tenant, names=names) if names else None
        current = seen.item if seen is not None else None
        version = file_write(
            tenant=self.tenant,
            path=query["path"],
            stream=stream,
            content_length=content_length,
            acting_user=signed_in_user(request),
            if_match=if_match_value(request.headers.get("If-Match"), current),
            on_conflict=OnConflict(query["on_conflict"]),
            seen=seen,
        )
        body = node_json(tenant=self.tenant, version=version, path=join_path([*names[:-1], version.name]))
        replaced = current is not None and version.node_id == current.node_id
        return Response(body, status=200 if replaced else 201, headers={"ETag": f'"{body["sha256"]}"'})


# SECTION: folders and moves


class FolderCreateView(TenantAPIView):
    @extend_schema(
        operation_id="folders_create",
        summary="Make a folder",
        request=FolderCreateSerializer,
        responses={201: NodeSerializer, **problems(400, 403, 409, 423)},
    )
    def post(self, request: Request) -> Response:
        body = validated_body(FolderCreateSerializer, request)
        version = folder_create(tenant=self.tenant, path=body["path"], acting_user=signed_in_user(request))
        return Response(node_json(tenant=self.tenant, version=version), status=201)


class MoveView(TenantAPIView):
    @extend_schema(
        operation_id="files_move",
        summary="Move or rename a file or folder",
        description="`to` is the full new path; its folder must exist and its name be free. A folder moves whole.",
        request=MoveSerializer,
        responses={200: NodeSerializer, **problems(400, 403, 404, 409, 423)},
    )
    def post(self, request: Request) -> Response:
        body = validated_body(MoveSerializer, request)
        version = node_move(
            tenant=self.tenant, from_path=body["from"], to_path=body["to"], acting_user=signed_in_user(request)
        )
        return Response(node_json(tenant=self.tenant, version=version))


class CopyView(TenantAPIView):
    @extend_schema(
        operation_id="files_copy",
        summary="Copy a file or folder",
        description=(
            "`to` is the copy's full path; its folder must exist and its name be free. A folder is copied with "
            "everything in it, in one step, on the server (nothing is uploaded again); the copy counts against "
            "the quota."
        ),
        request=CopySerializer,
        responses={201: NodeSerializer, **problems(400, 403, 404, 409, 413, 423, 507)},
    )
    def post(self, request: Request) -> Response:
        body = validated_body(CopySerializer, request)
        version = node_copy(
            tenant=self.tenant, from_path=body["from"], to_path=body["to"], acting_user=signed_in_user(request)
        )
        return Response(node_json(tenant=self.tenant, version=version), status=201)


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
