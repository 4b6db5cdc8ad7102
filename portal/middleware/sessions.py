"""Keeps the person's session list current: each signed-in request notes its
session as seen (at most once a minute, ``portal.services.sessions``), so
Settings → Sign-ins and sessions shows when and from where each was last used."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from portal.models import User
from portal.services.sessions import user_session_touch


class UserSessionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if isinstance(user, User) and hasattr(request, "session"):
            user_session_touch(user=user, request=request)
        return self.get_response(request)
