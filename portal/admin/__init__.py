"""The staff admin, one module per domain; importing them registers their ModelAdmins."""

from portal.admin import accounts, hubs, memberships, monitoring, status_subscriptions, tenant_data  # noqa: F401
