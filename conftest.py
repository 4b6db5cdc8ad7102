"""Fixtures shared by every app's tests.

Tests touch the control database and the hub databases, so the common marker is
``pytest.mark.django_db(databases="__all__")`` (see ``all_databases``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.conf import settings

from hubs.storage import facility_storage

all_databases = pytest.mark.django_db(databases="__all__")


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """Before the test databases are made: their SQLite files live in the data
    folder, which importing the settings does not create (hubs.folders)."""
    from hubs.folders import local_folders_create

    local_folders_create()


@pytest.fixture(autouse=True)
def isolated_storages(tmp_path, settings) -> Iterator[None]:
    """Every facility of every hub is a fresh folder under the test's tmp_path."""
    settings.HUB_STORAGE_URLS = {
        f"hub_{code}_{role}": f"file://{tmp_path / 'storage' / code / role}"
        for code in settings.HUB_CODES
        for role in settings.FACILITY_ROLES
    }
    facility_storage.cache_clear()
    yield
    facility_storage.cache_clear()


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    """Every test starts with an empty cache: the throttles count per address,
    and the test client is always 127.0.0.1, so one test's signups or resets
    would otherwise slow the next one down."""
    from django.core.cache import cache

    cache.clear()
    yield


def ensure_hubs_seeded() -> None:
    """Transactional tests flush every table afterwards, the seeded hubs too;
    put them back as their data migration made them."""
    import importlib

    from django.apps import apps

    from hubs.models import Hub

    if Hub.objects.count() < len(settings.HUB_CODES):
        importlib.import_module("hubs.migrations.0003_seed_hubs").seed(apps, None)


@pytest.fixture(autouse=True)
def _hubs_after_flush(request) -> None:
    if "transactional_db" in request.fixturenames or "live_server" in request.fixturenames:
        ensure_hubs_seeded()
    marker = request.node.get_closest_marker("django_db")
    if marker is not None and marker.kwargs.get("transaction"):
        request.getfixturevalue("transactional_db")
        ensure_hubs_seeded()


@pytest.fixture
def make_tenant(db) -> Callable[..., Any]:
    """Create a provisioned tenant with its owner, through the real service."""
    from portal.services.tenants import tenant_create

    ensure_hubs_seeded()

    counter = iter(range(1, 10_000))

    def make(
        *, hub: str = "uk", name: str | None = None, email: str | None = None, password: str = "correct horse battery"
    ):
        n = next(counter)
        result = tenant_create(
            name=name or f"Tenant {hub} {n}",
            hub_code=hub,
            owner_email=email or f"owner{n}-{hub}@example.test",
            owner_password=password,
        )
        result.user.raw_password = password
        return result

    return make


@dataclass
class WorkerHandle:
    """A real Celery worker (threaded, in this process) and the tasks it finished."""

    finished: dict[str, dict[str, Any]] = field(default_factory=dict)
    condition: threading.Condition = field(default_factory=threading.Condition)
    worker: Any = None

    @contextmanager
    def queue_unserved(self, queue: str) -> Iterator[None]:
        """The worker stops consuming ``queue`` (as if the hub's workers were
        gone) and takes it up again afterwards."""
        consumer = self.worker.consumer
        consumer.cancel_task_queue(queue)
        try:
            yield
        finally:
            consumer.add_task_queue(queue)

    def wait_for(self, task_id: str, timeout: float = 30.0) -> dict[str, Any]:
        with self.condition:
            if not self.condition.wait_for(lambda: task_id in self.finished, timeout=timeout):
                raise TimeoutError(f"Task {task_id} did not finish within {timeout} s")
            return self.finished[task_id]


@pytest.fixture(scope="session")
def celery_worker_session(django_db_setup, django_db_blocker) -> Iterator[WorkerHandle]:
    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_failure, task_postrun

    from portal.celery import all_queue_names, app

    handle = WorkerHandle()

    def on_postrun(sender=None, task_id=None, task=None, state=None, retval=None, **kwargs):  # type: ignore[no-untyped-def]
        from django.db import connections

        # The worker's threads keep their own connections; close them after each
        # task so none outlives the test databases (PostgreSQL refuses to drop
        # a database that a session still uses).
        connections.close_all()
        with handle.condition:
            handle.finished[task_id] = {
                "state": state,
                "retval": retval,
                "queue": (task.request.delivery_info or {}).get("routing_key"),
            }
            handle.condition.notify_all()

    def on_failure(sender=None, task_id=None, exception=None, **kwargs):  # type: ignore[no-untyped-def]
        with handle.condition:
            handle.finished.setdefault(task_id, {})["exception"] = repr(exception)

    task_postrun.connect(on_postrun, weak=False)
    task_failure.connect(on_failure, weak=False)
    with django_db_blocker.unblock():
        with start_worker(
            app,
            queues=all_queue_names(),
            pool="threads",
            concurrency=2,
            perform_ping_check=False,
            shutdown_timeout=30,
            loglevel="WARNING",
        ) as worker:
            handle.worker = worker
            yield handle
    task_postrun.disconnect(on_postrun)
    task_failure.disconnect(on_failure)


@pytest.fixture
def celery_worker(celery_worker_session, transactional_db) -> WorkerHandle:
    """A real worker consuming every queue. Its threads use their own database
    connections, so tests using it need committed data (transactional_db)."""
    return celery_worker_session


def hub_aliases() -> list[str]:
    return [f"hub_{code}" for code in settings.HUB_CODES]


def unprovision(tenant: Any) -> None:
    """Undo a tenant's hub side, as a crash before the hub transaction committed would."""
    from hubs.models import Tenant
    from snapshots.models import Change, Node, NodeVersion, TenantClock

    for model in (Change, TenantClock, NodeVersion, Node):
        model.objects.for_tenant(tenant).delete()
    Tenant.objects.filter(pk=tenant.pk).update(provisioned_at=None)
    tenant.refresh_from_db()
