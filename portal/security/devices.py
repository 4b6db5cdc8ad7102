"""What a request says about where it came from, in words a person reads:
"Chrome 131 on Windows", "rclone 1.60", the client address the edge believed
(``portal.middleware.client_address``), and the moment in the person's zone.
Used by the sign-in history, the sessions list and every security email."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.http import HttpRequest
from django.utils import timezone
from ua_parser import parse

from hubs.display import time_label
from portal.selectors import display_zone_for

if TYPE_CHECKING:
    from portal.models import User

# Long enough for any real browser's header; a longer one is cut before parsing.
USER_AGENT_MAX_LENGTH = 512
UNKNOWN_DEVICE = "an unknown device"


def device_label(user_agent: str) -> str:
    """ "Chrome 131 on Windows", "Firefox on Linux", "rclone 1.60", or
    "an unknown device" for an empty or unparseable header."""
    text = (user_agent or "")[:USER_AGENT_MAX_LENGTH].strip()
    if not text:
        return UNKNOWN_DEVICE
    result = parse(text)
    agent = result.user_agent
    if agent is None or agent.family == "Other":
        return UNKNOWN_DEVICE
    name = f"{agent.family} {agent.major}" if agent.major else agent.family
    system = result.os.family if result.os is not None and result.os.family != "Other" else ""
    return f"{name} on {system}" if system else name


def request_user_agent(request: HttpRequest) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX_LENGTH]


def request_address(request: HttpRequest) -> str:
    """The client address the edge believed (the middleware sets REMOTE_ADDR)."""
    return request.META.get("REMOTE_ADDR", "")


def event_details(*, request: HttpRequest, user: User, moment: datetime | None = None) -> dict[str, str]:
    """When, from where and on what, for a security email to ``user``: the
    moment in the person's own zone (they read it away from any page)."""
    with timezone.override(display_zone_for(user=user, tenant=None)):
        when = time_label(moment or timezone.now())
    return {
        "time": when,
        "address": request_address(request) or "unknown",
        "device": device_label(request_user_agent(request)),
    }
