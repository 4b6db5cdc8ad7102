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

from hubs.models import Tenant

# SECTION: access


def tenant_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """A signed-in person working in a tenant; otherwise home sorts them out
    (sign in, choose a workspace, or the no-workspace explanation)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if getattr(request, "tenant", None) is None:
            return redirect("home")
        return view(request, *args, **kwargs)

    return wrapper


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
