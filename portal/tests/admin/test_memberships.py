"""Memberships in the support staff's admin, on their own page and inline on
a tenant's: every add, role change and removal goes through the services of
hubs.services.memberships (one audit entry each), and a tenant's last owner
can be neither removed nor demoted."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import all_databases
from hubs.models import Membership, StaffAuditEntry
from portal.admin import memberships as membership_admin
from portal.models import User
from portal.tests.admin.test_accounts import STAFF_PASSWORD, audit_entries, changeform_data, login_verified

pytestmark = all_databases


@pytest.fixture
def staff_client(client):
    client.staff_user = login_verified(client)
    return client


@pytest.fixture
def service_calls(monkeypatch) -> list[tuple[str, dict[str, Any]]]:
    """Every call the admin makes to a membership service, in order."""
    calls: list[tuple[str, dict[str, Any]]] = []
    for name in ("membership_add", "membership_change_role", "membership_remove"):
        real = getattr(membership_admin, name)

        def spy(*, _name=name, _real=real, **kwargs):
            calls.append((_name, kwargs))
            return _real(**kwargs)

        monkeypatch.setattr(membership_admin, name, spy)
    return calls


def staff_entries() -> list[StaffAuditEntry]:
    """The audit entries of the test, without those of making the staff user."""
    return list(StaffAuditEntry.objects.exclude(reason="create_staff"))


def person(email: str) -> User:
    return User.objects.create_user(username=email, email=email, password=STAFF_PASSWORD)


def inline_prefix(data: dict[str, Any], membership: Membership) -> str:
    return next(
        key[: -len("-id")] for key, value in data.items() if key.endswith("-id") and value == str(membership.pk)
    )


# SECTION: through the services, one entry each


def test_membership_inline_change_on_the_tenant_is_audited(staff_client, make_tenant, service_calls):
    result = make_tenant(hub="uk")
    member = User.objects.create_user(username="m@x.test", email="m@x.test", password=STAFF_PASSWORD)
    membership = Membership.objects.create(user=member, tenant=result.tenant, role=Membership.Role.MEMBER)
    url = f"/admin/hubs/tenant/{result.tenant.pk}/change/"
    data = changeform_data(staff_client.get(url))
    index = next(key for key, value in data.items() if key.endswith("-id") and value == str(membership.pk))
    data[index.replace("-id", "-role")] = "admin"

    response = staff_client.post(url, data)

    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.role == "admin"
    [entry] = audit_entries("membership.change", target_id=str(membership.pk))
    assert (entry.before["role"], entry.after["role"]) == ("member", "admin")
    assert entry.tenant == result.tenant
    assert audit_entries("tenant.change") == [], "only the inline row changed"
    assert [name for name, _ in service_calls] == ["membership_change_role"]


def test_deleting_a_membership_is_audited_once_through_the_service(staff_client, make_tenant, service_calls):
    result = make_tenant(hub="de")
    second_owner = User.objects.create_user(username="o2@x.test", email="o2@x.test", password=STAFF_PASSWORD)
    Membership.objects.create(user=second_owner, tenant=result.tenant, role=Membership.Role.OWNER)
    membership = Membership.objects.get(tenant=result.tenant, user=result.user)

    response = staff_client.post(f"/admin/hubs/membership/{membership.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()
    [entry] = audit_entries("membership.delete", target_id=str(membership.pk))
    assert entry.tenant == result.tenant
    assert entry.before == {"id": membership.pk, "user": result.user.pk, "tenant": result.tenant.pk, "role": "owner"}
    assert entry.after is None
    assert [name for name, _ in service_calls] == ["membership_remove"]


def test_bulk_deleting_memberships_is_audited_per_row(staff_client, make_tenant):
    memberships = []
    for n in range(2):
        tenant = make_tenant().tenant
        member = User.objects.create_user(username=f"m{n}@x.test", email=f"m{n}@x.test", password=STAFF_PASSWORD)
        memberships.append(Membership.objects.create(user=member, tenant=tenant, role=Membership.Role.ADMIN))

    response = staff_client.post(
        "/admin/hubs/membership/",
        {"action": "delete_selected", "post": "yes", "_selected_action": [str(m.pk) for m in memberships]},
    )

    assert response.status_code == 302
    assert not Membership.objects.filter(pk__in=[m.pk for m in memberships]).exists()
    assert {entry.target_id for entry in audit_entries("membership.delete")} == {str(m.pk) for m in memberships}


def test_membership_search_and_filter(staff_client, make_tenant):
    result = make_tenant(hub="ae", email="someone@dubai.test")
    response = staff_client.get("/admin/hubs/membership/", {"q": "someone@dubai", "tenant__hub__code__exact": "ae"})
    assert response.status_code == 200
    assert [m.user for m in response.context["cl"].result_list] == [result.user]


def test_adding_a_membership_on_its_page_is_audited_once_through_the_service(staff_client, make_tenant, service_calls):
    tenant = make_tenant(hub="au").tenant
    newcomer = person("new@x.test")

    response = staff_client.post(
        "/admin/hubs/membership/add/", {"user": str(newcomer.pk), "tenant": str(tenant.pk), "role": "admin"}
    )

    assert response.status_code == 302
    membership = Membership.objects.get(tenant=tenant, user=newcomer)
    assert membership.role == "admin"
    [entry] = staff_entries()
    assert (entry.action, entry.target_id, entry.tenant) == ("membership.add", str(membership.pk), tenant)
    assert entry.after == {"id": membership.pk, "user": newcomer.pk, "tenant": tenant.pk, "role": "admin"}
    assert [name for name, _ in service_calls] == ["membership_add"]


def test_changing_a_role_on_its_page_is_audited_once_through_the_service(staff_client, make_tenant, service_calls):
    result = make_tenant(hub="us")
    membership = Membership.objects.create(user=person("m@x.test"), tenant=result.tenant, role="member")
    url = f"/admin/hubs/membership/{membership.pk}/change/"
    data = changeform_data(staff_client.get(url))
    data["role"] = "owner"

    assert staff_client.post(url, data).status_code == 302

    [entry] = staff_entries()
    assert (entry.action, entry.before["role"], entry.after["role"]) == ("membership.change", "member", "owner")
    assert [name for name, _ in service_calls] == ["membership_change_role"]


def test_handing_ownership_on_in_one_inline_save_promotes_before_it_demotes(staff_client, make_tenant, service_calls):
    result = make_tenant(hub="hk")
    owner = Membership.objects.get(tenant=result.tenant, user=result.user)
    heir = Membership.objects.create(user=person("heir@x.test"), tenant=result.tenant, role="admin")
    url = f"/admin/hubs/tenant/{result.tenant.pk}/change/"
    data = changeform_data(staff_client.get(url))
    data[f"{inline_prefix(data, owner)}-role"] = "admin"
    data[f"{inline_prefix(data, heir)}-role"] = "owner"

    response = staff_client.post(url, data)

    assert response.status_code == 302, response.context["inline_admin_formsets"][0].formset.non_form_errors()
    assert [(name, kwargs["role"]) for name, kwargs in service_calls] == [
        ("membership_change_role", "owner"),
        ("membership_change_role", "admin"),
    ]
    assert dict(Membership.objects.filter(tenant=result.tenant).values_list("pk", "role")) == {
        owner.pk: "admin",
        heir.pk: "owner",
    }
    assert len(audit_entries("membership.change")) == 2


# SECTION: the last owner stays


def test_the_last_owner_cannot_be_removed_on_the_delete_page(staff_client, make_tenant, service_calls):
    result = make_tenant(hub="uk", name="Solo Ltd")
    owner = Membership.objects.get(tenant=result.tenant)
    url = f"/admin/hubs/membership/{owner.pk}/delete/"

    for response in (staff_client.get(url, follow=True), staff_client.post(url, {"post": "yes"}, follow=True)):
        assert response.redirect_chain[-1][0] == f"/admin/hubs/membership/{owner.pk}/change/"
        assert "is the last owner of Solo Ltd" in response.content.decode()

    assert Membership.objects.filter(pk=owner.pk).exists()
    assert staff_entries() == [] and service_calls == []


def test_the_last_owners_cannot_be_bulk_removed(staff_client, make_tenant):
    kept = Membership.objects.get(tenant=make_tenant(name="Only Owner Ltd").tenant)
    other = make_tenant(name="Two Owners Ltd")
    Membership.objects.create(user=person("second@x.test"), tenant=other.tenant, role="owner")
    removable = Membership.objects.get(tenant=other.tenant, user=other.user)

    response = staff_client.post(
        "/admin/hubs/membership/",
        {"action": "delete_selected", "post": "yes", "_selected_action": [str(kept.pk), str(removable.pk)]},
        follow=True,
    )

    assert "Nothing was removed" in response.content.decode()
    assert "Only Owner Ltd" in response.content.decode()
    assert Membership.objects.filter(pk__in=[kept.pk, removable.pk]).count() == 2
    assert staff_entries() == []


def test_the_last_owner_cannot_be_demoted_on_the_change_page(staff_client, make_tenant, service_calls):
    result = make_tenant(hub="de")
    owner = Membership.objects.get(tenant=result.tenant)
    url = f"/admin/hubs/membership/{owner.pk}/change/"
    data = changeform_data(staff_client.get(url))
    data["role"] = "admin"

    response = staff_client.post(url, data)

    assert response.status_code == 200
    assert "is the last owner" in str(response.context["adminform"].form.non_field_errors())
    owner.refresh_from_db()
    assert owner.role == "owner"
    assert staff_entries() == [] and service_calls == []


@pytest.mark.parametrize("change", ["delete", "demote"])
def test_the_last_owner_cannot_be_removed_or_demoted_inline(staff_client, make_tenant, service_calls, change):
    result = make_tenant(hub="ae", name="Inline Ltd")
    owner = Membership.objects.get(tenant=result.tenant)
    url = f"/admin/hubs/tenant/{result.tenant.pk}/change/"
    data = changeform_data(staff_client.get(url))
    prefix = inline_prefix(data, owner)
    if change == "delete":
        data[f"{prefix}-DELETE"] = "on"
    else:
        data[f"{prefix}-role"] = "member"
    data["name"] = "Renamed Ltd"

    response = staff_client.post(url, data)

    assert response.status_code == 200
    [inline] = response.context["inline_admin_formsets"]
    assert "would remove the last owner of Inline Ltd" in str(inline.formset.non_form_errors())
    owner.refresh_from_db()
    result.tenant.refresh_from_db()
    assert (owner.role, result.tenant.name) == ("owner", "Inline Ltd"), "nothing of the save was kept"
    assert staff_entries() == [] and service_calls == []
