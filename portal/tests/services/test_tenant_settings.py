"""A tenant's storage limits and snapshot schedule: staff set all three in the
admin (audited, with the live usage beside them) and the store obeys them;
owners and admins set the schedule on the Snapshots page and over the API,
members cannot, and the scheduler follows the new interval."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError
from django.test import Client
from django.utils import timezone

from conftest import all_databases
from hubs.models import Membership, StaffAuditEntry, Tenant
from portal.models import User
from portal.services.tenant_settings import tenant_snapshot_schedule_set
from portal.tests.admin.test_accounts import audit_entries, changeform_data, login_verified
from portal.tests.api.conftest import problem
from portal.tokens import api_token_create
from snapshots import services
from snapshots.errors import FileTooLarge, QuotaExceeded
from snapshots.models import Snapshot
from snapshots.services import snapshots_take_scheduled

pytestmark = all_databases


# SECTION: helpers


@pytest.fixture
def staff_client(client: Client) -> Client:
    client.staff_user = login_verified(client)  # type: ignore[attr-defined]
    return client


@pytest.fixture
def owner(make_tenant: Any) -> Any:
    return make_tenant(hub="uk", name="Settings Ltd")


def add_member(tenant: Tenant, role: str, email: str) -> User:
    user = User.objects.create_user(username=email, email=email, password="member-pass-phrase-2026")
    Membership.objects.create(user=user, tenant=tenant, role=role)
    return user


def put_file(tenant: Tenant, path: str, content: bytes) -> Any:
    return services.file_write(
        tenant=tenant, path=path, stream=io.BytesIO(content), content_length=len(content), acting_user=None
    )


def token_client(user: User, tenant: Tenant) -> Client:
    _, raw = api_token_create(user=user, tenant=tenant, name="tests")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def scheduled_count(tenant: Tenant) -> int:
    return Snapshot.objects.for_tenant(tenant).filter(kind=Snapshot.Kind.SCHEDULED).count()


def texts(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# SECTION: the admin


def test_change_form_shows_the_limits_with_their_defaults_and_the_live_usage(staff_client, owner, settings):
    settings.HUBPORT_DEFAULT_QUOTA_BYTES = 5 * 1024**3
    settings.HUBPORT_MAX_FILE_BYTES = 512 * 1024**2
    put_file(owner.tenant, "/a.txt", b"12345")
    put_file(owner.tenant, "/b.txt", b"678")

    response = staff_client.get(f"/admin/hubs/tenant/{owner.tenant.pk}/change/")

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert {"quota_bytes", "max_file_bytes", "snapshot_schedule"} <= set(form.fields)
    assert "5 GiB (5,368,709,120 bytes)" in form.fields["quota_bytes"].help_text
    assert "512 MiB (536,870,912 bytes)" in form.fields["max_file_bytes"].help_text
    assert form["snapshot_schedule"].value() == "hourly"
    page = response.content.decode()
    assert "Live usage" in page
    assert "8 bytes in 2 files: 0.0% of the quota of 5 GiB" in page


def test_add_form_has_the_three_fields_but_no_usage(staff_client):
    response = staff_client.get("/admin/hubs/tenant/add/")
    assert response.status_code == 200
    assert {"quota_bytes", "max_file_bytes", "snapshot_schedule"} <= set(response.context["adminform"].form.fields)
    assert "Live usage" not in response.content.decode()


def test_an_unreachable_hub_shows_as_unavailable_not_an_error(staff_client, owner, monkeypatch):
    def hub_down(*, tenant: Tenant) -> None:
        raise DatabaseError("connection refused")

    monkeypatch.setattr("portal.admin.accounts.store_live_usage", hub_down)
    response = staff_client.get(f"/admin/hubs/tenant/{owner.tenant.pk}/change/")
    assert response.status_code == 200
    assert "Hub unavailable" in response.content.decode()


def test_staff_set_the_limits_and_schedule_audited_and_the_store_obeys(staff_client, owner):
    tenant = owner.tenant
    url = f"/admin/hubs/tenant/{tenant.pk}/change/"
    data = changeform_data(staff_client.get(url))
    data.update({"quota_bytes": "10", "max_file_bytes": "8", "snapshot_schedule": "daily"})

    response = staff_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    tenant.refresh_from_db()
    assert (tenant.quota_bytes, tenant.max_file_bytes, tenant.snapshot_schedule) == (10, 8, "daily")
    [entry] = audit_entries("tenant.change", target_id=str(tenant.pk))
    assert entry.actor == staff_client.staff_user
    assert entry.tenant == tenant
    assert (entry.before["quota_bytes"], entry.after["quota_bytes"]) == (None, 10)
    assert (entry.before["max_file_bytes"], entry.after["max_file_bytes"]) == (None, 8)
    assert (entry.before["snapshot_schedule"], entry.after["snapshot_schedule"]) == ("hourly", "daily")

    with pytest.raises(FileTooLarge):
        put_file(tenant, "/nine.bin", b"x" * 9)
    put_file(tenant, "/eight.bin", b"x" * 8)
    with pytest.raises(QuotaExceeded):
        put_file(tenant, "/three.bin", b"xyz")


def test_a_quota_of_ten_bytes_refuses_an_eleven_byte_upload(staff_client, owner):
    tenant = owner.tenant
    url = f"/admin/hubs/tenant/{tenant.pk}/change/"
    data = changeform_data(staff_client.get(url))
    data["quota_bytes"] = "10"
    assert staff_client.post(url, data).status_code == 302
    tenant.refresh_from_db()

    with pytest.raises(QuotaExceeded):
        put_file(tenant, "/eleven.bin", b"x" * 11)
    put_file(tenant, "/ten.bin", b"x" * 10)


def test_emptying_a_limit_goes_back_to_the_default_and_is_audited(staff_client, owner, settings):
    tenant = owner.tenant
    Tenant.objects.filter(pk=tenant.pk).update(quota_bytes=10)
    url = f"/admin/hubs/tenant/{tenant.pk}/change/"
    data = changeform_data(staff_client.get(url))
    assert data["quota_bytes"] == "10"
    data.pop("quota_bytes")

    assert staff_client.post(url, data).status_code == 302

    tenant.refresh_from_db()
    assert tenant.quota_bytes is None
    assert tenant.effective_quota_bytes == settings.HUBPORT_DEFAULT_QUOTA_BYTES
    [entry] = audit_entries("tenant.change", target_id=str(tenant.pk))
    assert (entry.before["quota_bytes"], entry.after["quota_bytes"]) == (10, None)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("quota_bytes", "0"),
        ("quota_bytes", "-5"),
        ("quota_bytes", "1.5"),
        ("max_file_bytes", "ten"),
        ("max_file_bytes", str(2**63)),
        ("snapshot_schedule", "weekly"),
    ],
)
def test_bad_values_are_form_errors_and_change_nothing(staff_client, owner, field, value):
    tenant = owner.tenant
    url = f"/admin/hubs/tenant/{tenant.pk}/change/"
    data = changeform_data(staff_client.get(url))
    data[field] = value

    response = staff_client.post(url, data)

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    tenant.refresh_from_db()
    assert (tenant.quota_bytes, tenant.max_file_bytes, tenant.snapshot_schedule) == (None, None, "hourly")
    assert audit_entries("tenant.change") == []


def test_a_change_posted_without_the_schedule_keeps_it(staff_client, owner):
    tenant = owner.tenant
    Tenant.objects.filter(pk=tenant.pk).update(snapshot_schedule="daily")
    url = f"/admin/hubs/tenant/{tenant.pk}/change/"
    data = changeform_data(staff_client.get(url))
    data.pop("snapshot_schedule")
    data["name"] = "Renamed Ltd"

    assert staff_client.post(url, data).status_code == 302

    tenant.refresh_from_db()
    assert (tenant.name, tenant.snapshot_schedule) == ("Renamed Ltd", "daily")


# SECTION: the service


def test_owners_and_admins_may_set_the_schedule_members_may_not(owner):
    tenant = owner.tenant
    admin_user = add_member(tenant, Membership.Role.ADMIN, "admin@settings.test")
    member = add_member(tenant, Membership.Role.MEMBER, "member@settings.test")

    tenant_snapshot_schedule_set(tenant=tenant, acting_user=owner.user, schedule="4h")
    tenant_snapshot_schedule_set(tenant=tenant, acting_user=admin_user, schedule="daily")
    with pytest.raises(PermissionDenied):
        tenant_snapshot_schedule_set(tenant=tenant, acting_user=member, schedule="hourly")
    with pytest.raises(ValidationError):
        tenant_snapshot_schedule_set(tenant=tenant, acting_user=owner.user, schedule="weekly")

    assert Tenant.objects.get(pk=tenant.pk).snapshot_schedule == "daily"
    assert StaffAuditEntry.objects.count() == 0, "a customer's own change is not a staff action"


def test_an_owner_of_another_tenant_may_not_set_the_schedule(owner, make_tenant):
    stranger = make_tenant(hub="uk").user
    with pytest.raises(PermissionDenied):
        tenant_snapshot_schedule_set(tenant=owner.tenant, acting_user=stranger, schedule="daily")
    assert Tenant.objects.get(pk=owner.tenant.pk).snapshot_schedule == "hourly"


def test_the_scheduler_follows_a_changed_schedule(owner):
    tenant = owner.tenant
    start = timezone.now() + timedelta(minutes=1)

    def beat(hours: int) -> int:
        # The clock and ``now`` move together: a snapshot's taken_at is the wall time.
        moment = start + timedelta(hours=hours)
        with time_machine.travel(moment, tick=False):
            return snapshots_take_scheduled(hub_code="uk", now=moment)

    assert beat(0) == 1
    assert beat(1) == 1
    assert scheduled_count(tenant) == 2, "hourly by default"

    tenant_snapshot_schedule_set(tenant=tenant, acting_user=owner.user, schedule="4h")
    assert [beat(hours) for hours in (2, 3, 4)] == [0, 0, 0], "none within 4 hours of the last one"
    assert beat(5) == 1, "the next one 4 hours after the last"
    assert scheduled_count(tenant) == 3


# SECTION: the Snapshots page


def test_an_owner_sees_the_schedule_form_and_changes_the_schedule(client, owner):
    client.force_login(owner.user)
    page = client.get("/snapshots/").content.decode()
    assert 'action="/snapshots/schedule"' in page
    assert '<option value="hourly" selected>Every hour</option>' in page

    response = client.post("/snapshots/schedule", {"schedule": "4h"}, follow=True)

    assert response.redirect_chain == [("/snapshots/", 302)]
    assert "Scheduled snapshots are now taken every 4 hours." in response.content.decode()
    assert Tenant.objects.get(pk=owner.tenant.pk).snapshot_schedule == "4h"
    assert '<option value="4h" selected>Every 4 hours</option>' in response.content.decode()
    assert StaffAuditEntry.objects.count() == 0


def test_an_admin_may_change_the_schedule_too(client, owner):
    client.force_login(add_member(owner.tenant, Membership.Role.ADMIN, "admin@settings.test"))
    assert client.post("/snapshots/schedule", {"schedule": "daily"}).status_code == 302
    assert Tenant.objects.get(pk=owner.tenant.pk).snapshot_schedule == "daily"


def test_a_member_sees_the_schedule_as_text_and_cannot_change_it(client, owner):
    client.force_login(add_member(owner.tenant, Membership.Role.MEMBER, "member@settings.test"))
    page = client.get("/snapshots/").content.decode()
    assert 'action="/snapshots/schedule"' not in page
    assert "Schedule: <strong>Every hour</strong>" in page

    assert client.post("/snapshots/schedule", {"schedule": "daily"}).status_code == 403
    assert Tenant.objects.get(pk=owner.tenant.pk).snapshot_schedule == "hourly"


@pytest.mark.parametrize("body", [{"schedule": "weekly"}, {}])
def test_a_bad_schedule_is_a_message_and_changes_nothing(client, owner, body):
    client.force_login(owner.user)
    response = client.post("/snapshots/schedule", body)
    assert response.status_code == 302
    assert response["Location"] == "/snapshots/"
    [message] = texts(response)
    assert message.startswith("Schedule: ")
    assert Tenant.objects.get(pk=owner.tenant.pk).snapshot_schedule == "hourly"


def test_the_schedule_form_needs_sign_in_and_post(client, owner):
    response = client.post("/snapshots/schedule", {"schedule": "daily"})
    assert response.status_code == 302
    assert "login" in response["Location"]
    client.force_login(owner.user)
    assert client.get("/snapshots/schedule").status_code == 405
    assert Tenant.objects.get(pk=owner.tenant.pk).snapshot_schedule == "hourly"


# SECTION: the API


def test_api_reads_and_changes_the_schedule(owner):
    api = token_client(owner.user, owner.tenant)
    assert api.get("/api/v1/snapshots/schedule").json() == {"schedule": "hourly"}

    response = api.put("/api/v1/snapshots/schedule", {"schedule": "4h"}, content_type="application/json")

    assert response.status_code == 200
    assert response.json() == {"schedule": "4h"}
    assert api.get("/api/v1/snapshots/schedule").json() == {"schedule": "4h"}
    assert Tenant.objects.get(pk=owner.tenant.pk).snapshot_schedule == "4h"


def test_api_member_may_read_but_not_change_the_schedule(owner):
    member = add_member(owner.tenant, Membership.Role.MEMBER, "member@settings.test")
    api = token_client(member, owner.tenant)
    assert api.get("/api/v1/snapshots/schedule").json() == {"schedule": "hourly"}

    response = api.put("/api/v1/snapshots/schedule", {"schedule": "daily"}, content_type="application/json")

    body = problem(response, 403)
    assert "owners and admins" in body["detail"]
    assert Tenant.objects.get(pk=owner.tenant.pk).snapshot_schedule == "hourly"


@pytest.mark.parametrize("body", [{"schedule": "weekly"}, {"schedule": None}, {}, {"schedule": ["daily"]}])
def test_api_refuses_a_bad_schedule(owner, body):
    api = token_client(owner.user, owner.tenant)
    response = api.put("/api/v1/snapshots/schedule", body, content_type="application/json")
    problem(response, 400)
    assert Tenant.objects.get(pk=owner.tenant.pk).snapshot_schedule == "hourly"


def test_api_schedule_needs_a_token(client, owner):
    problem(client.get("/api/v1/snapshots/schedule"), 401)
    response = client.put("/api/v1/snapshots/schedule", {"schedule": "daily"}, content_type="application/json")
    problem(response, 401)
