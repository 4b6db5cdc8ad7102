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

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import router, transaction
from django.http import HttpRequest
from django.utils import timezone

from portal.models import SignInEvent
from portal.security.devices import device_label, event_details, request_address, request_user_agent
from portal.security.networks import address_network, valid_address
from portal.security.notice_emails import AccountNotice
from portal.security.notices import account_notice_send
from portal.services.sign_in_retention import history_days

if TYPE_CHECKING:
    from portal.models import User

Outcome = SignInEvent.Outcome
Method = SignInEvent.Method
SLOWED_DOWN = Outcome.SLOWED_DOWN


def sign_in_event_record(
    *, user: User, request: HttpRequest | None, outcome: str, method: str = "", moment: datetime | None = None
) -> SignInEvent:
    """Record one attempt on ``user``'s account, with where it came from."""
    address = request_address(request) if request is not None else ""
    user_agent = request_user_agent(request) if request is not None else ""
    return SignInEvent.objects.create(
        user=user,
        created_at=moment or timezone.now(),
        address=valid_address(address),
        network=address_network(address),
        user_agent=user_agent,
        device=device_label(user_agent)[:200],
        outcome=outcome,
        method=method,
    )


def sign_in_success_record(*, user: User, request: HttpRequest | None, method: str) -> SignInEvent:
    """Record a successful sign-in; email the person when it came from a
    device or network their retained successful sign-ins do not include."""
    with transaction.atomic(using=router.db_for_write(SignInEvent)):
        event = sign_in_event_record(user=user, request=request, outcome=Outcome.SUCCESS, method=method)
        earlier = SignInEvent.objects.filter(
            user=user, outcome=Outcome.SUCCESS, created_at__gte=event.created_at - timedelta(days=history_days())
        ).exclude(pk=event.pk)
        if request is not None and earlier.exists():
            new_device = not earlier.filter(device=event.device).exists()
            new_network = not earlier.filter(network=event.network).exists()
            if new_device or new_network:
                details = event_details(request=request, user=user, moment=event.created_at)
                account_notice_send(user=user, kind=AccountNotice.NEW_SIGN_IN, details=details)
    return event


def sign_in_code_failure_record(*, user: User, request: HttpRequest, method: str = "") -> SignInEvent:
    """Record a wrong two-factor code after the right password; the Nth in
    the window emails the person, once a window."""
    window = timedelta(minutes=int(getattr(settings, "HUBPORT_WRONG_CODES_WINDOW_MINUTES", 15)))
    notice_after = int(getattr(settings, "HUBPORT_WRONG_CODES_NOTICE_AFTER", 3))
    with transaction.atomic(using=router.db_for_write(SignInEvent)):
        # One person's wrong codes are counted one request at a time, so two
        # at once cannot both be the Nth (or both miss it).
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        event = sign_in_event_record(user=user, request=request, outcome=Outcome.WRONG_CODE, method=method)
        since = event.created_at - window
        last_success = (
            SignInEvent.objects.filter(user=user, outcome=Outcome.SUCCESS, created_at__gte=since)
            .order_by("-created_at")
            .values_list("created_at", flat=True)
            .first()
        )
        recent = SignInEvent.objects.filter(user=user, outcome=Outcome.WRONG_CODE, created_at__gte=since)
        if last_success is not None:
            recent = recent.filter(created_at__gt=last_success)
        count = recent.count()
        if count >= notice_after and not recent.filter(notified=True).exists():
            event.notified = True
            event.save(update_fields=["notified"])
            details = event_details(request=request, user=user, moment=event.created_at) | {"count": str(count)}
            account_notice_send(user=user, kind=AccountNotice.WRONG_CODES, details=details)
    return event


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
