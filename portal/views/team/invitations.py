"""Following an invitation link: /invitations/<token>/.

GET shows who invites you to which workspace and with which role, never
accepting anything (mail scanners follow links). Then, by who is reading:

- signed in with the invited address: a button; the POST accepts and switches
  the session to the workspace (whose two-factor rule the middleware then
  applies, sending a member without a device to enrolment);
- signed in as someone else: how to switch accounts;
- signed out, with an account for the address: sign in, and back here;
- signed out, no account: choose a password (``/invitations/<token>/signup``),
  which makes the account, accepts and signs in.

An altered, expired, withdrawn, replaced or used link answers 403 with what to do.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from hubs.errors import DomainError, InvitationLinkInvalid
from hubs.invitation_links import invitation_from_token
from hubs.models import Invitation, Membership
from hubs.services.invitations import invitation_accept
from portal.forms.team import InvitationSignupForm
from portal.middleware.tenant import SESSION_TENANT_KEY
from portal.problems import log_refusal, status_for
from portal.security.guards import signup_guard, slowed_down
from portal.services.team import invitation_sign_up
from portal.signed_in import signed_in_user

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
TEMPLATE = "portal/team/invitation.html"


def _invalid(request: HttpRequest, error: DomainError) -> HttpResponse:
    response = render(request, "portal/team/invitation_invalid.html", {"error": error}, status=status_for(error.code))
    return log_refusal(request, response, code=error.code)


def _context(request: HttpRequest, invitation: Invitation, token: str) -> dict[str, object]:
    user = request.user
    signed_in = user.is_authenticated
    return {
        "invitation": invitation,
        "token": token,
        "signed_in": signed_in,
        "is_invitee": signed_in and signed_in_user(request).email.lower() == invitation.email,
        "has_account": get_user_model().objects.filter(email__iexact=invitation.email).exists(),
        "login_url": f"{reverse('login')}?{urlencode({'next': request.path})}",
        "form": InvitationSignupForm(),
    }


def _joined(request: HttpRequest, membership: Membership) -> HttpResponse:
    request.session[SESSION_TENANT_KEY] = membership.tenant_id
    messages.success(
        request, f"Welcome to {membership.tenant.name}. You joined as {membership.get_role_display().lower()}."
    )
    return HttpResponseRedirect(reverse("home"))


@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def invitation_accept_page(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = invitation_from_token(token)
    except InvitationLinkInvalid as error:
        return _invalid(request, error)
    if request.method == "POST":
        if not request.user.is_authenticated:
            return HttpResponseRedirect(f"{reverse('login')}?{urlencode({'next': request.path})}")
        try:
            membership = invitation_accept(token=token, user=signed_in_user(request))
        except DomainError as error:
            if isinstance(error, InvitationLinkInvalid):
                return _invalid(request, error)
            messages.error(request, error.detail)
            log_refusal(request, HttpResponse(status=status_for(error.code)), code=error.code)
            return render(request, TEMPLATE, _context(request, invitation, token), status=status_for(error.code))
        return _joined(request, membership)
    return render(request, TEMPLATE, _context(request, invitation, token))


@sensitive_post_parameters("password1", "password2")
@csrf_protect
@never_cache
@require_POST
def invitation_signup(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = invitation_from_token(token)
    except InvitationLinkInvalid as error:
        return _invalid(request, error)
    if request.user.is_authenticated:
        return HttpResponseRedirect(reverse("invitation_accept", kwargs={"token": token}))
    context = _context(request, invitation, token)
    guard = signup_guard(request)
    if guard.wait:
        return slowed_down(request, TEMPLATE, context, guard.wait)
    guard.counted()
    form = InvitationSignupForm(request.POST)
    context["form"] = form
    if form.is_valid():
        try:
            membership = invitation_sign_up(token=token, password=form.cleaned_data["password1"])
        except ValidationError as error:
            form.add_error("password1", error)
        except IntegrityError:
            form.add_error(None, "An account for this address was just made. Sign in to accept the invitation.")
        except DomainError as error:
            if isinstance(error, InvitationLinkInvalid):
                return _invalid(request, error)
            form.add_error(None, error.detail)
        else:
            user = get_user_model().objects.get(pk=membership.user_id)
            auth_login(request, user, backend=MODEL_BACKEND)
            return _joined(request, membership)
    return render(request, TEMPLATE, context, status=400)
