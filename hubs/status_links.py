"""The signed links of status subscriptions (``django.core.signing``).

- A confirmation link carries the subscription's id, its address and the hubs
  asked for; it expires after 7 days, and following it is what sets the hubs,
  so nobody changes someone else's subscription without their inbox.
- An unsubscribe link carries the id and the address and never expires: an
  old notification must still let its reader leave.

Each kind has its own salt, so one kind of link is never accepted as the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.core import signing

from hubs.errors import StatusLinkInvalid
from hubs.links import absolute_url

CONFIRM_SALT = "hubport.status.confirm"
UNSUBSCRIBE_SALT = "hubport.status.unsubscribe"
CONFIRM_MAX_AGE = timedelta(days=7)


@dataclass(frozen=True)
class ConfirmationRequest:
    """What a confirmation link asks: the subscription and the hubs to follow."""

    subscription_id: int
    email: str
    hub_codes: tuple[str, ...]
    all_hubs: bool


def confirmation_token(request: ConfirmationRequest) -> str:
    payload = {"s": request.subscription_id, "e": request.email, "h": list(request.hub_codes), "a": request.all_hubs}
    return signing.dumps(payload, salt=CONFIRM_SALT, compress=True)


def confirmation_read(token: str) -> ConfirmationRequest:
    try:
        payload = signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise StatusLinkInvalid("This confirmation link has expired. Subscribe again for a new one.") from exc
    except signing.BadSignature as exc:
        raise StatusLinkInvalid("This confirmation link is not valid. Subscribe again for a new one.") from exc
    return ConfirmationRequest(
        subscription_id=int(payload["s"]),
        email=str(payload["e"]),
        hub_codes=tuple(str(code) for code in payload["h"]),
        all_hubs=bool(payload["a"]),
    )


def unsubscribe_token(*, subscription_id: int, email: str) -> str:
    return signing.dumps({"s": subscription_id, "e": email}, salt=UNSUBSCRIBE_SALT)


def unsubscribe_read(token: str) -> tuple[int, str]:
    """(subscription id, address) of an unsubscribe link."""
    try:
        payload = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature as exc:
        raise StatusLinkInvalid("This unsubscribe link is not valid.") from exc
    return int(payload["s"]), str(payload["e"])


def confirmation_url(request: ConfirmationRequest) -> str:
    return absolute_url("status_subscribe_confirm", token=confirmation_token(request))


def unsubscribe_url(*, subscription_id: int, email: str) -> str:
    return absolute_url("status_unsubscribe", token=unsubscribe_token(subscription_id=subscription_id, email=email))
