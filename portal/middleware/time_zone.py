"""Shows every time of a request in one zone: the person's own (Settings →
Profile), else their workspace hub's, else UTC.

It activates that zone for the whole request (after TenantMiddleware, which
finds the workspace), so the ``date`` filter, ``localtime``, forms reading a
typed moment, DRF's output and every message built with
``hubs.display.time_label`` agree; then it deactivates it. An API call with a
token finds its person only in DRF's authentication, which activates the same
zone (portal.api.authentication).

Staff pages (the admin) stay in UTC: staff handle every hub at once, and the
admin's inputs and labels say UTC.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone

from portal.selectors import display_zone_for


class DisplayZoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if request.path.startswith(reverse("admin:index")):
            timezone.deactivate()
        else:
            timezone.activate(
                display_zone_for(
                    user=user if user is not None and user.is_authenticated else None,
                    tenant=getattr(request, "tenant", None),
                )
            )
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
