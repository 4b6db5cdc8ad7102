"""Django's auth signals feed the sign-in history (``portal.services.sign_ins``):
``user_logged_in`` for every successful sign-in, ``user_login_failed`` for a
wrong password; and the session list (``portal.services.sessions``):
``user_logged_in`` makes a session's row, ``user_logged_out`` drops it.
Connected in PortalConfig.ready. The code step reports wrong codes
and slow-downs itself (no signal exists for them)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from portal.models import SignInEvent
from portal.services.sessions import user_session_forget, user_session_record
from portal.services.sign_ins import sign_in_failure_record, sign_in_success_record
from portal.two_factor import BACKUP_CODE_PATTERN, normalise_code

Method = SignInEvent.Method


def sign_in_method(request: HttpRequest) -> str:
    """How the person signed in, from the page that signed them in. On the
    code step the code was checked just before, by its shape (six digits: the
    app; eight letters and digits: a backup code; ``portal.two_factor``)."""
    match = getattr(request, "resolver_match", None)
    page = match.view_name if match is not None else ""
    if match is not None and match.app_name == "admin" and match.url_name == "login":
        return Method.PASSWORD_CODE  # the staff admin's form takes both at once
    if page == "signup":
        return Method.SIGNUP
    if page == "login":
        return Method.PASSWORD
    if page == "login_link":
        return Method.EMAIL_LINK
    if page == "login_code":
        code = normalise_code(request.POST.get("code", ""))
        return Method.BACKUP_CODE if BACKUP_CODE_PATTERN.match(code) else Method.PASSWORD_CODE
    return Method.OTHER


def is_from_a_client(request: HttpRequest | None) -> bool:
    """A sign-in a client asked for over HTTP. Django's test client's
    force_login (and a script's login()) passes a bare request with no address:
    nobody signed in from anywhere, so nothing is recorded or compared."""
    return request is not None and "REMOTE_ADDR" in getattr(request, "META", {})


def signed_in_receiver(sender: Any, request: HttpRequest | None = None, user: Any = None, **kwargs: Any) -> None:
    if user is None or not is_from_a_client(request):
        return
    assert request is not None
    sign_in_success_record(user=user, request=request, method=sign_in_method(request))
    user_session_record(user=user, request=request)


def signed_out_receiver(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    session = getattr(request, "session", None)
    if session is not None:
        user_session_forget(session_key=session.session_key)


def wrong_password_receiver(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    if not is_from_a_client(request):
        return
    email = credentials.get("username") or credentials.get("email") or ""
    sign_in_failure_record(email=email, request=request, outcome=SignInEvent.Outcome.WRONG_PASSWORD)
