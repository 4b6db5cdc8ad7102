"""The link that finishes a sign-in past the account's high threshold
(``portal.security.sign_in_link``). A GET shows a button, so a mail scanner
that follows links spends nothing; the POST claims the link once and completes
the password step: signed in, or on to the code step when the person has a
device, as after a password."""

from __future__ import annotations

from django.contrib.auth import login as auth_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from portal.security.sign_in_link import sign_in_link_peek, sign_in_link_redeem
from portal.two_factor import user_has_any_device
from portal.views.accounts import MODEL_BACKEND, PENDING_LOGIN_SESSION_KEY, safe_next_url

TEMPLATE = "registration/login_link.html"


@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_link(request: HttpRequest, token: str) -> HttpResponse:
    check = sign_in_link_redeem(token) if request.method == "POST" else sign_in_link_peek(token)
    if check.refusal:
        return render(request, TEMPLATE, {"refusal": check.refusal}, status=403)
    user = check.user
    if request.method == "GET":
        return render(request, TEMPLATE, {"email": user.email})
    request.session.pop(PENDING_LOGIN_SESSION_KEY, None)
    if user_has_any_device(user=user):
        request.session[PENDING_LOGIN_SESSION_KEY] = {
            "user_id": user.pk,
            "started_at": timezone.now().timestamp(),
            "backend": MODEL_BACKEND,
            "next": check.next_url,
        }
        return redirect("login_code")
    auth_login(request, user, backend=MODEL_BACKEND)
    return HttpResponseRedirect(safe_next_url(request, check.next_url))
