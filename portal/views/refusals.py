"""How a browser page answers a domain error: one decorator for every view.

A view calls the services and selectors and lets their ``DomainError`` rise;
``page_refusals`` turns it into what a person reads, in the service's own
words:

- a code the table answers with 404 (``not_found``): the problem page, titled
  for the view ("Folder not found"), with a link back; another tenant's
  anything reads exactly like something that never existed;
- the rows htmx fetches for "Load more" (``?fragment=rows``): the message as a
  table row in place of the rows;
- anything else: the message, shown on the page ``back`` names (a redirect);
  a view with nowhere to go back to answers the problem page with the table's
  status.

Each refusal is logged once, at INFO (WARNING for a 503), with its code and ids
(``portal.problems.log_refusal``), never as an error.

``back`` and ``not_found_back`` take the view's own arguments (the request
first) and are called only when a refusal needs them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render

from hubs.errors import DomainError
from portal.problems import log_refusal, status_for
from portal.views.files.access import problem_page

BackUrl = Callable[..., str]


def refusal_page(
    request: HttpRequest,
    error: DomainError,
    *,
    back: Callable[[], str] | None = None,
    not_found_title: str = "Not found",
    not_found_back: Callable[[], str] | None = None,
    rows_colspan: int = 5,
) -> HttpResponse:
    status = status_for(error.code)
    response: HttpResponse
    if status == 404:
        response = problem_page(
            request,
            title=not_found_title,
            detail=error.detail,
            status=status,
            back_url=not_found_back() if not_found_back else None,
        )
    elif request.GET.get("fragment") == "rows":
        response = render(request, "portal/files/_row_error.html", {"error": error.detail, "colspan": rows_colspan})
    elif back is None:
        response = problem_page(request, title=error.title, detail=error.detail, status=status)
    else:
        messages.error(request, error.detail)
        response = HttpResponseRedirect(back())
    return log_refusal(request, response, code=error.code)


def page_refusals(
    *,
    back: BackUrl | None = None,
    not_found_title: str = "Not found",
    not_found_back: BackUrl | None = None,
    rows_colspan: int = 5,
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """A view whose domain errors become the page's answer (see the module's docstring)."""

    def decorate(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            try:
                return view(request, *args, **kwargs)
            except DomainError as error:
                return refusal_page(
                    request,
                    error,
                    back=(lambda: back(request, *args, **kwargs)) if back else None,
                    not_found_title=not_found_title,
                    not_found_back=(lambda: not_found_back(request, *args, **kwargs)) if not_found_back else None,
                    rows_colspan=rows_colspan,
                )

        return wrapper

    return decorate
