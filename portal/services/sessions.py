"""A person's active sessions: recorded at sign-in (``user_logged_in``), seen
at most once a minute by ``portal.middleware.sessions``, forgotten at sign-out
(``user_logged_out``), ended one at a time or all but the current one from
Settings → Sign-ins and sessions, and their rows expired hourly once the
session itself has gone from the store.

A session is named by the SHA-256 of its key (``key_hash``) everywhere a
person or a page sees it; ending one looks it up among the person's own rows
only, so another person's session can never be named, let alone ended.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import timedelta
from importlib import import_module
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.base import SessionBase
from django.core.cache import cache
from django.db import router, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from portal.models import UserSession
from portal.security.devices import device_label, request_address, request_user_agent
from portal.security.networks import valid_address

if TYPE_CHECKING:
    from portal.models import User

# A session's "last seen" is written at most once a minute: one UPDATE a
# minute per active browser, however many requests it makes.
SEEN_EVERY_SECONDS = 60
EXPIRE_BATCH_ROWS = 500


def session_key_hash(session_key: str) -> str:
    return hashlib.sha256(session_key.encode()).hexdigest()


def session_store(session_key: str | None = None) -> SessionBase:
    engine = import_module(settings.SESSION_ENGINE)
    return engine.SessionStore(session_key=session_key)


def session_is_alive(*, session_key: str, user: User) -> bool:
    """Whether the store still holds this session, unexpired, signed in as
    ``user`` and still valid for them: a changed password ends every session
    whose stored password hash no longer matches (as Django's get_user judges)."""
    data = session_store(session_key).load()
    if str(data.get(SESSION_KEY, "")) != str(user.pk):
        return False
    stored = data.get(HASH_SESSION_KEY)
    if not isinstance(stored, str):
        return False
    valid = [user.get_session_auth_hash()]
    fallback_hash = getattr(user, "_get_session_auth_hash", None)
    if fallback_hash is not None:
        valid += [fallback_hash(secret=secret) for secret in settings.SECRET_KEY_FALLBACKS]
    return any(constant_time_compare(stored, candidate) for candidate in valid)


def _where_from(request: HttpRequest) -> dict[str, object]:
    user_agent = request_user_agent(request)
    return {
        "address": valid_address(request_address(request)),
        "user_agent": user_agent,
        "device": device_label(user_agent)[:200],
    }


def user_session_record(*, user: User, request: HttpRequest) -> UserSession | None:
    """The row for ``request``'s session, made or refreshed (at sign-in)."""
    session_key = request.session.session_key
    if not session_key:
        return None
    now = timezone.now()
    key_hash = session_key_hash(session_key)
    row, _ = UserSession.objects.update_or_create(
        key_hash=key_hash,
        defaults={"user": user, "session_key": session_key, "last_seen_at": now, **_where_from(request)},
        create_defaults={
            "user": user,
            "session_key": session_key,
            "created_at": now,
            "last_seen_at": now,
            **_where_from(request),
        },
    )
    cache.set(f"hubport:session-seen:{key_hash}", now.timestamp(), SEEN_EVERY_SECONDS * 2)
    return row


def user_session_touch(*, user: User, request: HttpRequest) -> None:
    """Note that ``request``'s session was used, at most once a minute; a
    session signed in before its row existed gets one now.

    The cache remembers when each session was last written, so most requests
    make no query; the UPDATE itself only matches a row not written in the
    last minute, so two requests at once (or a cache that lost the key)
    still write once."""
    session_key = request.session.session_key
    if not session_key:
        return
    key_hash = session_key_hash(session_key)
    cache_key = f"hubport:session-seen:{key_hash}"
    now = timezone.now()
    written = cache.get(cache_key)
    if isinstance(written, (int, float)) and 0 <= now.timestamp() - written < SEEN_EVERY_SECONDS:
        return
    cache.set(cache_key, now.timestamp(), SEEN_EVERY_SECONDS * 2)
    rows = UserSession.objects.filter(key_hash=key_hash, user=user)
    updated = rows.filter(last_seen_at__lte=now - timedelta(seconds=SEEN_EVERY_SECONDS)).update(
        last_seen_at=now, **_where_from(request)
    )
    if not updated and not rows.exists():
        user_session_record(user=user, request=request)


def user_session_forget(*, session_key: str | None) -> None:
    """Drop the row of a session that signed out (the store flushes the session)."""
    if session_key:
        UserSession.objects.filter(key_hash=session_key_hash(session_key)).delete()


def _end(rows: Iterable[UserSession]) -> int:
    ended = 0
    for row in rows:
        session_store().delete(row.session_key)
        ended += UserSession.objects.filter(pk=row.pk).delete()[0]
    return ended


def user_session_end(*, user: User, key_hash: str, current_key: str | None) -> bool:
    """End one of ``user``'s own sessions (not the current one: that is
    signing out). False when ``key_hash`` names none of theirs."""
    if current_key and key_hash == session_key_hash(current_key):
        return False
    with transaction.atomic(using=router.db_for_write(UserSession)):
        return _end(UserSession.objects.filter(user=user, key_hash=key_hash)) > 0


def user_sessions_end_others(*, user: User, current_key: str | None) -> int:
    """End every session of ``user`` but the current one; how many ended."""
    rows = UserSession.objects.filter(user=user)
    if current_key:
        rows = rows.exclude(key_hash=session_key_hash(current_key))
    with transaction.atomic(using=router.db_for_write(UserSession)):
        return _end(list(rows))


def user_sessions_prune(*, user: User) -> list[UserSession]:
    """The person's sessions that are still alive, newest first; rows of
    expired or ended sessions are dropped on the way."""
    alive: list[int] = []
    dead: list[int] = []
    for row in UserSession.objects.filter(user=user).order_by("-last_seen_at", "-id"):
        (alive if session_is_alive(session_key=row.session_key, user=user) else dead).append(row.pk)
    if dead:
        UserSession.objects.filter(pk__in=dead).delete()
    return [row for row in UserSession.objects.filter(pk__in=alive).order_by("-last_seen_at", "-id")]


def user_sessions_expire(*, batch_rows: int = EXPIRE_BATCH_ROWS) -> int:
    """Hourly: drop the rows of sessions the store no longer holds (expired,
    ended without a sign-out, or ended by a password change), a batch at a
    time; how many went."""
    removed, after = 0, 0
    while True:
        batch = list(UserSession.objects.filter(pk__gt=after).select_related("user").order_by("pk")[:batch_rows])
        if not batch:
            return removed
        after = batch[-1].pk
        dead = [row.pk for row in batch if not session_is_alive(session_key=row.session_key, user=row.user)]
        if dead:
            removed += UserSession.objects.filter(pk__in=dead).delete()[0]
