"""Removing a member revokes their API tokens for that tenant inside the
removal (the hook the portal registers with hubs.services.memberships), so
the tokens stop at once and stay dead if the person is invited back; their
tokens for other tenants keep working."""

from __future__ import annotations

from conftest import all_databases
from hubs.models import Membership, MembershipEvent
from hubs.services import membership_remove
from hubs.services.memberships import member_remove
from hubs.tests.windows import person
from portal.models import ApiToken
from portal.tokens import api_token_check, api_token_create

pytestmark = all_databases


def test_removal_revokes_the_members_tokens_for_the_tenant_at_once(make_tenant):
    acme, other = make_tenant(hub="uk", name="Acme"), make_tenant(hub="uk", name="Elsewhere")
    member = person("member@acme.test")
    membership = Membership.objects.create(tenant=acme.tenant, user=member, role="member")
    Membership.objects.create(tenant=other.tenant, user=member, role="member")
    _, here = api_token_create(user=member, tenant=acme.tenant, name="here")
    _, there = api_token_create(user=member, tenant=other.tenant, name="there")
    assert api_token_check(here).token is not None

    member_remove(tenant=acme.tenant, membership_id=membership.pk, acting_user=acme.user)

    assert api_token_check(here).token is None
    assert ApiToken.objects.get(name="here").revoked_at is not None
    assert api_token_check(there).token is not None, "a token for another tenant keeps working"
    Membership.objects.create(tenant=acme.tenant, user=member, role="member")
    assert api_token_check(here).token is None, "invited back, the old token stays dead"
    [event] = MembershipEvent.objects.filter(tenant=acme.tenant)
    assert event.summary == f"{acme.user.email} removed member@acme.test (member)."


def test_staff_removal_revokes_the_tokens_too(make_tenant):
    acme = make_tenant(hub="uk", name="Acme")
    member = person("member@acme.test")
    membership = Membership.objects.create(tenant=acme.tenant, user=member, role="member")
    _, raw = api_token_create(user=member, tenant=acme.tenant, name="script")
    membership_remove(membership=membership, acting_user=person("support@hubport.test"))
    assert api_token_check(raw).token is None
    assert MembershipEvent.objects.get().by_staff
