"""The tenant's own owners and admins manage its team: role changes, removals
and handing on ownership, each checked against the acting person's role
(``hubs.roles``) under the tenant's lock, each a line in the team's history;
a tenant never loses its last owner, whatever order the changes come in (a
hypothesis property)."""

from __future__ import annotations

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from conftest import all_databases
from hubs.errors import MembershipRefused, RoleForbidden, TeamNotFound
from hubs.models import Membership, MembershipEvent
from hubs.roles import Action, role_permits
from hubs.services import membership_change_role
from hubs.services.memberships import member_remove, member_role_change, ownership_transfer
from hubs.tests.windows import person

pytestmark = all_databases


@pytest.fixture
def team(make_tenant):
    made = make_tenant(hub="uk", name="Acme")
    people = {"owner": made.user}
    for role in ("admin", "member", "read_only"):
        people[role] = person(f"{role}@acme.test")
        Membership.objects.create(tenant=made.tenant, user=people[role], role=role)
    ids = {role: Membership.objects.get(tenant=made.tenant, user=user).pk for role, user in people.items()}
    return made.tenant, people, ids


def owners(tenant) -> list[str]:
    return sorted(Membership.objects.filter(tenant=tenant, role="owner").values_list("user__email", flat=True))


def test_the_role_table():
    assert role_permits("read_only", Action.READ)
    assert not role_permits("read_only", Action.CHANGE_FILES)
    assert role_permits("member", Action.CHANGE_FILES) and not role_permits("member", Action.MANAGE_MEMBERS)
    assert role_permits("admin", Action.MANAGE_MEMBERS) and not role_permits("admin", Action.MANAGE_OWNERS)
    assert all(role_permits("owner", action) for action in Action)
    assert not any(role_permits(None, action) for action in Action)
    assert not role_permits("stranger", Action.READ)


def test_an_admin_changes_a_members_role_and_it_is_in_the_history(team):
    tenant, people, ids = team
    changed = member_role_change(
        tenant=tenant, membership_id=ids["member"], role="read_only", acting_user=people["admin"]
    )
    assert changed.role == "read_only"
    [event] = MembershipEvent.objects.filter(tenant=tenant)
    assert (event.kind, event.actor, event.subject_email, event.role_before, event.role_after, event.by_staff) == (
        "role_changed",
        people["admin"],
        "member@acme.test",
        "member",
        "read_only",
        False,
    )
    assert event.summary == "admin@acme.test changed member@acme.test from member to read-only."


@pytest.mark.parametrize(
    ("actor", "target", "role", "refusal"),
    [
        ("member", "read_only", "member", "owners and admins"),
        ("read_only", "member", "read_only", "owners and admins"),
        ("admin", "member", "owner", "Only an owner"),
        ("admin", "owner", "admin", "Only an owner"),
    ],
)
def test_role_changes_beyond_the_actors_role_are_refused(team, actor, target, role, refusal):
    tenant, people, ids = team
    with pytest.raises(RoleForbidden, match=refusal):
        member_role_change(tenant=tenant, membership_id=ids[target], role=role, acting_user=people[actor])
    assert Membership.objects.get(pk=ids[target]).role == target
    assert not MembershipEvent.objects.exists()


def test_the_last_owner_can_neither_be_demoted_nor_removed(team):
    tenant, people, ids = team
    with pytest.raises(MembershipRefused, match="last owner"):
        member_role_change(tenant=tenant, membership_id=ids["owner"], role="admin", acting_user=people["owner"])
    with pytest.raises(MembershipRefused, match="last owner"):
        member_remove(tenant=tenant, membership_id=ids["owner"], acting_user=people["owner"])
    assert owners(tenant) == [people["owner"].email]


def test_ownership_transfer_swaps_the_roles_in_one_step(team):
    tenant, people, ids = team
    new_owner = ownership_transfer(tenant=tenant, membership_id=ids["member"], acting_user=people["owner"])
    assert new_owner.role == "owner"
    assert owners(tenant) == ["member@acme.test"]
    assert Membership.objects.get(pk=ids["owner"]).role == "admin"
    kinds = list(MembershipEvent.objects.order_by("id").values_list("kind", "subject_email"))
    assert kinds == [("ownership_transferred", "member@acme.test"), ("role_changed", people["owner"].email)]
    with pytest.raises(RoleForbidden):
        ownership_transfer(tenant=tenant, membership_id=ids["read_only"], acting_user=people["owner"])


def test_an_admin_cannot_transfer_and_nobody_transfers_to_themselves(team):
    tenant, people, ids = team
    with pytest.raises(RoleForbidden):
        ownership_transfer(tenant=tenant, membership_id=ids["member"], acting_user=people["admin"])
    with pytest.raises(MembershipRefused, match="owner already"):
        ownership_transfer(tenant=tenant, membership_id=ids["owner"], acting_user=people["owner"])


def test_a_member_may_leave_and_strangers_ids_look_like_none(team, make_tenant):
    tenant, people, ids = team
    member_remove(tenant=tenant, membership_id=ids["read_only"], acting_user=people["read_only"])
    assert MembershipEvent.objects.get().summary == "read_only@acme.test left."
    other = make_tenant(hub="uk", name="Elsewhere")
    foreign = Membership.objects.get(tenant=other.tenant).pk
    for membership_id in (foreign, 0, -1, 2**70):
        with pytest.raises(TeamNotFound):
            member_remove(tenant=tenant, membership_id=membership_id, acting_user=people["owner"])
    assert Membership.objects.filter(pk=foreign).exists()


def test_staff_changes_are_in_the_teams_history_too(team, make_tenant):
    tenant, people, ids = team
    staff = person("support@hubport.test")
    membership_change_role(membership=Membership.objects.get(pk=ids["member"]), role="admin", acting_user=staff)
    [event] = MembershipEvent.objects.filter(tenant=tenant)
    assert event.by_staff and event.summary == "Hubport support changed member@acme.test from member to admin."


ROLES = ["owner", "admin", "member", "read_only"]
PEOPLE = ["owner", "admin", "member", "read_only"]
operation = st.tuples(
    st.sampled_from(["role", "remove", "transfer"]),
    st.sampled_from(PEOPLE),
    st.sampled_from(PEOPLE),
    st.sampled_from(ROLES),
)


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(operation, max_size=10))
def test_whatever_the_changes_the_tenant_keeps_an_owner(team, operations):
    tenant, people, ids = team
    with transaction.atomic(using="default"):
        for kind, actor, target, role in operations:
            try:
                if kind == "role":
                    member_role_change(tenant=tenant, membership_id=ids[target], role=role, acting_user=people[actor])
                elif kind == "remove":
                    member_remove(tenant=tenant, membership_id=ids[target], acting_user=people[actor])
                else:
                    ownership_transfer(tenant=tenant, membership_id=ids[target], acting_user=people[actor])
            except (RoleForbidden, MembershipRefused, TeamNotFound):
                pass
            assert owners(tenant), (kind, actor, target, role)
        transaction.set_rollback(True, using="default")
