"""The one error path at the edge: codes to statuses, and problem details.

Domain errors (``hubs.errors.DomainError`` and each app's ``errors.py``) say
what went wrong with a stable code, never an HTTP status. ``STATUS_BY_CODE``
is the only place a code meets a status; a code it does not know answers 400.
``problem_response`` is the only builder of RFC 9457 problem details
(``type``, ``title``, ``status``, ``detail``, plus extension members): the REST
API's exception handler, the maintenance middleware, downloads and the pages'
JSON answers (uploads) all answer through it, so a refusal has the same status
and the same body wherever it is made.
"""

from __future__ import annotations

import json
import logging
from typing import Any, TypeVar

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.urls import Resolver404, resolve
from rest_framework.request import Request

from hubs.errors import DomainError

# Refusals the product makes on purpose: not errors for whoever is on call.
refusal_logger = logging.getLogger("portal.refusals")

AnyResponse = TypeVar("AnyResponse", bound=HttpResponseBase)

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:hubport:problem:"

STATUS_BY_CODE: dict[str, int] = {
    # The store (snapshots.errors)
    "invalid_path": 400,
    "invalid_cursor": 400,
    "invalid_search": 400,
    "invalid_move": 400,
    "incomplete_upload": 400,
    "invalid_archive": 400,
    "restore_refused": 400,
    "not_found": 404,
    "member_not_found": 404,
    "name_taken": 409,
    "wrong_kind": 409,
    "not_restorable": 409,
    "restore_finished": 409,
    "precondition_failed": 412,
    "locked": 423,
    "file_too_large": 413,
    "zip_too_large": 413,
    "batch_too_large": 413,
    "outside_retention": 422,
    "storage_unavailable": 503,
    "quota_exceeded": 507,
    # Hubs (hubs.errors)
    "maintenance_refused": 400,
    "facility_change_refused": 400,
    "membership_refused": 409,
    "role_forbidden": 403,
    "invitation_refused": 409,
    "invitation_link_invalid": 403,
    "failover_refused": 409,
    "hub_immutable": 409,
    "incident_refused": 409,
    "alert_link_invalid": 403,
    "subscription_refused": 400,
    "status_link_invalid": 400,
    "maintenance": 503,
    "maintenance_read_only": 503,
    # Uploads (portal.uploads)
    "invalid_content_length": 400,
    "length_required": 411,
    # HTTP itself: what the edges refuse before any domain code runs
    "invalid_input": 400,
    "malformed_body": 400,
    "body_too_large": 413,
    "not_authenticated": 401,
    "authentication_failed": 401,
    "forbidden": 403,
    "method_not_allowed": 405,
    "not_acceptable": 406,
    "unsupported_media_type": 415,
    "range_not_satisfiable": 416,
    "too_many_requests": 429,
    "internal_error": 500,
    "unavailable": 503,
    # The web server, before Django sees the request (portal.server_errors)
    "malformed_request": 400,
    "request_line_too_long": 414,
    "expectation_failed": 417,
    "header_fields_too_large": 431,
    "not_implemented": 501,
}
UNKNOWN_CODE_STATUS = 400


def status_for(code: str) -> int:
    return STATUS_BY_CODE.get(code, UNKNOWN_CODE_STATUS)


def problem_body(*, code: str, title: str, detail: str, status: int | None = None, **extensions: Any) -> dict[str, Any]:
    """A problem's members. ``status`` is the table's for ``code``; only an
    HTTP-native exception (DRF's, which carries its own) passes one."""
    return {
        "type": PROBLEM_TYPE_PREFIX + code,
        "title": title,
        "status": status if status is not None else status_for(code),
        "detail": detail,
        **extensions,
    }


def problem_response(
    *,
    code: str,
    title: str,
    detail: str,
    status: int | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> HttpResponse:
    body = problem_body(code=code, title=title, detail=detail, status=status, **extensions)
    return HttpResponse(
        json.dumps(body, ensure_ascii=False, cls=DjangoJSONEncoder).encode("utf-8"),
        status=body["status"],
        content_type=PROBLEM_CONTENT_TYPE,
        headers=headers,
    )


def refusal_response(
    request: HttpRequest | Request, error: DomainError, *, headers: dict[str, str] | None = None, **extensions: Any
) -> HttpResponse:
    """A domain error as a problem: its code, title and detail, and the values
    its message was made from as extension members; logged as a refusal."""
    response = problem_response(
        code=error.code, title=error.title, detail=error.detail, headers=headers, **{**error.values, **extensions}
    )
    return log_refusal(request, response, code=error.code)


def log_refusal(request: HttpRequest | Request, response: AnyResponse, *, code: str) -> AnyResponse:
    """Log a refusal once, with its code and ids (never a path or a file name:
    the detail names them), at INFO, or WARNING when the service is unavailable
    (503: someone may need to act); and mark the response as logged, so that
    django.request does not log it again, at ERROR for a 507 or a 503."""
    status = response.status_code
    # DRF's Request would authenticate again to answer .user; Django's has the outcome.
    django_request = getattr(request, "_request", request)
    tenant = getattr(django_request, "tenant", None)
    user = getattr(django_request, "user", None)
    refusal_logger.log(
        logging.WARNING if status == 503 else logging.INFO,
        "Refused %s %s: %s (%s), tenant %s, user %s",
        django_request.method,
        _view_name(django_request),
        code,
        status,
        tenant.pk if tenant is not None else "-",
        user.pk if user is not None and user.is_authenticated else "-",
    )
    response._has_been_logged = True  # type: ignore[attr-defined]  # read by django.utils.log.log_response
    return response


def _view_name(request: HttpRequest) -> str:
    """The URL's name, not its path: a folder page's path is the customer's folder names."""
    match = getattr(request, "resolver_match", None)
    if match is None:  # refused by a middleware, before the URL was resolved
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return "-"
    return match.view_name or "-"
