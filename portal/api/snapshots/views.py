"""The history endpoints: snapshots (list, take, browse, download), restores
(start, preview, follow, cancel) and a file's versions (list, download,
restore). Each validates, calls one store function and serializes its result."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from portal.api.base import DOWNLOAD_CONTENT_TYPE, TenantAPIView, page_body, problems, validated_body, validated_query
from portal.api.files.serializers import NodeSerializer
from portal.api.files.views import AnyAcceptNegotiation, node_json
from portal.api.snapshots.serializers import (
    FileVersionPageSerializer,
    FileVersionSerializer,
    FileVersionsQuerySerializer,
    PageQuerySerializer,
    RestoreJobPageSerializer,
    RestoreJobSerializer,
    RestorePreviewSerializer,
    RestoreRequestSerializer,
    SnapshotCreateSerializer,
    SnapshotFileQuerySerializer,
    SnapshotFolderPageSerializer,
    SnapshotFolderQuerySerializer,
    SnapshotNodeSerializer,
    SnapshotPageSerializer,
    SnapshotScheduleSerializer,
    SnapshotSerializer,
    restore_request_of_body,
)
from portal.downloads import file_download_response
from portal.services.tenant_settings import tenant_snapshot_schedule_set
from portal.signed_in import signed_in_user
from snapshots.errors import WrongKind
from snapshots.models import Node, RestoreJob, Snapshot
from snapshots.paths import join_path, split_path
from snapshots.selectors import folder_children, node_at_path, path_of
from snapshots.selectors.history import (
    file_at_path_for_versions,
    file_version_get,
    file_version_page,
    restore_job_get,
    restore_job_page,
    snapshot_get,
    snapshot_page,
)
from snapshots.services import restore_cancel, restore_preview, restore_start, snapshot_create, version_restore

DOWNLOAD_PARAMETERS = [
    OpenApiParameter("Range", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False),
    OpenApiParameter("If-None-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False),
    OpenApiParameter("If-Range", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False),
]
DOWNLOAD_RESPONSES = {
    (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="The whole file."),
    (206, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="The range asked for."),
    304: OpenApiResponse(description="Not modified: If-None-Match named this content's sha256."),
}


# SECTION: snapshots


class SnapshotsView(TenantAPIView):
    @extend_schema(
        operation_id="snapshots_list",
        summary="List snapshots",
        description="The snapshots of the retention period (scheduled, manual and pre-restore), newest first.",
        parameters=[PageQuerySerializer],
        responses={200: SnapshotPageSerializer, **problems(400)},
    )
    def get(self, request: Request) -> Response:
        query = validated_query(PageQuerySerializer, request)
        page = snapshot_page(tenant=self.tenant, cursor=query.get("cursor") or None, limit=query["limit"])
        items = SnapshotSerializer(page.items, many=True).data
        return Response(page_body(request, items=items, next_cursor=page.next_cursor))

    @extend_schema(
        operation_id="snapshots_create",
        summary="Take a snapshot",
        description="Names the current moment, with an optional label; it copies nothing and is kept 28 days.",
        request=SnapshotCreateSerializer,
        responses={201: SnapshotSerializer, **problems(400, 403)},
    )
    def post(self, request: Request) -> Response:
        body = validated_body(SnapshotCreateSerializer, request)
        snapshot = snapshot_create(
            tenant=self.tenant, kind=Snapshot.Kind.MANUAL, acting_user=signed_in_user(request), label=body["label"]
        )
        return Response(SnapshotSerializer(snapshot).data, status=201)


class SnapshotScheduleView(TenantAPIView):
    @extend_schema(
        operation_id="snapshots_schedule_retrieve",
        summary="Read the snapshot schedule",
        description="How often the workspace's scheduled snapshots are taken.",
        responses={200: SnapshotScheduleSerializer, **problems(403)},
    )
    def get(self, request: Request) -> Response:
        return Response(SnapshotScheduleSerializer({"schedule": self.tenant.snapshot_schedule}).data)

    @extend_schema(
        operation_id="snapshots_schedule_update",
        summary="Change the snapshot schedule",
        description=(
            "Owners and admins only. The next scheduled snapshot follows the new interval, counted from the "
            "last scheduled one."
        ),
        request=SnapshotScheduleSerializer,
        responses={
            200: SnapshotScheduleSerializer,
            **problems(400, 403, s403="The token's user is not an owner or admin of the workspace."),
        },
    )
    def put(self, request: Request) -> Response:
        body = validated_body(SnapshotScheduleSerializer, request)
        tenant = tenant_snapshot_schedule_set(
            tenant=self.tenant, acting_user=signed_in_user(request), schedule=body["schedule"]
        )
        return Response(SnapshotScheduleSerializer({"schedule": tenant.snapshot_schedule}).data)


def snapshot_item_path(folder_path: str, name: str) -> str:
    return f"{folder_path.rstrip('/')}/{name}"


class SnapshotFilesView(TenantAPIView):
    @extend_schema(
        operation_id="snapshots_files_list",
        summary="List a folder as of a snapshot",
        description=(
            "A folder's children as they were when the snapshot was taken, one page at a time; the same items "
            "as GET /api/v1/files/, except that a folder's size is null."
        ),
        parameters=[SnapshotFolderQuerySerializer],
        responses={200: SnapshotFolderPageSerializer, **problems(400, 404, 409)},
    )
    def get(self, request: Request, snapshot_id: int) -> Response:
        query = validated_query(SnapshotFolderQuerySerializer, request)
        snapshot = snapshot_get(tenant=self.tenant, snapshot_id=snapshot_id)
        names = split_path(query["path"])
        folder = node_at_path(tenant=self.tenant, path=query["path"], seq=snapshot.seq)
        if folder.kind != Node.Kind.FOLDER:
            raise WrongKind(
                f"{join_path(names)} was a file then, not a folder; download it with "
                f"GET /api/v1/snapshots/{snapshot.pk}/content."
            )
        page = folder_children(
            tenant=self.tenant,
            folder=folder,
            seq=snapshot.seq,
            order=query["order"],
            cursor=query.get("cursor") or None,
            limit=query["limit"],
        )
        folder_path = join_path(names)
        context = {"paths": {child.node_id: snapshot_item_path(folder_path, child.name) for child in page.items}}
        items = SnapshotNodeSerializer(page.items, many=True, context=context).data
        return Response(
            page_body(
                request,
                items=items,
                next_cursor=page.next_cursor,
                snapshot=snapshot.pk,
                taken_at=SnapshotSerializer(snapshot).data["taken_at"],
                path=folder_path,
            )
        )


class SnapshotContentView(TenantAPIView):
    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(
        operation_id="snapshots_download",
        summary="Download a file as of a snapshot",
        description="Streams the bytes the file had when the snapshot was taken; ETag and Range as for "
        "GET /api/v1/files/content.",
        parameters=[SnapshotFileQuerySerializer, *DOWNLOAD_PARAMETERS],
        responses={**DOWNLOAD_RESPONSES, **problems(400, 404, 409, 416)},
    )
    def get(self, request: Request, snapshot_id: int) -> Any:
        query = validated_query(SnapshotFileQuerySerializer, request)
        snapshot = snapshot_get(tenant=self.tenant, snapshot_id=snapshot_id)
        version = node_at_path(tenant=self.tenant, path=query["path"], seq=snapshot.seq)
        if version.kind != Node.Kind.FILE:
            raise WrongKind(
                f"{join_path(split_path(query['path']))} was a folder then, not a file; list it with "
                f"GET /api/v1/snapshots/{snapshot.pk}/files/."
            )
        return file_download_response(
            request._request, tenant=self.tenant, version=version, content_type=DOWNLOAD_CONTENT_TYPE
        )


# SECTION: file versions


class FileVersionsView(TenantAPIView):
    @extend_schema(
        operation_id="files_versions_list",
        summary="List a file's versions",
        description=(
            "Every version of the file at `path` within the retention period, newest first: its current content "
            "and each earlier one (a rename or move makes a version too, with the same sha256). If no file is "
            "there now, the versions of the one most recently deleted from there."
        ),
        parameters=[FileVersionsQuerySerializer],
        responses={200: FileVersionPageSerializer, **problems(400, 404, 409, s409="The path is a folder.")},
    )
    def get(self, request: Request) -> Response:
        query = validated_query(FileVersionsQuerySerializer, request)
        anchor = file_at_path_for_versions(tenant=self.tenant, path=query["path"])
        page = file_version_page(
            tenant=self.tenant, node_id=anchor.node_id, cursor=query.get("cursor") or None, limit=query["limit"]
        )
        deleted = anchor.valid_to is not None
        path = join_path(split_path(query["path"])) if deleted else path_of(tenant=self.tenant, node_id=anchor.node_id)
        items = FileVersionSerializer(page.items, many=True).data
        return Response(
            page_body(request, items=items, next_cursor=page.next_cursor, id=anchor.node_id, path=path, deleted=deleted)
        )


class FileVersionContentView(TenantAPIView):
    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(
        operation_id="files_versions_download",
        summary="Download one version of a file",
        description="Streams that version's bytes; ETag and Range as for GET /api/v1/files/content.",
        parameters=DOWNLOAD_PARAMETERS,
        responses={**DOWNLOAD_RESPONSES, **problems(404, 416)},
    )
    def get(self, request: Request, version_id: int) -> Any:
        version = file_version_get(tenant=self.tenant, version_id=version_id)
        return file_download_response(
            request._request, tenant=self.tenant, version=version, content_type=DOWNLOAD_CONTENT_TYPE
        )


class FileVersionRestoreView(TenantAPIView):
    @extend_schema(
        operation_id="files_versions_restore",
        summary="Make a version the file's current content",
        description=(
            "The file gets a new version with that content, in place; nothing is copied and the content it had "
            'stays restorable. A deleted file comes back where it last was (as "name (restored)" if the name '
            "was taken meanwhile). Answers the file."
        ),
        request=None,
        responses={200: NodeSerializer, **problems(403, 404, 409, 507)},
    )
    def post(self, request: Request, version_id: int) -> Response:
        file_version_get(tenant=self.tenant, version_id=version_id)  # refuses ids past a database column too
        version = version_restore(tenant=self.tenant, version_id=version_id, acting_user=signed_in_user(request))
        return Response(node_json(tenant=self.tenant, version=version))


# SECTION: restores


def restore_job_json(request: Request, job: RestoreJob) -> dict[str, Any]:
    return RestoreJobSerializer(job, context={"request": request}).data


class RestoresView(TenantAPIView):
    @extend_schema(
        operation_id="restores_list",
        summary="List restore jobs",
        description="The workspace's restores, newest first, with their state and progress.",
        parameters=[PageQuerySerializer],
        responses={200: RestoreJobPageSerializer, **problems(400)},
    )
    def get(self, request: Request) -> Response:
        query = validated_query(PageQuerySerializer, request)
        page = restore_job_page(tenant=self.tenant, cursor=query.get("cursor") or None, limit=query["limit"])
        items = RestoreJobSerializer(page.items, many=True, context={"request": request}).data
        return Response(page_body(request, items=items, next_cursor=page.next_cursor))

    @extend_schema(
        operation_id="restores_create",
        summary="Restore files, folders or everything",
        description=(
            "From a `snapshot` or any moment (`at`) of the retention period, `paths` (or everything) go back to "
            "where they were or into the `target` folder; with `mode` exact, a folder or everything becomes exactly "
            "what it was (a rewind). A pre-restore snapshot is taken first, so the restore can be undone. "
            "Answers 202 with the job (poll its `url`, also in `Location`). With `dry_run` it "
            "answers 200 with what the restore would do, and changes nothing."
        ),
        request=RestoreRequestSerializer,
        responses={
            202: OpenApiResponse(RestoreJobSerializer, description="The job was queued."),
            200: OpenApiResponse(RestorePreviewSerializer, description="A dry run: what would happen."),
            **problems(
                400,
                403,
                404,
                422,
                s400="Invalid input, or a target folder inside what is being restored.",
                s404="No such snapshot, or a path that did not exist at that time.",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        body = validated_body(RestoreRequestSerializer, request)
        restore_request = restore_request_of_body(body)
        if body["dry_run"]:
            preview = restore_preview(tenant=self.tenant, request=restore_request)
            return Response(
                {
                    "dry_run": True,
                    "counts": preview.counts,
                    "total_items": preview.total_items,
                    "items": preview.items,
                    "failures": preview.failures,
                    "mode": preview.mode,
                    "totals": preview.totals,
                    "removals": preview.removals,
                }
            )
        job = restore_start(tenant=self.tenant, request=restore_request, acting_user=signed_in_user(request))
        job_json = restore_job_json(request, job)
        return Response(job_json, status=202, headers={"Location": job_json["url"]})


class RestoreJobView(TenantAPIView):
    @extend_schema(
        operation_id="restores_retrieve",
        summary="A restore job",
        description="Its state, progress (items done of total), summary and failures.",
        responses={200: RestoreJobSerializer, **problems(404)},
    )
    def get(self, request: Request, job_id: int) -> Response:
        return Response(restore_job_json(request, restore_job_get(tenant=self.tenant, job_id=job_id)))


class RestoreCancelView(TenantAPIView):
    @extend_schema(
        operation_id="restores_cancel",
        summary="Cancel a restore",
        description=(
            "A queued job stops at once; a running one after the batch it is in (what that batch restored stays). "
            "Answers the job."
        ),
        request=None,
        responses={200: RestoreJobSerializer, **problems(403, 404, 409, s409="The restore has already ended.")},
    )
    def post(self, request: Request, job_id: int) -> Response:
        restore_job_get(tenant=self.tenant, job_id=job_id)  # refuses ids past a database column too
        # RestoreFinished: 409
        job = restore_cancel(tenant=self.tenant, job_id=job_id, acting_user=signed_in_user(request))
        return Response(restore_job_json(request, job))
