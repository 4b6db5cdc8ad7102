"""A person's sign-in history: each attempt on their account recorded
(``portal.sign_in_history`` connects Django's auth signals here, the code
step calls in for wrong codes and slow-downs), the emails it sets off, and the
expiry of rows past 90 days is in ``sign_in_retention`` (the task
that runs it must not import the email path).

Two emails come from here, both through ``account_notice_send``:

- a successful sign-in from a device or a network not among the person's
  successful sign-ins of the last 90 days (ASVS 6.3.5). Not on their first
  sign-in ever (signing up signs them in; there is nothing to compare with);
  nor when nothing is left to compare with after 90 days without a sign-in;
- the Nth wrong two-factor code (``HUBPORT_WRONG_CODES_NOTICE_AFTER``, 3)
  after the right password, counted in a window
  (``HUBPORT_WRONG_CODES_WINDOW_MINUTES``, 15) since their last successful
  sign-in, sent once a window however many more codes follow.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.utils import timezone

from portal.models import SignInEvent
from portal.security.devices import device_label, request_address, request_user_agent

if TYPE_CHECKING:
    from portal.models import User

Outcome = SignInEvent.Outcome
Method = SignInEvent.Method
SLOWED_DOWN = Outcome.SLOWED_DOWN

# Networks a "new network" is judged by. IPv4 /24: a home or office line
# whose provider hands out a new address now and then usually stays within
# its /24, while a different provider, city or VPN exit does not. IPv6 /48:
# the largest prefix RFC 6177 has providers delegate to one site; the low 64
# bits change daily with privacy addresses (RFC 8981), and many providers
# rotate the /64 within the site's /56 or /48, so anything narrower would
# call every day's address new.
IPV4_PREFIX = 24
IPV6_PREFIX = 48


def address_network(address: str) -> str:
    """The /24 (IPv4) or /48 (IPv6) an address belongs to, as text; blank
    for anything that is not an address."""
    try:
        parsed = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return ""
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    prefix = IPV4_PREFIX if parsed.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{parsed}/{prefix}", strict=False))


def _valid_address(address: str) -> str | None:
    try:
        return str(ipaddress.ip_address((address or "").strip()))
    except ValueError:
        return None


def sign_in_event_record(
    *, user: User, request: HttpRequest | None, outcome: str, method: str = "", moment: datetime | None = None
) -> SignInEvent:
    """Record one attempt on ``user``'s account, with where it came from."""
    address = request_address(request) if request is not None else ""
    user_agent = request_user_agent(request) if request is not None else ""
    return SignInEvent.objects.create(
        user=user,
        created_at=moment or timezone.now(),
        address=_valid_address(address),
        network=address_network(address),
        user_agent=user_agent,
        device=device_label(user_agent)[:200],
        outcome=outcome,
        method=method,
    )


def sign_in_success_record(*, user: User, request: HttpRequest | None, method: str) -> SignInEvent:
    """Record a successful sign-in; email the person when it came from a
    device or network their retained successful sign-ins do not include."""
    return sign_in_event_record(user=user, request=request, outcome=Outcome.SUCCESS, method=method)


def sign_in_code_failure_record(*, user: User, request: HttpRequest, method: str = "") -> SignInEvent:
    """Record a wrong two-factor code after the right password; the Nth in
    the window emails the person, once a window."""
    return sign_in_event_record(user=user, request=request, outcome=Outcome.WRONG_CODE, method=method)


def sign_in_failure_record(*, email: str, request: HttpRequest | None, outcome: str) -> SignInEvent | None:
    """Record a wrong password or a slowed-down attempt for the account of
    ``email``, if there is one. An unknown email records nothing, and the
    caller answers the same either way."""
    if not isinstance(email, str) or not email.strip():
        return None
    user = get_user_model()._default_manager.filter(email__iexact=email.strip()).first()
    if user is None:
        return None
    return sign_in_event_record(user=user, request=request, outcome=outcome, method=Method.PASSWORD)
