"""The Celery app. Queues: ``control`` and one ``hub.<code>`` per hub.

A task that works on a hub's data is declared ``hub_scoped=True`` and takes
``tenant_id=`` (or ``hub_code=`` for hub-wide work) as a keyword argument; it
is routed to that hub's queue, so it runs on a worker inside the hub. Every
other task goes to ``control``, whatever its arguments.
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import beat_init, worker_init
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.embedded")

app = Celery("hubport")
app.config_from_object("django.conf:settings", namespace="CELERY")


def _hub_of_tenant(tenant_id: int) -> str:
    # One primary-key read per message sent; not cached, because a cache keyed by
    # id would outlive a tenant whose id a test database (or a restore) reuses.
    from hubs.models import Tenant

    return Tenant.objects.values_list("hub_id", flat=True).get(pk=tenant_id)


def route_task(name: str, args: Any, kwargs: Any, options: Any, task: Any = None, **kw: Any) -> dict[str, str]:
    from hubs.routing import hub_queue

    kwargs = kwargs or {}
    if not getattr(task, "hub_scoped", False):
        return {"queue": "control"}
    if kwargs.get("hub_code"):
        return {"queue": hub_queue(kwargs["hub_code"])}
    if kwargs.get("tenant_id") is not None:
        from hubs.models import Tenant

        try:
            return {"queue": hub_queue(_hub_of_tenant(int(kwargs["tenant_id"])))}
        except Tenant.DoesNotExist:
            pass  # a deleted tenant: the task finds nothing to do, wherever it runs
        return {"queue": "control"}
    raise ValueError(f"Hub-scoped task {name} needs a tenant_id= or hub_code= keyword argument")


def all_queue_names() -> list[str]:
    from django.conf import settings

    return ["control", *[f"hub.{code}" for code in settings.HUB_CODES]]


@app.on_after_configure.connect
def _declare_queues(sender: Celery, **kwargs: Any) -> None:
    sender.conf.task_queues = [Queue(name, routing_key=name) for name in all_queue_names()]


@worker_init.connect
@beat_init.connect
def _create_local_folders(**kwargs: Any) -> None:
    """The embedded filesystem broker's folders (and the data folder) before the
    worker consumes or beat sends; nothing in production (hubs.folders)."""
    from hubs.folders import local_folders_create

    local_folders_create()


app.conf.task_routes = (route_task,)
app.conf.task_default_queue = "control"
app.autodiscover_tasks()
