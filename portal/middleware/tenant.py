"""Attaches the request's tenant and membership to the request.

There is no global "current tenant": code that needs the tenant takes it from
``request.tenant`` and passes it on explicitly.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from hubs.models import Membership
from portal.selectors import membership_for, memberships_for_user
from portal.services.provisioning import tenant_ensure_provisioned
from portal.signed_in import signed_in_user

SESSION_TENANT_KEY = "hubport_tenant_id"


class TenantMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.tenant = None  # type: ignore[attr-defined]
        request.membership = None  # type: ignore[attr-defined]
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            membership = resolve_membership(request)
            if membership is not None:
                request.membership = membership  # type: ignore[attr-defined]
                request.tenant = tenant_ensure_provisioned(tenant=membership.tenant)  # type: ignore[attr-defined]
        return self.get_response(request)


def resolve_membership(request: HttpRequest) -> Membership | None:
    """The membership chosen in this session, or the only one the user has."""
    chosen = request.session.get(SESSION_TENANT_KEY)
    if chosen is not None:
        membership = membership_for(user=signed_in_user(request), tenant_id=chosen)
        if membership is not None:
            return membership
        request.session.pop(SESSION_TENANT_KEY, None)
    memberships = list(memberships_for_user(user=signed_in_user(request))[:2])
    if len(memberships) == 1:
        request.session[SESSION_TENANT_KEY] = memberships[0].tenant_id
        return memberships[0]
    return None
