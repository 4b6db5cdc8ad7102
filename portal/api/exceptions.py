"""Every API error is an RFC 9457 problem: ``type``, ``title``, ``status``,
``detail``, served as application/problem+json by the one builder in
``portal.problems``.

Domain errors carry a code, and ``portal.problems.STATUS_BY_CODE`` gives their
status; DRF's errors (validation, authentication, permissions, throttling,
parsing, content negotiation), Django's Http404 and PermissionDenied, and
anything unexpected are turned into the same shape. An unexpected error is
logged with its traceback and answers a plain 500 problem: a caller never sees
a stack trace.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.views import set_rollback

from hubs.errors import DomainError
from portal.api.parsers import BodyTooLarge, body_too_large
from portal.problems import problem_response, refusal_response

logger = logging.getLogger(__name__)

# (title, code, detail used when the exception carries only DRF's stock text)
_DRF_PROBLEMS: list[tuple[type[exceptions.APIException], str, str, str | None]] = [
    (exceptions.ValidationError, "Invalid input", "invalid_input", None),
    (exceptions.ParseError, "Malformed request body", "malformed_body", None),
    (BodyTooLarge, "Request body too large", "body_too_large", None),
    (
        exceptions.NotAuthenticated,
        "Authentication required",
        "not_authenticated",
        "Send 'Authorization: Bearer <token>'; make a token in the portal under Settings → API tokens.",
    ),
    (exceptions.AuthenticationFailed, "Authentication failed", "authentication_failed", None),
    (exceptions.PermissionDenied, "Forbidden", "forbidden", None),
    (exceptions.NotFound, "Not found", "not_found", None),
    (exceptions.MethodNotAllowed, "Method not allowed", "method_not_allowed", None),
    (exceptions.NotAcceptable, "Not acceptable", "not_acceptable", None),
    (exceptions.UnsupportedMediaType, "Unsupported media type", "unsupported_media_type", None),
    (exceptions.Throttled, "Too many requests", "too_many_requests", None),
]


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


def _from_api_exception(exc: exceptions.APIException) -> HttpResponse:
    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
    if getattr(exc, "wait", None):
        headers["Retry-After"] = f"{int(exc.wait)}"  # type: ignore[attr-defined]
    title, code, stock_detail = HTTPStatus(exc.status_code).phrase, f"http_{exc.status_code}", None
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
    # DRF's exceptions are HTTP's own and carry their status: 401 for missing
    # credentials, say, or 403 when the view has no authenticate header.
    return problem_response(
        status=exc.status_code, title=title, code=code, detail=detail, headers=headers, **extensions
    )


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> HttpResponse:
    """DRF's EXCEPTION_HANDLER: every exception becomes a problem response."""
    set_rollback()
    if isinstance(exc, DomainError):
        return refusal_response(context["request"], exc)
    if isinstance(exc, Http404):
        return problem_response(code="not_found", title="Not found", detail=str(exc) or "That does not exist.")
    if isinstance(exc, DjangoPermissionDenied):
        return problem_response(code="forbidden", title="Forbidden", detail=str(exc) or "You may not do that.")
    if isinstance(exc, DjangoValidationError):
        messages = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return problem_response(
            code="invalid_input", title="Invalid input", detail=" ".join(_flatten(messages)), errors=messages
        )
    if isinstance(exc, RequestDataTooBig):
        return _from_api_exception(body_too_large())
    if isinstance(exc, exceptions.APIException):
        return _from_api_exception(exc)
    view = context.get("view")
    view_name = type(view).__name__ if view is not None else "?"
    if isinstance(exc, DatabaseError):
        logger.exception("Database error in API view %s", view_name)
        return problem_response(
            code="unavailable",
            title="Service temporarily unavailable",
            detail="The service could not complete the request just now; try again shortly.",
            headers={"Retry-After": "5"},
        )
    logger.exception("Unexpected error in API view %s", view_name)
    return problem_response(
        code="internal_error",
        title="Internal error",
        detail="Something went wrong on our side. Try again; if it keeps happening, contact support.",
    )


@csrf_exempt
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """Any URL under /api/ that names no endpoint, for every method: exempt from
    CSRF, so a session-authenticated POST gets this problem, not the HTML CSRF page."""
    return problem_response(
        code="not_found",
        title="Not found",
        detail=f"There is no API endpoint at {request.path}. The endpoints are listed at /api/docs/.",
    )
