"""The staff admin, one module per domain; importing them registers their ModelAdmins."""

from portal.admin import (  # noqa: F401
    accounts,
    alerts,
    failover,
    hubs,
    memberships,
    monitoring,
    sign_ins,
    status_subscriptions,
    team,
    tenant_data,
)
