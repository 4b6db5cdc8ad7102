"""Settings → Sign-ins and sessions: the person's sign-in history (newest
first, a page at a time, in their own zone) and their active sessions."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from portal.selectors import sign_in_events_for
from portal.signed_in import signed_in_user

# A screen of rows; older ones a page further.
HISTORY_PAGE_ROWS = 25


@login_required
@require_GET
def account_security(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    history = Paginator(sign_in_events_for(user=user), HISTORY_PAGE_ROWS).get_page(request.GET.get("page"))
    return render(request, "portal/accounts/security.html", {"history": history})
