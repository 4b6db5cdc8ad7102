"""Signs of attack, counted in the shared cache for the ``security.*`` probes.

The portal reports each failed sign-in (with its client address and account)
and each failed bearer token; this module keeps what the detectors need and
nothing more:

- **Distinct counts** per subject over a rolling window (distinct accounts
  failing from one address: password spraying; distinct addresses failing on
  one account: credential stuffing). A member is counted the first time it is
  seen in the window (``cache.add`` of a member key that lives a window, then
  one more in the subject's per-minute counter), so the count is the sum of
  the window's minute counters, with no set read and rewritten. It is bounded:
  once a subject is past its threshold no further member key is made, so an
  attack of a million addresses costs a threshold's worth of keys per window.
- **Detections** per hub and minute (``security`` counters): one each time a
  failure arrives from a subject past its threshold. The probes fail while
  the last ``HUBPORT_DETECT_RECENT_MINUTES`` hold any, so an incident opens
  after two rounds and resolves two rounds after the attack stops.

Every subject and member is a keyed BLAKE2b digest (the secret key), so the
cache never holds an email, an address in clear or a token.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from django.conf import settings
from django.core.cache import cache

from hubs.monitoring.minute_counters import CONTROL, KEPT_SECONDS, counters_add, counters_sum

PREFIX = "security"
SPRAYING = "spraying"
STUFFING = "stuffing"
TOKEN_FAILURES = "token_failures"
# Minute counters are kept 16 minutes: no window reads further back.
LONGEST_WINDOW_MINUTES = KEPT_SECONDS // 60 - 1


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def window_minutes() -> int:
    return max(1, min(_setting("HUBPORT_DETECT_WINDOW_MINUTES", 15), LONGEST_WINDOW_MINUTES))


def recent_minutes() -> int:
    return max(1, min(_setting("HUBPORT_DETECT_RECENT_MINUTES", 5), LONGEST_WINDOW_MINUTES))


def _digest(value: str) -> str:
    return hashlib.blake2b(
        value.encode("utf-8"), digest_size=12, key=settings.SECRET_KEY.encode()[:64], person=b"hubport-detect"
    ).hexdigest()


def distinct_record(*, kind: str, subject: str, member: str, cap: int, moment: datetime | None = None) -> int:
    """Count ``member`` for ``subject`` if not seen in the window; returns the
    subject's distinct members in the window (past ``cap``, no more are tracked)."""
    window = window_minutes()
    subject_key = _digest(subject)
    prefix = f"{PREFIX}.{kind}"
    count = counters_sum(prefix=prefix, scope=subject_key, names=["new"], minutes=window, moment=moment)["new"]
    if count > cap:
        return count
    member_key = f"hubport:{prefix}:{subject_key}:member:{_digest(member)}"
    if cache.add(member_key, 1, timeout=window * 60):
        counters_add(prefix=prefix, scope=subject_key, names=["new"], moment=moment)
        count += 1
    return count


def detection_record(*, kind: str, hub_code: str | None, moment: datetime | None = None) -> None:
    counters_add(prefix=PREFIX, scope=hub_code or CONTROL, names=[kind], moment=moment)


def detections_count(*, kind: str, hub_code: str | None, minutes: int, moment: datetime | None = None) -> int:
    return counters_sum(prefix=PREFIX, scope=hub_code or CONTROL, names=[kind], minutes=minutes, moment=moment)[kind]


def spraying_threshold() -> int:
    return _setting("HUBPORT_DETECT_SPRAYING_ACCOUNTS", 10)


def stuffing_threshold() -> int:
    return _setting("HUBPORT_DETECT_STUFFING_ADDRESSES", 10)


def token_failures_threshold() -> int:
    return _setting("HUBPORT_DETECT_TOKEN_FAILURES", 100)


def sign_in_failure_observe(
    *, address: str, account: str, hub_codes: Sequence[str | None], moment: datetime | None = None
) -> list[str]:
    """One failed sign-in of ``account`` (an email, known or not) from
    ``address``; returns the detections it made. Spraying counts for the
    control plane (it spans accounts and hubs), stuffing for the hubs of the
    account (the control plane for an unknown one)."""
    account = account.strip().lower()
    found = []
    if address and account:
        accounts = distinct_record(
            kind=SPRAYING, subject=address, member=account, cap=spraying_threshold(), moment=moment
        )
        if accounts >= spraying_threshold():
            detection_record(kind=SPRAYING, hub_code=None, moment=moment)
            found.append(SPRAYING)
        addresses = distinct_record(
            kind=STUFFING, subject=account, member=address, cap=stuffing_threshold(), moment=moment
        )
        if addresses >= stuffing_threshold():
            for hub_code in hub_codes or [None]:
                detection_record(kind=STUFFING, hub_code=hub_code, moment=moment)
            found.append(STUFFING)
    return found


def token_failure_observe(*, moment: datetime | None = None) -> None:
    """One failed bearer-token authentication (the token's tenant is unknown: the control plane)."""
    detection_record(kind=TOKEN_FAILURES, hub_code=None, moment=moment)
