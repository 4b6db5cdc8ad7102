"""The sign-in and code steps' use of ``attempts``: one guard per attempt,
which says how long to wait and counts the outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from portal.security.attempts import Limit, code_limit, failure_record, failures_clear, longest_wait, sign_in_limits


@dataclass
class Guard:
    checks: list[tuple[Limit, str]]
    # Cleared on success: the account-and-address pair, never the address's
    # own count (one good password must not wash out a spray of bad ones).
    cleared_on_success: list[tuple[Limit, str]] = field(default_factory=list)
    wait: int = 0

    def failed(self) -> None:
        for limit, key in self.checks:
            failure_record(limit, key)

    def succeeded(self) -> None:
        for limit, key in self.cleared_on_success:
            failures_clear(limit, key)


def _address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")


def sign_in_guard(request: HttpRequest, *, email: str) -> Guard:
    pair, per_address = sign_in_limits()
    address = _address(request)
    pair_key = f"{email.strip().lower()}|{address}"
    checks = [(pair, pair_key), (per_address, address)]
    return Guard(checks=checks, cleared_on_success=[(pair, pair_key)], wait=longest_wait(checks))


def code_guard(request: HttpRequest, *, user_id: int) -> Guard:
    checks = [(code_limit(), f"{user_id}|{_address(request)}")]
    return Guard(checks=checks, cleared_on_success=checks, wait=longest_wait(checks))


def wait_words(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} seconds"
    return f"{(seconds + 59) // 60} minutes"


def slowed_down(request: HttpRequest, template: str, context: dict[str, Any], wait: int) -> HttpResponse:
    """The page again, answered 429 with Retry-After, saying how long to wait."""
    message = (
        f"Too many failed attempts from your network. Wait {wait_words(wait)} and try again; "
        "nothing is locked, and signing in from elsewhere still works."
    )
    response = render(request, template, {**context, "slowed_down": message}, status=429)
    response["Retry-After"] = str(wait)
    return response
