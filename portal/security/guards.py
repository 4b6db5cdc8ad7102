"""The sign-in and code steps' use of ``attempts``: one guard per attempt,
which says how long to wait and counts the outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from portal.security.attempts import (
    Limit,
    code_limit,
    failure_record,
    failures_clear,
    longest_wait,
    password_reset_limits,
    sign_in_limits,
    signup_limit,
    window_wait_seconds,
)
from portal.security.sign_in_link import account_failure_record, account_failures_clear, link_required


@dataclass
class Guard:
    checks: list[tuple[Limit, str]]
    # Cleared on success: the account-and-address pair, never the address's
    # own count (one good password must not wash out a spray of bad ones).
    cleared_on_success: list[tuple[Limit, str]] = field(default_factory=list)
    wait: int = 0
    # The sign-in step's account (its email), counted across every address
    # for the account's high threshold (portal.security.sign_in_link).
    account: str = ""

    def failed(self) -> None:
        for limit, key in self.checks:
            failure_record(limit, key)
        if self.account:
            account_failure_record(self.account)

    def succeeded(self) -> None:
        for limit, key in self.cleared_on_success:
            failures_clear(limit, key)
        if self.account:
            account_failures_clear(self.account)

    def link_required(self) -> bool:
        """Past the account's high threshold: the right password sends a link instead of signing in."""
        return bool(self.account) and link_required(self.account)


def _address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")


def sign_in_guard(request: HttpRequest, *, email: str) -> Guard:
    pair, per_address = sign_in_limits()
    address = _address(request)
    pair_key = f"{email.strip().lower()}|{address}"
    checks = [(pair, pair_key), (per_address, address)]
    return Guard(
        checks=checks, cleared_on_success=[(pair, pair_key)], wait=longest_wait(checks), account=email.strip().lower()
    )


def code_guard(request: HttpRequest, *, user_id: int) -> Guard:
    checks = [(code_limit(), f"{user_id}|{_address(request)}")]
    return Guard(checks=checks, cleared_on_success=checks, wait=longest_wait(checks))


@dataclass
class RateGuard:
    """Requests (not failures) counted in a rolling window: over the limit, the
    request waits until its oldest counted ones leave the window."""

    checks: list[tuple[Limit, str]]
    wait: int = 0

    def counted(self) -> None:
        for limit, key in self.checks:
            failure_record(limit, key)


def _rate_guard(checks: list[tuple[Limit, str]]) -> RateGuard:
    return RateGuard(checks=checks, wait=max((window_wait_seconds(limit, key) for limit, key in checks), default=0))


def password_reset_guard(request: HttpRequest, *, email: str) -> RateGuard:
    """Per email (whether or not it has an account, so a 429 tells nothing) and per address."""
    per_email, per_address = password_reset_limits()
    return _rate_guard([(per_email, email.strip().lower()), (per_address, _address(request))])


def signup_guard(request: HttpRequest) -> RateGuard:
    return _rate_guard([(signup_limit(), _address(request))])


def wait_words(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} seconds"
    return f"{(seconds + 59) // 60} minutes"


def slowed_down(
    request: HttpRequest, template: str, context: dict[str, Any], wait: int, *, message: str | None = None
) -> HttpResponse:
    """The page again, answered 429 with Retry-After, saying how long to wait
    (``message`` may use ``{wait}``)."""
    message = (
        message
        or "Too many failed attempts from your network. Wait {wait} and try again; "
        "nothing is locked, and signing in from elsewhere still works."
    ).format(wait=wait_words(wait))
    response = render(request, template, {**context, "slowed_down": message}, status=429)
    response["Retry-After"] = str(wait)
    return response
