"""The signed-in person of a request, typed as a User.

``request.user`` is ``User | AnonymousUser``; a view behind login_required,
the API's IsAuthenticated or the staff-only admin only ever sees a User.
"""

from __future__ import annotations

from django.http import HttpRequest
from rest_framework.request import Request

from portal.models import User


def signed_in_user(request: HttpRequest | Request) -> User:
    user = request.user
    assert isinstance(user, User), "only for views that require a signed-in person"
    return user
