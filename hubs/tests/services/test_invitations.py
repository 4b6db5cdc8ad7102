"""Invitations: made by owners and admins only, one open per address, emailed
after commit (by a real worker in one test), accepted through the signed link
by the invited address alone, dead when expired (seven days, frozen clock),
withdrawn, replaced or used; every step in the team's history."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from conftest import all_databases
from hubs.errors import InvitationLinkInvalid, InvitationRefused, RoleForbidden
from hubs.invitation_links import invitation_from_token, invitation_token
from hubs.models import Invitation, Membership, MembershipEvent
from hubs.services.invitations import invitation_accept, invitation_create, invitation_revoke
from hubs.tests.windows import person

pytestmark = all_databases


@pytest.fixture
def team(make_tenant):
    made = make_tenant(hub="uk", name="Acme")
    admin, member, reader = person("admin@acme.test"), person("member@acme.test"), person("reader@acme.test")
    Membership.objects.create(tenant=made.tenant, user=admin, role="admin")
    Membership.objects.create(tenant=made.tenant, user=member, role="member")
    Membership.objects.create(tenant=made.tenant, user=reader, role="read_only")
    return {"tenant": made.tenant, "owner": made.user, "admin": admin, "member": member, "reader": reader}


def link_token(message) -> str:
    match = re.search(r"/invitations/([^/\s]+)/", message.body)
    assert match, message.body
    return match.group(1)


def test_an_admin_invites_the_email_goes_after_commit_and_the_invitee_joins(
    team, eager_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        invitation = invitation_create(
            tenant=team["tenant"], email=" New@Acme.TEST ", role="read_only", acting_user=team["admin"]
        )
    assert mail.outbox == [], "nothing is sent before the transaction commits"
    assert (invitation.email, invitation.role) == ("new@acme.test", "read_only")
    assert invitation.expires_at - invitation.created_at == timedelta(days=7)
    for callback in callbacks:
        callback()
    [message] = mail.outbox
    assert message.to == ["new@acme.test"]
    assert "admin@acme.test invited you to Acme" in message.subject
    assert "read-only" in message.body
    invitation.refresh_from_db()
    assert invitation.email_sent_at is not None

    newcomer = person("new@acme.test")
    membership = invitation_accept(token=link_token(message), user=newcomer)
    assert (membership.tenant_id, membership.role) == (team["tenant"].pk, "read_only")
    invitation.refresh_from_db()
    assert invitation.accepted_by == newcomer and invitation.accepted_at is not None
    kinds = list(
        MembershipEvent.objects.filter(tenant=team["tenant"]).order_by("at", "id").values_list("kind", "subject_email")
    )
    assert kinds == [("invited", "new@acme.test"), ("joined", "new@acme.test")]
    with pytest.raises(InvitationLinkInvalid, match="used already"):
        invitation_accept(token=link_token(message), user=newcomer)


@pytest.mark.parametrize("who", ["member", "reader"])
def test_members_and_read_only_members_cannot_invite(team, who):
    with pytest.raises(RoleForbidden):
        invitation_create(tenant=team["tenant"], email="x@acme.test", role="member", acting_user=team[who])
    assert not Invitation.objects.exists()
    assert not MembershipEvent.objects.exists()


def test_only_an_owner_invites_an_owner(team):
    with pytest.raises(RoleForbidden, match="Only an owner"):
        invitation_create(tenant=team["tenant"], email="boss@acme.test", role="owner", acting_user=team["admin"])
    made = invitation_create(tenant=team["tenant"], email="boss@acme.test", role="owner", acting_user=team["owner"])
    assert made.role == "owner"


@pytest.mark.parametrize(
    ("email", "role", "message"),
    [
        ("not an address", "member", "email address"),
        ("x@acme.test", "superuser", "no role"),
        ("member@acme.test", "member", "member of Acme already"),
        ("MEMBER@acme.test", "admin", "member of Acme already"),
    ],
)
def test_bad_invitations_are_refused_with_a_reason(team, email, role, message):
    with pytest.raises(InvitationRefused, match=message):
        invitation_create(tenant=team["tenant"], email=email, role=role, acting_user=team["owner"])


def test_inviting_again_replaces_the_open_invitation_and_kills_its_link(team):
    first = invitation_create(tenant=team["tenant"], email="x@acme.test", role="member", acting_user=team["owner"])
    old_token = invitation_token(first)
    second = invitation_create(tenant=team["tenant"], email="x@acme.test", role="admin", acting_user=team["owner"])
    first.refresh_from_db()
    assert first.revoked_at is not None and second.revoked_at is None
    with pytest.raises(InvitationLinkInvalid, match="withdrawn"):
        invitation_from_token(old_token)
    assert invitation_from_token(invitation_token(second)).role == "admin"


def test_a_withdrawn_invitation_link_is_dead_and_withdrawing_twice_is_harmless(team):
    invitation = invitation_create(tenant=team["tenant"], email="x@acme.test", role="member", acting_user=team["admin"])
    token = invitation_token(invitation)
    invitation_revoke(tenant=team["tenant"], invitation_id=invitation.pk, acting_user=team["admin"])
    invitation_revoke(tenant=team["tenant"], invitation_id=invitation.pk, acting_user=team["admin"])
    assert MembershipEvent.objects.filter(kind="invitation_revoked").count() == 1
    with pytest.raises(InvitationLinkInvalid, match="withdrawn"):
        invitation_accept(token=token, user=person("x@acme.test"))
    assert not Membership.objects.filter(user__email="x@acme.test").exists()


def test_the_link_works_for_seven_days_and_not_a_minute_more(team):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        invitation = invitation_create(
            tenant=team["tenant"], email="x@acme.test", role="member", acting_user=team["owner"]
        )
        token = invitation_token(invitation)
    invitee = person("x@acme.test")
    with time_machine.travel(start + timedelta(days=7, minutes=-1), tick=False):
        assert invitation_from_token(token).pk == invitation.pk
    with time_machine.travel(start + timedelta(days=7, minutes=1), tick=False):
        with pytest.raises(InvitationLinkInvalid, match="expired"):
            invitation_accept(token=token, user=invitee)
    assert not Membership.objects.filter(user=invitee).exists()


def test_an_altered_link_is_refused(team):
    invitation = invitation_create(tenant=team["tenant"], email="x@acme.test", role="member", acting_user=team["owner"])
    token = invitation_token(invitation)
    for bad in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "nonsense", ""):
        with pytest.raises(InvitationLinkInvalid, match="not valid"):
            invitation_from_token(bad)


def test_only_the_invited_address_may_accept(team):
    invitation = invitation_create(tenant=team["tenant"], email="x@acme.test", role="admin", acting_user=team["owner"])
    with pytest.raises(InvitationRefused, match="This invitation is for x@acme.test"):
        invitation_accept(token=invitation_token(invitation), user=person("someone@else.test"))
    invitation.refresh_from_db()
    assert invitation.accepted_at is None


def test_another_tenants_invitation_cannot_be_withdrawn(team, make_tenant):
    other = make_tenant(hub="uk", name="Other")
    foreign = invitation_create(tenant=other.tenant, email="x@acme.test", role="member", acting_user=other.user)
    from hubs.errors import TeamNotFound

    with pytest.raises(TeamNotFound):
        invitation_revoke(tenant=team["tenant"], invitation_id=foreign.pk, acting_user=team["owner"])
    foreign.refresh_from_db()
    assert foreign.revoked_at is None


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_a_real_worker_sends_the_invitation_email(make_tenant, celery_worker):
    made = make_tenant(hub="uk", name="Worker Ltd")
    invitation = invitation_create(tenant=made.tenant, email="new@worker.test", role="member", acting_user=made.user)
    deadline = timezone.now() + timedelta(seconds=30)
    while timezone.now() < deadline and not Invitation.objects.get(pk=invitation.pk).email_sent_at:
        celery_worker.condition.acquire()
        celery_worker.condition.wait(timeout=0.5)
        celery_worker.condition.release()
    assert Invitation.objects.get(pk=invitation.pk).email_sent_at is not None
    [message] = [m for m in mail.outbox if m.to == ["new@worker.test"]]
    assert invitation_from_token(link_token(message)).pk == invitation.pk
