"""Every API error is an RFC 9457 problem: ``type``, ``title``, ``status``,
``detail``, served as application/problem+json.

Store errors carry their own status, title and code; DRF's errors (validation,
authentication, permissions, throttling, parsing, content negotiation),
Django's Http404 and PermissionDenied, and anything unexpected are turned into
the same shape. An unexpected error is logged with its traceback and answers a
plain 500 problem: a caller never sees a stack trace.
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import set_rollback

from snapshots.errors import StoreError

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:hubport:problem:"

# (title, code, detail used when the exception carries only DRF's stock text)
_DRF_PROBLEMS: list[tuple[type[exceptions.APIException], str, str, str | None]] = [
    (exceptions.ValidationError, "Invalid input", "invalid-input", None),
    (exceptions.ParseError, "Malformed request body", "malformed-body", None),
    (
        exceptions.NotAuthenticated,
        "Authentication required",
        "not-authenticated",
        "Send 'Authorization: Bearer <token>'; make a token in the portal under Settings → API tokens.",
    ),
    (exceptions.AuthenticationFailed, "Authentication failed", "authentication-failed", None),
    (exceptions.PermissionDenied, "Forbidden", "forbidden", None),
    (exceptions.NotFound, "Not found", "not-found", None),
    (exceptions.MethodNotAllowed, "Method not allowed", "method-not-allowed", None),
    (exceptions.NotAcceptable, "Not acceptable", "not-acceptable", None),
    (exceptions.UnsupportedMediaType, "Unsupported media type", "unsupported-media-type", None),
    (exceptions.Throttled, "Too many requests", "too-many-requests", None),
]


class ApiProblem(Exception):
    """A refusal made by the API itself (not by the store), as a problem."""

    def __init__(self, *, status: int, title: str, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.title, self.code, self.detail = status, title, code, detail


def problem_body(*, status: int, title: str, code: str, detail: str, **extensions: Any) -> dict[str, Any]:
    return {"type": PROBLEM_TYPE_PREFIX + code, "title": title, "status": status, "detail": detail, **extensions}


def problem_response(
    *, status: int, title: str, code: str, detail: str, headers: dict[str, str] | None = None, **extensions: Any
) -> Response:
    return Response(
        problem_body(status=status, title=title, code=code, detail=detail, **extensions),
        status=status,
        headers=headers,
        content_type=PROBLEM_CONTENT_TYPE,
    )


def problem_http_response(*, status: int, title: str, code: str, detail: str) -> HttpResponse:
    """The same problem for plain Django views (no DRF renderer involved)."""
    body = json.dumps(problem_body(status=status, title=title, code=code, detail=detail), ensure_ascii=False)
    return HttpResponse(body.encode("utf-8"), status=status, content_type=PROBLEM_CONTENT_TYPE)


def _flatten(detail: Any, prefix: str = "") -> list[str]:
    """DRF's nested error details as "field: message" lines."""
    if isinstance(detail, dict):
        lines: list[str] = []
        for key, value in detail.items():
            label = "" if key in ("non_field_errors", "__all__") else f"{prefix}{key}"
            lines.extend(_flatten(value, f"{label}." if label else prefix))
        return lines
    if isinstance(detail, list):
        return [line for item in detail for line in _flatten(item, prefix)]
    field = prefix.rstrip(".")
    return [f"{field}: {detail}" if field else str(detail)]


def _from_api_exception(exc: exceptions.APIException) -> Response:
    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
    if getattr(exc, "wait", None):
        headers["Retry-After"] = f"{int(exc.wait)}"  # type: ignore[attr-defined]
    status = exc.status_code
    title, code, stock_detail = HTTPStatus(status).phrase, f"http-{status}", None
    for exc_class, known_title, known_code, known_detail in _DRF_PROBLEMS:
        if isinstance(exc, exc_class):
            title, code, stock_detail = known_title, known_code, known_detail
            break
    extensions: dict[str, Any] = {}
    if isinstance(exc.detail, (dict, list)):
        detail = " ".join(_flatten(exc.detail)) or title
        extensions["errors"] = exc.detail
    elif isinstance(exc, exceptions.NotAuthenticated) and stock_detail:
        detail = stock_detail
    else:
        detail = str(exc.detail)
    if isinstance(exc, exceptions.AuthenticationFailed | exceptions.NotAuthenticated):
        status = exc.status_code  # 401, or 403 when the view has no authenticate header
    return problem_response(status=status, title=title, code=code, detail=detail, headers=headers, **extensions)


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's EXCEPTION_HANDLER: every exception becomes a problem response."""
    set_rollback()
    if isinstance(exc, StoreError | ApiProblem):
        return problem_response(status=exc.status, title=exc.title, code=exc.code, detail=exc.detail)
    if isinstance(exc, Http404):
        return problem_response(
            status=404, title="Not found", code="not-found", detail=str(exc) or "That does not exist."
        )
    if isinstance(exc, DjangoPermissionDenied):
        return problem_response(
            status=403, title="Forbidden", code="forbidden", detail=str(exc) or "You may not do that."
        )
    if isinstance(exc, DjangoValidationError):
        messages = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return problem_response(
            status=400,
            title="Invalid input",
            code="invalid-input",
            detail=" ".join(_flatten(messages)),
            errors=messages,
        )
    if isinstance(exc, exceptions.APIException):
        return _from_api_exception(exc)
    view = context.get("view")
    view_name = type(view).__name__ if view is not None else "?"
    if isinstance(exc, DatabaseError):
        logger.exception("Database error in API view %s", view_name)
        return problem_response(
            status=503,
            title="Service temporarily unavailable",
            code="unavailable",
            detail="The service could not complete the request just now; try again shortly.",
            headers={"Retry-After": "5"},
        )
    logger.exception("Unexpected error in API view %s", view_name)
    return problem_response(
        status=500,
        title="Internal error",
        code="internal-error",
        detail="Something went wrong on our side. Try again; if it keeps happening, contact support.",
    )


def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """Any URL under /api/ that names no endpoint."""
    return problem_http_response(
        status=404,
        title="Not found",
        code="not-found",
        detail=f"There is no API endpoint at {request.path}. The endpoints are listed at /api/docs/.",
    )
