"""A hub worker's answer to a ping (``workers.round_trip``): the heartbeat
``worker.<code>`` with the ping's token. Queues nothing."""

from __future__ import annotations

from django.utils import timezone

from hubs.models import Heartbeat


def worker_heartbeat_name(hub_code: str) -> str:
    return f"worker.{hub_code}"


def worker_pong_record(*, hub_code: str, token: str) -> Heartbeat:
    heartbeat, _ = Heartbeat.objects.update_or_create(
        name=worker_heartbeat_name(hub_code), defaults={"at": timezone.now(), "token": token[:64]}
    )
    return heartbeat
