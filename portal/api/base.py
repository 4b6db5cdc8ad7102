"""What every tenant-scoped API view shares: permissions, query validation,
page links and the problem responses the schema documents."""

from __future__ import annotations

from typing import Any, ClassVar

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.views import APIView

from hubs.models import Tenant
from hubs.roles import Action
from portal.permissions import RolePermits
from portal.problems import PROBLEM_CONTENT_TYPE

# What every download of the API answers, whatever the file's name says.
DOWNLOAD_CONTENT_TYPE = "application/octet-stream"


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details."""

    type = serializers.CharField(
        help_text="urn:hubport:problem:<code>, a stable code naming the kind of problem, e.g. "
        "urn:hubport:problem:not_found or urn:hubport:problem:quota_exceeded."
    )
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField(help_text="What went wrong and what to do about it.")


PROBLEM_DESCRIPTIONS = {
    400: "Invalid input: a bad path or name, query parameter, cursor or body.",
    401: "No token, or an unknown, expired or revoked one.",
    403: "The session has no workspace chosen, its CSRF token is missing, or your role does not allow this "
    "(role_forbidden: a read-only member changes nothing).",
    404: "Nothing at that path or with that id (another tenant's paths and ids look the same).",
    409: "A name is taken, or a file stands where a folder is needed (or the other way round).",
    411: "The upload came without a Content-Length, over a connection that does not mark its end; send one.",
    412: "If-Match named a sha256 that is no longer the file's.",
    413: "The body is larger than your largest allowed file.",
    414: "The request line is longer than 8,190 bytes (a path in a query string can be at most 4,096 characters).",
    415: "The body is not of the media type the operation takes.",
    416: "The Range lies outside the file.",
    422: "The moment lies outside the retention period (or in the future).",
    423: "A WebDAV client holds a lock on the item (or on a folder above it, or on something inside a folder "
    "moved or deleted whole); it is left alone until the lock ends.",
    429: "Too many requests; wait for Retry-After seconds.",
    431: "Too many header fields (at most 100), or one larger than 8,190 bytes.",
    503: "Storage in your hub is briefly unavailable; nothing was stored.",
    507: "Your storage quota would be exceeded.",
}


def problems(*statuses: int, **descriptions: str) -> dict[Any, OpenApiResponse]:
    """Schema entries for the problem responses an operation can answer (and
    401, 403 and 429, which any can: a token, a workspace and a role are asked
    of every caller); ``descriptions`` (``s409="..."``) says what a
    status means for this operation when the general wording does not."""
    return {**problem_responses(*statuses, 403, **descriptions), **problem_responses(401)}


# What the web server refuses before the application sees a request, for any operation
# (portal.server_errors), and what the throttles refuse.
ANY_OPERATION_STATUSES = (414, 429, 431)


def problem_responses(*statuses: int, **descriptions: str) -> dict[Any, OpenApiResponse]:
    """Like ``problems`` without 401: for the operations that need no authentication."""
    return {
        (status, PROBLEM_CONTENT_TYPE): OpenApiResponse(
            ProblemSerializer, description=descriptions.get(f"s{status}", PROBLEM_DESCRIPTIONS[status])
        )
        for status in sorted({*statuses, *ANY_OPERATION_STATUSES})
    }


class HasTenant(BasePermission):
    message = "Your session has no workspace chosen (you belong to several). Choose one in the browser, or use a token."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return getattr(request, "tenant", None) is not None and getattr(request, "membership", None) is not None


class TenantAPIView(APIView):
    """A view acting in the caller's tenant. The caller's role must allow what the
    method implies (``portal.permissions.RolePermits``: a read-only member reads,
    never writes); ``role_actions`` names another action for a method."""

    permission_classes = [IsAuthenticated, HasTenant, RolePermits]
    role_actions: ClassVar[dict[str, Action]] = {}

    @property
    def tenant(self) -> Tenant:
        return self.request.tenant  # type: ignore[attr-defined]


def validated_query(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    # A plain dict (the last value of each name), not the QueryDict: DRF reads a
    # blank optional value in a QueryDict as absent, so ?path= listed the root
    # and ?order= sorted by name; a value sent is judged as sent.
    params = request.query_params.dict()
    serializer = serializer_class(data=params)
    # As a body member (portal.api.fields.BodySerializer): a misspelt ?limt=
    # is refused, not ignored.
    unknown = sorted(set(params) - set(serializer.fields))
    if unknown:
        known = ", ".join(serializer.fields)
        raise serializers.ValidationError(
            {name: [f"Unknown query parameter; the parameters are {known}."] for name in unknown}
        )
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def validated_body(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def next_page_url(request: Request, next_cursor: str | None) -> str | None:
    if next_cursor is None:
        return None
    params = request.query_params.copy()
    params["cursor"] = next_cursor
    return request.build_absolute_uri(f"{request.path}?{params.urlencode()}")


def page_body(request: Request, *, items: Any, next_cursor: str | None, **extra: Any) -> dict[str, Any]:
    return {**extra, "items": items, "next_cursor": next_cursor, "next": next_page_url(request, next_cursor)}
