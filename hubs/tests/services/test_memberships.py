"""People added to a tenant, their role changed, removed: one audit entry each,
and a tenant's last owner can be neither removed nor demoted (its admin:
portal/tests/admin/test_memberships.py)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from conftest import all_databases
from hubs.errors import MembershipRefused
from hubs.models import Membership, StaffAuditEntry
from hubs.services import (
    membership_add,
    membership_change_role,
    membership_owner_refusal,
    membership_remove,
)

pytestmark = all_databases


def person(email: str):
    return get_user_model().objects.create_user(username=email, email=email, password="a-long-pass-phrase")


@pytest.fixture
def staff(db):
    return person("support@hubport.test")


@pytest.fixture
def workspace(make_tenant):
    made = make_tenant(hub="uk", name="Acme")
    return made.tenant, Membership.objects.get(tenant=made.tenant, user=made.user)


def entries(action: str) -> list[StaffAuditEntry]:
    return list(StaffAuditEntry.objects.filter(action=action))


def test_add_change_and_remove_write_one_entry_each(staff, workspace):
    tenant, _owner = workspace
    newcomer = person("new@acme.test")

    added = membership_add(tenant=tenant, user=newcomer, role="member", acting_user=staff, reason="ticket 42")
    [entry] = entries("membership.add")
    assert (entry.actor, entry.tenant, entry.target_id, entry.reason) == (staff, tenant, str(added.pk), "ticket 42")
    assert entry.after == {"id": added.pk, "user": newcomer.pk, "tenant": tenant.pk, "role": "member"}

    membership_change_role(membership=added, role="admin", acting_user=staff)
    membership_change_role(membership=added, role="admin", acting_user=staff)
    [entry] = entries("membership.change")
    assert (entry.before["role"], entry.after["role"], entry.tenant) == ("member", "admin", tenant)
    assert added.role == "admin", "the caller's instance is kept current"

    membership_remove(membership=added, acting_user=staff)
    membership_remove(membership=added, acting_user=staff)
    [entry] = entries("membership.delete")
    assert (entry.before["role"], entry.after, entry.target_id) == ("admin", None, str(added.pk))
    assert not Membership.objects.filter(pk=added.pk).exists()


def test_the_last_owner_can_be_neither_removed_nor_demoted(staff, workspace):
    tenant, owner = workspace
    with pytest.raises(MembershipRefused, match="is the last owner of Acme") as caught:
        membership_remove(membership=owner, acting_user=staff)
    assert caught.value.code == "membership_refused"
    with pytest.raises(MembershipRefused, match="Make another member an owner first"):
        membership_change_role(membership=owner, role="admin", acting_user=staff)
    owner.refresh_from_db()
    assert owner.role == "owner"
    assert not StaffAuditEntry.objects.exists()

    second = membership_add(tenant=tenant, user=person("second@acme.test"), role="owner", acting_user=staff)
    membership_change_role(membership=owner, role="admin", acting_user=staff)
    with pytest.raises(MembershipRefused):
        membership_remove(membership=second, acting_user=staff)
    assert Membership.objects.get(pk=second.pk).role == "owner"


def test_the_owner_rule_counts_owners_joining_and_leaving_together(staff, workspace):
    tenant, owner = workspace
    assert membership_owner_refusal(tenant=tenant, leaving={owner.pk})
    assert membership_owner_refusal(tenant=tenant, leaving={owner.pk}, joining_owners=1) is None
    assert membership_owner_refusal(tenant=tenant, leaving=set()) is None


def test_unknown_roles_and_a_second_membership_are_refused(staff, workspace):
    tenant, owner = workspace
    with pytest.raises(MembershipRefused, match="There is no role 'boss'"):
        membership_add(tenant=tenant, user=person("x@acme.test"), role="boss", acting_user=staff)
    with pytest.raises(MembershipRefused, match="already a member"):
        membership_add(tenant=tenant, user=owner.user, role="member", acting_user=staff)
    with pytest.raises(MembershipRefused, match="There is no role"):
        membership_change_role(membership=owner, role="", acting_user=staff)
    assert not StaffAuditEntry.objects.exists()


def test_a_failed_audit_write_rolls_the_change_back(staff, workspace, monkeypatch):
    tenant, _owner = workspace

    def refuse(**kwargs):
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr("hubs.services.memberships.audit_record", refuse)
    with pytest.raises(RuntimeError):
        membership_add(tenant=tenant, user=person("y@acme.test"), role="member", acting_user=staff)
    assert Membership.objects.filter(tenant=tenant).count() == 1
