"""Reads of the customer side."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.db.models import QuerySet

from hubs.models import Membership, MembershipEvent, Tenant
from portal.models import AuthenticatorDevice, SignInEvent, User

logger = logging.getLogger(__name__)


def memberships_for_user(*, user: User) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("tenant", "tenant__hub").order_by("tenant__name")


MAX_ID = 2**63 - 1


def membership_for(*, user: User, tenant_id: int) -> Membership | None:
    if not isinstance(tenant_id, int) or not 0 < tenant_id <= MAX_ID:
        return None
    return memberships_for_user(user=user).filter(tenant_id=tenant_id).first()


def tenant_get(*, tenant_id: int) -> Tenant | None:
    return Tenant.objects.select_related("hub").filter(pk=tenant_id).first()


# SECTION: time zones

# The areas of the IANA database; leaves out its aliases (Japan, US/Pacific,
# Etc/GMT-9) and the system's own "localtime", so each place is offered once.
ZONE_AREAS = ("Africa", "America", "Antarctica", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific")


@cache
def time_zone_names() -> tuple[str, ...]:
    """The zones a person may choose, sorted: every IANA place, and UTC."""
    return ("UTC", *sorted(name for name in available_timezones() if name.split("/", 1)[0] in ZONE_AREAS))


def display_zone_for(*, user: User | None, tenant: Tenant | None) -> ZoneInfo:
    """The one zone a person reads every time in: their own (their profile),
    else their workspace hub's, else UTC."""
    for name in (user.time_zone if user is not None else "", tenant.hub.time_zone if tenant is not None else ""):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                # A zone the server's tz database no longer has: fall back
                # rather than fail every page.
                logger.warning("Unknown time zone %r; falling back", name)
    return ZoneInfo("UTC")


# SECTION: the person's sign-ins


def sign_in_events_for(*, user: User) -> QuerySet[SignInEvent]:
    """The person's own sign-in attempts, newest first (never anyone else's)."""
    return SignInEvent.objects.filter(user=user).order_by("-created_at", "-id")


# SECTION: the team


@dataclass(frozen=True)
class TeamMember:
    """One line of the members page: the membership, whether the person has a
    confirmed authenticator app, and when they last signed in (None: never)."""

    membership: Membership
    has_two_factor: bool
    last_sign_in: datetime | None


def team_members(*, tenant: Tenant) -> list[TeamMember]:
    """The tenant's members, owners first, then by email: three queries whatever the size."""
    memberships = list(Membership.objects.filter(tenant=tenant).select_related("user").order_by("user__email"))
    user_ids = [membership.user_id for membership in memberships]
    enrolled = set(
        AuthenticatorDevice.objects.filter(user_id__in=user_ids, confirmed=True).values_list("user_id", flat=True)
    )
    order = {role: position for position, role in enumerate(Membership.Role.values)}
    memberships.sort(key=lambda membership: order.get(membership.role, len(order)))
    return [
        TeamMember(
            membership=membership,
            has_two_factor=membership.user_id in enrolled,
            last_sign_in=membership.user.last_login,
        )
        for membership in memberships
    ]


def membership_events(*, tenant: Tenant, limit: int = 50) -> list[MembershipEvent]:
    """The tenant's latest team changes, newest first."""
    return list(MembershipEvent.objects.filter(tenant=tenant).order_by("-at", "-id")[:limit])
