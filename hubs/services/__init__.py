"""Writes to hubs, one module per job:

- ``audit``: the staff audit log every service writes inside its transaction;
- ``hubs``: failover and a facility's name and availability;
- ``memberships``: people added to a tenant, their role changed, removed;
- ``maintenance``: maintenance windows scheduled, changed, cancelled, and
  failed notices sent again;
- ``notices``: the notice outbox (rows made, claimed, sent, failed);
- ``advance``: the minute's job that moves windows on time;
- ``incidents``: probe observations into incidents, and staff's steps on them
  (imported from its module, like the two before it);
- ``status_subscriptions``: subscribers by email, double opt-in, and the rows
  that tell them of incidents and maintenance (imported from its module).

The functions of ``audit``, ``hubs`` and ``memberships`` are imported from
here. Those of ``maintenance``, ``notices`` and ``advance`` are imported from
their modules: ``hubs.tasks`` imports ``notices`` and ``advance``, and
``maintenance`` imports ``hubs.tasks``, so gathering them here would make the
task module import itself back through this package.
"""

from hubs.services.audit import audit_record, audit_snapshot
from hubs.services.hubs import (
    facility_change,
    facility_set_availability,
    hub_fail_over,
)
from hubs.services.memberships import (
    membership_add,
    membership_change_role,
    membership_owner_refusal,
    membership_remove,
)

__all__ = [
    "audit_record",
    "audit_snapshot",
    "facility_change",
    "facility_set_availability",
    "hub_fail_over",
    "membership_add",
    "membership_change_role",
    "membership_owner_refusal",
    "membership_remove",
]
