"""Domain errors: what went wrong, said once, for every edge.

A domain error carries a stable ``code`` in snake_case (``name_taken``,
``quota_exceeded``), a ``title`` a person reads, and a ``detail`` that says
what to do about it; never an HTTP status. The edges in ``portal`` decide how
to answer: ``portal.problems.STATUS_BY_CODE`` maps each code to its status,
one builder makes the API's and the pages' problem details, and one decorator
turns a refusal into a page message. ``values`` holds what the message was
made from (``reasons``, a window's id), for the edges that show it as data.

Every app's ``errors.py`` subclasses ``DomainError``; this module holds the
base and the errors of ``hubs``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import InterfaceError, OperationalError

# A database error that says the connection broke or could not be made (a
# server gone, a failover under way, the network), or that SQLite was busy:
# the work may succeed when tried again, and a write that failed so may have
# committed all the same.
DATABASE_UNREACHABLE: tuple[type[Exception], ...] = (OperationalError, InterfaceError)


class DomainError(Exception):
    """A refusal the product makes on purpose; not a fault, and never logged as one."""

    code: str = "refused"
    title: str = "Request refused"

    def __init__(self, detail: str, **values: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.values = values


class HubChangeError(DomainError):
    """A tenant's hub is chosen at signup and never changes."""

    code = "hub_immutable"
    title = "A tenant's hub cannot be changed"


class HubFailoverError(DomainError):
    """A failover that must not happen (unknown or unavailable facility, no reason)."""

    code = "failover_refused"
    title = "Failover refused"


class FacilityChangeError(DomainError):
    """A facility change that must not happen (a blank name)."""

    code = "facility_change_refused"
    title = "Facility change refused"


class MembershipRefused(DomainError):
    """A membership change that must not happen: the last owner leaving, an unknown
    role, a person added twice. The message says what to do instead."""

    code = "membership_refused"
    title = "Membership change refused"


class RoleForbidden(DomainError):
    """The person's role in the tenant does not allow the action (``hubs.roles``):
    a read-only member changing a file, a member inviting someone."""

    code = "role_forbidden"
    title = "Your role does not allow this"


class InvitationRefused(DomainError):
    """An invitation that must not be made or accepted: an address already a
    member, an unknown role, an account with another address."""

    code = "invitation_refused"
    title = "Invitation refused"


class InvitationLinkInvalid(DomainError):
    """An invitation link altered, expired, revoked, replaced or used already."""

    code = "invitation_link_invalid"
    title = "This invitation link cannot be used"


class TeamNotFound(DomainError):
    """No such member or invitation in this tenant (another tenant's look the same)."""

    code = "member_not_found"
    title = "Not found"


class MaintenanceRefused(DomainError):
    """The window would break the promise (or is malformed); ``reasons`` says what to change."""

    code = "maintenance_refused"
    title = "Maintenance window refused"

    def __init__(self, reasons: Sequence[str]) -> None:
        self.reasons = list(reasons)
        super().__init__(" ".join(self.reasons), reasons=self.reasons)


class HubInMaintenance(DomainError):
    """A running maintenance window makes the tenant's hub unavailable."""

    code = "maintenance"
    title = "Unavailable during maintenance"


class HubReadOnly(HubInMaintenance):
    """A running maintenance window makes the tenant's hub read-only: reads work, writes do not."""

    code = "maintenance_read_only"
    title = "Read-only during maintenance"


class IncidentRefused(DomainError):
    """An incident change that must not happen: an unknown state, a step from a
    resolved incident other than reopening an automatic one, an empty update."""

    code = "incident_refused"
    title = "Incident change refused"


class AlertLinkInvalid(DomainError):
    """A signed acknowledge link that was altered, made for another purpose, or has expired."""

    code = "alert_link_invalid"
    title = "This acknowledge link cannot be used"


class StatusSubscriptionRefused(DomainError):
    """A subscription that cannot be made: no hub chosen, or a hub that does not exist."""

    code = "subscription_refused"
    title = "Subscription refused"


class StatusLinkInvalid(DomainError):
    """A confirmation or unsubscribe link that was altered, has expired, or names nothing."""

    code = "status_link_invalid"
    title = "This link does not work"
