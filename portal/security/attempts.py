"""Failed attempts counted in the shared cache, in rolling windows, and the
slow-down they earn: never a lock.

A ``Limit`` counts failures of one kind (``sign_in.account_address``,
``token.address``, ...) per key (an address, an account, or both) in
one-minute buckets, so "5 in the last 15 minutes" is the sum of the last 15
buckets: a rolling window, not a fixed one that an attacker can straddle. From
the ``threshold``-th failure on, the key waits before its next attempt is even
looked at: the first tier's wait after the threshold is reached, the next
tier's after one more failure, and so on, each measured from the latest
failure. Waiting out the tier always lets the next attempt through; a success
clears the key's count. Keys are hashed, so the cache never holds an email
address or a token.

Hand-written on Django's cache rather than django-axes or django-ratelimit:
axes locks (a cool-off, per combination, for sign-ins only) where the product
must only slow down, in tiers, across sign-ins, codes and tokens alike; and
ratelimit counts fixed windows with no notion of a growing wait. What is
left, bucket counting on the cache both already use, is this module.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

KEY_PREFIX = "attempts"


@dataclass(frozen=True)
class Limit:
    name: str
    threshold: int
    window_minutes: int
    # Seconds to wait once the threshold is reached, then after each further failure.
    tiers: Sequence[int] = (30, 60, 300, 900)

    @property
    def window_seconds(self) -> int:
        return self.window_minutes * 60


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def sign_in_limits() -> tuple[Limit, Limit]:
    """One account from one address, and one address across any accounts."""
    window = _setting("HUBPORT_SIGN_IN_WINDOW_MINUTES", 15)
    return (
        Limit("sign_in.account_address", _setting("HUBPORT_SIGN_IN_FAILURES_PER_ACCOUNT_ADDRESS", 5), window),
        Limit("sign_in.address", _setting("HUBPORT_SIGN_IN_FAILURES_PER_ADDRESS", 20), window),
    )


def code_limit() -> Limit:
    """Wrong two-factor codes of one account from one address: the owner's
    other sessions, from their own address, are never slowed by an attacker's."""
    return Limit(
        "code.account_address",
        _setting("HUBPORT_CODE_FAILURES_PER_ACCOUNT_ADDRESS", 5),
        _setting("HUBPORT_SIGN_IN_WINDOW_MINUTES", 15),
    )


def token_limit() -> Limit:
    """Failed bearer-token authentications from one address: 20 a minute by default."""
    return Limit("token.address", _setting("HUBPORT_TOKEN_FAILURES_PER_ADDRESS", 20), 1, tiers=(60, 120, 300, 900))


def password_reset_limits() -> tuple[Limit, Limit]:
    """Reset requests (not failures: every request counts) for one email, and
    from one address across any emails, in an hour: 5 and 20 by default."""
    window = _setting("HUBPORT_PASSWORD_RESET_WINDOW_MINUTES", 60)
    return (
        Limit("password_reset.email", _setting("HUBPORT_PASSWORD_RESETS_PER_EMAIL", 5), window),
        Limit("password_reset.address", _setting("HUBPORT_PASSWORD_RESETS_PER_ADDRESS", 20), window),
    )


def signup_limit() -> Limit:
    """Signup attempts (every POST) from one address: 10 an hour by default."""
    return Limit(
        "signup.address",
        _setting("HUBPORT_SIGNUPS_PER_ADDRESS", 10),
        _setting("HUBPORT_SIGNUP_WINDOW_MINUTES", 60),
    )


def _digest(key: str) -> str:
    return hashlib.blake2b(key.encode("utf-8"), digest_size=16, key=settings.SECRET_KEY.encode()[:64]).hexdigest()


def key_digest(key: str) -> str:
    """A key as the cache holds it: keyed BLAKE2b, never the email or token itself."""
    return _digest(key)


def _minute(now: datetime) -> int:
    return int(now.timestamp() // 60)


def _bucket_keys(limit: Limit, digest: str, now: datetime) -> list[str]:
    current = _minute(now)
    return [
        f"{KEY_PREFIX}:{limit.name}:{digest}:{minute}"
        for minute in range(current - limit.window_minutes + 1, current + 1)
    ]


def _last_key(limit: Limit, digest: str) -> str:
    return f"{KEY_PREFIX}:{limit.name}:{digest}:last"


def failures(limit: Limit, key: str, *, now: datetime | None = None) -> int:
    """Failures of ``key`` inside the limit's rolling window."""
    now = now or timezone.now()
    values = cache.get_many(_bucket_keys(limit, _digest(key), now))
    return sum(int(value) for value in values.values())


def failure_record(limit: Limit, key: str, *, now: datetime | None = None) -> int:
    """Count one failure; returns the window's count including it."""
    now = now or timezone.now()
    digest = _digest(key)
    bucket = _bucket_keys(limit, digest, now)[-1]
    # add() then incr(): atomic on Redis and on the other backends alike.
    cache.add(bucket, 0, timeout=limit.window_seconds + 60)
    try:
        cache.incr(bucket)
    except ValueError:  # the bucket expired between the two calls
        cache.set(bucket, 1, timeout=limit.window_seconds + 60)
    cache.set(_last_key(limit, digest), now.timestamp(), timeout=limit.window_seconds + max(limit.tiers))
    return failures(limit, key, now=now)


def wait_seconds(limit: Limit, key: str, *, now: datetime | None = None) -> int:
    """Seconds ``key`` must wait before its next attempt is looked at (0: go)."""
    now = now or timezone.now()
    count = failures(limit, key, now=now)
    if count < limit.threshold:
        return 0
    last = cache.get(_last_key(limit, _digest(key)))
    if last is None:
        return 0
    tier = limit.tiers[min(count - limit.threshold, len(limit.tiers) - 1)]
    remaining = float(last) + tier - now.timestamp()
    return max(0, math.ceil(remaining))


def window_wait_seconds(limit: Limit, key: str, *, now: datetime | None = None) -> int:
    """A plain rolling-window rate: seconds until the key's count in the window
    falls below the threshold again, as its oldest attempts leave the window (0:
    go). For requests that are not failures (a reset, a signup), where a growing
    tier would punish the owner for the attacker's requests."""
    now = now or timezone.now()
    keys = _bucket_keys(limit, _digest(key), now)
    values = cache.get_many(keys)
    counts = [int(values.get(bucket, 0)) for bucket in keys]  # oldest minute first
    remaining = sum(counts)
    if remaining < limit.threshold:
        return 0
    first_minute = _minute(now) - limit.window_minutes + 1
    for offset, count in enumerate(counts):
        remaining -= count
        if remaining < limit.threshold:
            # That minute's attempts leave the window when it is window_minutes old.
            leaves_at = (first_minute + offset + limit.window_minutes) * 60
            return max(1, math.ceil(leaves_at - now.timestamp()))
    return 0  # pragma: no cover - the loop empties the window


def longest_wait(checks: Sequence[tuple[Limit, str]], *, now: datetime | None = None) -> int:
    now = now or timezone.now()
    return max((wait_seconds(limit, key, now=now) for limit, key in checks), default=0)


def failures_clear(limit: Limit, key: str, *, now: datetime | None = None) -> None:
    now = now or timezone.now()
    digest = _digest(key)
    cache.delete_many([*_bucket_keys(limit, digest, now), _last_key(limit, digest)])
