"""The one gate between a person's role and the store, for every edge.

``hubs.roles`` says what each role may do; this module asks it for a request:
safe methods (GET, HEAD, OPTIONS) need ``Action.READ``, anything else
``Action.CHANGE_FILES`` unless the edge names another action. Two edges pass
through it today, and WebDAV will be the third:

- the pages: ``portal.views.files.access.tenant_required`` (every tenant page)
  and the upload endpoint, which answers JSON, call ``page_role_refusal`` there;
- the REST API: ``RolePermits`` is a permission of ``TenantAPIView``, the base
  of every tenant-scoped API view.

A refusal is ``RoleForbidden`` (``role_forbidden``, 403), a problem JSON for the
API and for a page's script, the problem page for a browser form.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from hubs.roles import Action, role_check


def action_for_method(method: str | None) -> Action:
    return Action.READ if (method or "GET").upper() in SAFE_METHODS else Action.CHANGE_FILES


def request_role_check(request: HttpRequest | Request, action: Action | None = None) -> None:
    """Refuse (``RoleForbidden``) when the request's membership may not do ``action``
    (by default, what its method implies)."""
    membership = getattr(request, "membership", None)
    role_check(membership.role if membership is not None else None, action or action_for_method(request.method))


def wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return (
        "json" in accept
        or request.method in ("PUT", "DELETE", "PATCH")
        or request.headers.get("X-Requested-With") == "XMLHttpRequest"
    )


class RolePermits(BasePermission):
    """Every tenant API view: the caller's role allows what the method implies, or
    what the view's ``role_actions`` names for the method."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        actions: dict[str, Any] = getattr(view, "role_actions", {})
        request_role_check(request, actions.get(request.method or "GET"))
        return True
