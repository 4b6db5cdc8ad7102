"""The hub database's write probe: one row per hub, updated in place."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from hubs.routing import hub_database_alias
from snapshots.models import HubHeartbeat


def hub_heartbeat_record(*, hub_code: str) -> HubHeartbeat:
    alias = hub_database_alias(hub_code)
    with transaction.atomic(using=alias):
        heartbeat, _ = HubHeartbeat.objects.using(alias).update_or_create(
            hub_code=hub_code, defaults={"at": timezone.now()}
        )
    return heartbeat
