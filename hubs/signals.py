"""What hubs tell the layers above without importing them (docs/architecture.md:
a lower layer that must call up offers a registration). Receivers connect in
their app's ``AppConfig.ready``."""

from __future__ import annotations

from django.dispatch import Signal

# Sent after the commit that marks a facility available again; arguments:
# hub_code (str), facility_id (int). The store connects its replication repair,
# so blobs written while the facility was away reach it without waiting for beat.
facility_became_available = Signal()
