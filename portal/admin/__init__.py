"""The staff admin, one module per domain; importing them registers their ModelAdmins."""

from portal.admin import accounts, alerts, hubs, memberships, monitoring, tenant_data  # noqa: F401
