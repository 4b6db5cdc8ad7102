"""Who may open a tenant's pages, and the page that explains a refusal."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse

from hubs.errors import RoleForbidden
from hubs.models import Tenant
from hubs.roles import Action
from portal.permissions import request_role_check, wants_json
from portal.problems import log_refusal, refusal_response

# SECTION: access


def tenant_required(
    view: Callable[..., HttpResponseBase] | None = None,
    *,
    action_of: Callable[[HttpRequest], Action | None] | None = None,
) -> Any:
    """A signed-in person working in a tenant; otherwise home sorts them out
    (sign in, choose a workspace, or the no-workspace explanation). Their role
    must allow what the method implies (``portal.permissions``): a read-only
    member's POST is refused here, before any view code runs. ``action_of``
    names another action for a request (a POST that only reads, such as a zip
    download of ticked rows)."""

    def decorate(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if getattr(request, "tenant", None) is None:
                return redirect("home")
            refusal = page_role_refusal(request, action_of(request) if action_of is not None else None)
            if refusal is not None:
                return refusal
            return view(request, *args, **kwargs)

        return wrapper

    return decorate(view) if view is not None else decorate


def page_role_refusal(request: HttpRequest, action: Action | None = None) -> HttpResponse | None:
    """A page's answer when the person's role does not allow the request (a
    problem JSON for a script, the problem page for a form); None when it does."""
    try:
        request_role_check(request, action)
    except RoleForbidden as error:
        if wants_json(request):
            return refusal_response(request, error)
        response = problem_page(request, title=error.title, detail=error.detail, status=403)
        return log_refusal(request, response, code=error.code)
    return None


def request_tenant(request: HttpRequest) -> Tenant:
    return request.tenant  # type: ignore[attr-defined]


# SECTION: errors


def problem_page(
    request: HttpRequest, *, title: str, detail: str, status: int, back_url: str | None = None
) -> HttpResponse:
    return render(
        request,
        "portal/files/problem.html",
        {"title": title, "detail": detail, "back_url": back_url or reverse("files")},
        status=status,
    )
