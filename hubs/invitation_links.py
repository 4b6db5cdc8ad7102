"""The signed link of an invitation (``django.core.signing``, its own salt).

The token carries the invitation's id and its nonce. The signature makes it
unforgeable; the row decides whether it still works: open (not accepted, not
revoked) and before ``expires_at`` (seven days after it was made). Inviting the
same address again replaces the row and its nonce, so an older link is dead.
"""

from __future__ import annotations

import hmac
from datetime import timedelta

from django.core import signing
from django.utils import timezone

from hubs.errors import InvitationLinkInvalid
from hubs.links import absolute_url
from hubs.models import Invitation

INVITATION_SALT = "hubport.team.invitation"
INVITATION_VALID_FOR = timedelta(days=7)
MAX_ID = 2**63 - 1


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps({"i": invitation.pk, "n": invitation.nonce}, salt=INVITATION_SALT)


def invitation_link(invitation: Invitation) -> str:
    return absolute_url("invitation_accept", token=invitation_token(invitation))


def invitation_from_token(token: str) -> Invitation:
    """The open invitation a link names, or ``InvitationLinkInvalid`` saying why not."""
    try:
        payload = signing.loads(token, salt=INVITATION_SALT, max_age=INVITATION_VALID_FOR)
    except signing.SignatureExpired as exc:
        raise InvitationLinkInvalid(
            "This invitation has expired. Ask whoever invited you to invite you again."
        ) from exc
    except signing.BadSignature as exc:
        raise InvitationLinkInvalid("This invitation link is not valid. Copy the whole link from the email.") from exc
    invitation_id, nonce = (payload.get("i"), payload.get("n")) if isinstance(payload, dict) else (None, None)
    if not isinstance(invitation_id, int) or not 0 < invitation_id <= MAX_ID or not isinstance(nonce, str):
        raise InvitationLinkInvalid("This invitation link is not valid. Copy the whole link from the email.")
    invitation = (
        Invitation.objects.select_related("tenant", "tenant__hub", "invited_by").filter(pk=invitation_id).first()
    )
    if invitation is None or not hmac.compare_digest(invitation.nonce, nonce):
        raise InvitationLinkInvalid("This invitation was replaced by a newer one or withdrawn. Use the newest email.")
    invitation_check_open(invitation)
    return invitation


def invitation_check_open(invitation: Invitation) -> None:
    if invitation.accepted_at is not None:
        raise InvitationLinkInvalid("This invitation has been used already. Sign in to reach the workspace.")
    if invitation.revoked_at is not None:
        raise InvitationLinkInvalid("This invitation was withdrawn. Ask whoever invited you to invite you again.")
    if invitation.expires_at <= timezone.now():
        raise InvitationLinkInvalid("This invitation has expired. Ask whoever invited you to invite you again.")
