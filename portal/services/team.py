"""Joining a tenant by invitation with a new account: the account and the
membership in one control-plane transaction, so a refused acceptance leaves no
account behind. (Accepting with an existing account is
``hubs.services.invitations.invitation_accept`` alone.)"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.db import transaction

from hubs.errors import InvitationRefused
from hubs.invitation_links import invitation_from_token
from hubs.models import Membership
from hubs.services.invitations import invitation_accept


def invitation_sign_up(*, token: str, password: str) -> Membership:
    """Make the invited address's account with ``password`` and accept the invitation.
    The address is the invitation's: the link reached that inbox."""
    invitation = invitation_from_token(token)
    email = invitation.email
    if get_user_model().objects.filter(email__iexact=email).exists():
        raise InvitationRefused(f"There is an account for {email} already; sign in to accept the invitation.")
    validate_password(password, user=get_user_model()(email=email, username=email))
    with transaction.atomic(using="default"):
        user = get_user_model().objects.create_user(username=email, email=email, password=password)
        return invitation_accept(token=token, user=user)
