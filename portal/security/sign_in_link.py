"""The account's high threshold (NIST SP 800-63B, 5.2.2: no more than 100
consecutive failed attempts on one account), met without a lock.

Failed sign-ins are counted per account across every address, consecutively:
a successful sign-in clears the count. From
``HUBPORT_SIGN_IN_ACCOUNT_LINK_THRESHOLD`` (100) failures on, the right
password alone no longer signs in: the person is told that a link to finish
signing in was emailed, and the link, one-time and short-lived, completes the
password step (the code step follows when they have a device). So guessing on
from many addresses stops paying off, the owner is never locked out, and only
a right password sends mail (wrong ones never do, so nobody can bomb an inbox
by failing; the right one sends at most ``LINK_MAILS`` in ``LINK_MAIL_WINDOW``).

A link is a ``django.core.signing`` token (its own salt, the user's id, a
nonce, where to go next; valid ``HUBPORT_SIGN_IN_LINK_MINUTES``) and a
server-side marker in the cache: the nonce issued, then claimed once with
``cache.add`` (atomic on Redis and locmem alike). A cache flush voids every
link outstanding, never reopens a used one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from hubs.links import absolute_url
from portal.security.attempts import KEY_PREFIX, Limit, failure_record, key_digest, window_wait_seconds
from portal.security.devices import event_details
from portal.security.notice_emails import AccountNotice
from portal.security.notices import account_notice_send

LINK_SALT = "hubport.sign-in-link"
# A count kept a month after the latest failure: long enough that slow
# guessing adds up, short enough that a forgotten count ends by itself.
ACCOUNT_COUNT_KEPT_SECONDS = 30 * 24 * 3600
LINK_MAILS = 3
LINK_MAIL_WINDOW_MINUTES = 15
LINK_SENT_MESSAGE = (
    "We emailed you a link to finish signing in. Many wrong passwords were tried on this account, "
    "so the password alone is not enough this time; the link works once, for {minutes} minutes."
)


def link_threshold() -> int:
    return int(getattr(settings, "HUBPORT_SIGN_IN_ACCOUNT_LINK_THRESHOLD", 100))


def link_minutes() -> int:
    return int(getattr(settings, "HUBPORT_SIGN_IN_LINK_MINUTES", 15))


def _account_key(email: str) -> str:
    return f"{KEY_PREFIX}:sign_in.account:{key_digest(email.strip().lower())}"


# SECTION: the account's consecutive failures


def account_failure_record(email: str) -> int:
    """One more failed sign-in of this account (known or not), from anywhere."""
    key = _account_key(email)
    cache.add(key, 0, timeout=ACCOUNT_COUNT_KEPT_SECONDS)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between the two calls
        cache.set(key, 1, timeout=ACCOUNT_COUNT_KEPT_SECONDS)
        count = 1
    cache.touch(key, timeout=ACCOUNT_COUNT_KEPT_SECONDS)
    return int(count)


def account_failures(email: str) -> int:
    return int(cache.get(_account_key(email)) or 0)


def account_failures_clear(email: str) -> None:
    cache.delete(_account_key(email))


def link_required(email: str) -> bool:
    return account_failures(email) >= link_threshold()


# SECTION: the link


def _issued_key(nonce: str) -> str:
    return f"{KEY_PREFIX}:sign_in_link:issued:{nonce}"


def _used_key(nonce: str) -> str:
    return f"{KEY_PREFIX}:sign_in_link:used:{nonce}"


def sign_in_link_issue(*, user: Any, next_url: str) -> str:
    """A new link's token for ``user``, its nonce marked issued for its lifetime."""
    nonce = secrets.token_urlsafe(18)
    cache.set(_issued_key(nonce), user.pk, timeout=link_minutes() * 60)
    return signing.dumps({"u": user.pk, "n": nonce, "next": next_url}, salt=LINK_SALT, compress=True)


def sign_in_link_send(*, request: HttpRequest, user: Any, next_url: str) -> bool:
    """Email a link to the account's own address, through the one path of
    security emails (queued, sent by a worker, retried; saying when, from where
    and on what); at most ``LINK_MAILS`` in ``LINK_MAIL_WINDOW_MINUTES`` per
    account (False: not sent, the earlier links still work)."""
    limit = Limit("sign_in.link_mail", LINK_MAILS, LINK_MAIL_WINDOW_MINUTES)
    if window_wait_seconds(limit, str(user.pk)):
        return False
    failure_record(limit, str(user.pk))
    token = sign_in_link_issue(user=user, next_url=next_url)
    details = {
        **event_details(request=request, user=user),
        "link": absolute_url("login_link", token=token),
        "valid_for": f"{link_minutes()} minutes",
    }
    account_notice_send(user=user, kind=AccountNotice.SIGN_IN_LINK, details=details)
    return True


def link_sent_response(request: HttpRequest, *, user: Any, next_url: str, form: Any) -> HttpResponse:
    """The sign-in page again, saying a link was emailed (whether this attempt
    sent one or an earlier one still stands): nobody is signed in."""
    sign_in_link_send(request=request, user=user, next_url=next_url)
    messages.info(request, LINK_SENT_MESSAGE.format(minutes=link_minutes()))
    return render(request, "registration/login.html", {"form": form, "next": next_url})


@dataclass(frozen=True)
class LinkCheck:
    user: Any = None
    next_url: str = ""
    refusal: str = ""


def sign_in_link_peek(token: str) -> LinkCheck:
    """Whether the token is a valid, unexpired, unused link (claims nothing)."""
    try:
        data = signing.loads(token, salt=LINK_SALT, max_age=link_minutes() * 60)
    except signing.SignatureExpired:
        return LinkCheck(refusal="This sign-in link has expired. Sign in again to get a new one.")
    except signing.BadSignature:
        return LinkCheck(refusal="This sign-in link is not valid. Sign in again to get a new one.")
    if not isinstance(data, dict) or not isinstance(data.get("n"), str):
        return LinkCheck(refusal="This sign-in link is not valid. Sign in again to get a new one.")
    nonce, user_id = data["n"], data.get("u")
    if not isinstance(user_id, int):
        return LinkCheck(refusal="This sign-in link is not valid. Sign in again to get a new one.")
    if cache.get(_used_key(nonce)) is not None or cache.get(_issued_key(nonce)) != user_id:
        return LinkCheck(refusal="This sign-in link has been used already. Sign in again to get a new one.")
    user = get_user_model()._default_manager.filter(pk=user_id, is_active=True).first()
    if user is None:
        return LinkCheck(refusal="This sign-in link is not valid. Sign in again to get a new one.")
    return LinkCheck(user=user, next_url=str(data.get("next") or ""))


def sign_in_link_redeem(token: str) -> LinkCheck:
    """Claim the link once: the password step is then done, and the account's
    count of failures is cleared (its owner proved they read its email)."""
    check = sign_in_link_peek(token)
    if check.refusal:
        return check
    nonce = signing.loads(token, salt=LINK_SALT)["n"]
    if not cache.add(_used_key(nonce), 1, timeout=link_minutes() * 60 + 60):
        return LinkCheck(refusal="This sign-in link has been used already. Sign in again to get a new one.")
    cache.delete(_issued_key(nonce))
    account_failures_clear(check.user.email)
    return check
