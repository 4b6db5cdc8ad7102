"""Settings → Sign-ins and sessions: the person's active sessions (this one
marked; end one, or all but this one) and their sign-in history (newest
first, a page at a time, in their own zone)."""

from __future__ import annotations

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from portal.selectors import sign_in_events_for
from portal.services.sessions import (
    session_key_hash,
    user_session_end,
    user_sessions_end_others,
    user_sessions_prune,
)
from portal.signed_in import signed_in_user

# A screen of rows; older ones a page further.
HISTORY_PAGE_ROWS = 25
KEY_HASH_PATTERN = re.compile(r"^[0-9a-f]{64}$")


@login_required
@require_GET
def account_security(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    current = session_key_hash(request.session.session_key or "")
    sessions = user_sessions_prune(user=user)
    history = Paginator(sign_in_events_for(user=user), HISTORY_PAGE_ROWS).get_page(request.GET.get("page"))
    return render(
        request,
        "portal/accounts/security.html",
        {
            "sessions": sessions,
            "current_session": current,
            "other_sessions": sum(1 for session in sessions if session.key_hash != current),
            "history": history,
        },
    )


@login_required
@require_POST
def session_end(request: HttpRequest, key_hash: str) -> HttpResponse:
    """End one of the person's other sessions. A session that is not theirs,
    is gone, or is malformed answers the same 404."""
    user = signed_in_user(request)
    if not KEY_HASH_PATTERN.match(key_hash):
        raise Http404("No such session.")
    if key_hash == session_key_hash(request.session.session_key or ""):
        messages.info(request, "That is this session: use Sign out to end it.")
        return redirect("account_security")
    if not user_session_end(user=user, key_hash=key_hash, current_key=request.session.session_key):
        raise Http404("No such session.")
    messages.success(request, "That session is signed out.")
    return redirect("account_security")


@login_required
@require_POST
def sessions_end_others(request: HttpRequest) -> HttpResponse:
    ended = user_sessions_end_others(user=signed_in_user(request), current_key=request.session.session_key)
    if ended:
        messages.success(request, f"Signed out everywhere else ({ended} other session{'s' if ended != 1 else ''}).")
    else:
        messages.info(request, "You were not signed in anywhere else.")
    return redirect("account_security")
