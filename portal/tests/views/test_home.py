"""The home page: storage against quota, the newest snapshot, recent restores,
recent activity, the hub's status and its next maintenance, each from the
selector its own page uses."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from conftest import all_databases
from hubs.models import Hub
from hubs.services.incidents import incident_open
from hubs.services.maintenance import maintenance_schedule
from snapshots import services
from snapshots.models import RestoreJob
from snapshots.services import RestoreRequest, restore_start, snapshot_create

pytestmark = all_databases

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


@pytest.fixture
def owner(make_tenant):
    return make_tenant(hub="uk", name="Northwind Traders")


def text_of(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def write(made, path: str, content: bytes) -> None:
    services.file_write(
        tenant=made.tenant, path=path, stream=io.BytesIO(content), content_length=len(content), acting_user=made.user
    )


def test_a_new_workspace_home_says_what_to_do_first(client: Client, owner) -> None:
    client.force_login(owner.user)
    page = text_of(client.get(reverse("home")))
    assert "0 bytes of " in page and "0 files" in page
    assert "No snapshot yet." in page
    assert "No restores this week." in page
    assert "Account created" in page  # the only change so far
    assert "Operational" in page
    assert "No maintenance is planned." in page


def test_home_shows_storage_snapshot_restores_activity_status_and_maintenance(
    client: Client, owner, django_user_model
) -> None:
    staff = django_user_model.objects.create_user(
        username="duty@hubport.test", email="duty@hubport.test", password="x" * 16, is_staff=True
    )
    with time_machine.travel(NOW, tick=False) as clock:
        write(owner, "/Reports/q3.pdf", b"x" * 2048)
        write(owner, "/notes.txt", b"hello")
        clock.shift(timedelta(minutes=5))
        snapshot = snapshot_create(tenant=owner.tenant, acting_user=owner.user)
        old_job = restore_start(
            tenant=owner.tenant, acting_user=owner.user, request=RestoreRequest(snapshot_id=snapshot.pk)
        )
        RestoreJob.objects.for_tenant(owner.tenant).filter(pk=old_job.pk).update(state="succeeded")
        clock.shift(timedelta(days=8))  # that restore is now more than a week old
        running = restore_start(
            tenant=owner.tenant,
            acting_user=owner.user,
            request=RestoreRequest(snapshot_id=snapshot.pk, paths=["/Reports"]),
        )
        maintenance_schedule(
            hubs=[Hub.objects.get(code="uk")],
            title="Storage firmware",
            starts_at=NOW + timedelta(days=9),
            ends_at=NOW + timedelta(days=9, hours=2),
            emergency_reason="Vendor security advisory",
        )
        incident_open(
            hub=Hub.objects.get(code="uk"),
            component="storage",
            title="Slow uploads",
            body="Uploads are slow in London.",
            acting_user=staff,
        )
        # Another hub's trouble is not this hub's.
        maintenance_schedule(
            hubs=[Hub.objects.get(code="au")],
            title="Sydney only",
            starts_at=NOW + timedelta(days=8, hours=1),
            ends_at=NOW + timedelta(days=8, hours=2),
            emergency_reason="Sydney advisory",
        )
        client.force_login(owner.user)
        response = client.get(reverse("home"))

    assert response.status_code == 200
    page = text_of(response)
    assert "2.0 KiB of 1 TiB used" in page and "2 files" in page
    assert "2 files, 2.0 KiB." in page  # the newest snapshot's own figures (the one taken before the restore)
    assert f"Restore {running.pk}" in page and "Queued" in page
    assert f"Restore {old_job.pk}" not in page  # finished more than a week ago
    assert "/notes.txt" in page and "/Reports/q3.pdf" in page  # recent activity
    assert "Storage firmware" in page and "Sydney only" not in page
    html = response.content.decode()
    assert 'data-hub-state="operational"' not in html
    assert re.search(r'data-hub-state="(major_outage|partial_outage|degraded)"', html)


def test_home_of_someone_without_a_workspace(client: Client, django_user_model) -> None:
    user = django_user_model.objects.create_user(
        username="alone@example.com", email="alone@example.com", password="x" * 16
    )
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert "workspace" in text_of(response).lower()
