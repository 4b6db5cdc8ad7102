"""The members page and the invitation link, through Django's test client: the
team with roles, two-factor status and last sign-in; invite, change a role,
remove, hand on ownership, each in the history; the invitee who signs up, who
signs in, who is someone else, whose link expired or was altered; the
tenant's two-factor rule after joining; a removed member's session loses the
workspace at once; a read-only member's page writes are 403."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import all_databases
from hubs.invitation_links import invitation_token
from hubs.models import Invitation, Membership, MembershipEvent, Tenant
from hubs.services.invitations import invitation_create
from hubs.tests.windows import person
from portal.models import AuthenticatorDevice
from snapshots import selectors, services

pytestmark = all_databases


@pytest.fixture
def owner(make_tenant):
    return make_tenant(hub="uk", name="Acme")


def signed_in_as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def join(tenant: Tenant, email: str, role: str):
    user = person(email)
    Membership.objects.create(tenant=tenant, user=user, role=role)
    return user


def accept_url(invitation: Invitation) -> str:
    return reverse("invitation_accept", kwargs={"token": invitation_token(invitation)})


def test_the_members_page_shows_roles_two_factor_and_last_sign_in(owner):
    reader = join(owner.tenant, "reader@acme.test", "read_only")
    AuthenticatorDevice.objects.create(user=reader, name="phone", confirmed=True)
    seen = timezone.now() - timedelta(hours=3)
    reader.last_login = seen
    reader.save(update_fields=["last_login"])
    page = signed_in_as(owner.user).get(reverse("members")).content.decode()
    row = re.search(r'<tr class="member-row" data-email="reader@acme.test".*?</tr>', page, re.S).group(0)
    assert "Read-only" in row and "pill--ok" in row and seen.strftime("%Y-%m-%d") in row
    assert 'id="invite-form"' in page
    # A read-only member sees the team but none of the controls.
    other_reader = join(owner.tenant, "reader2@acme.test", "read_only")
    their_page = signed_in_as(other_reader).get(reverse("members")).content.decode()
    assert "reader@acme.test" in their_page and 'id="invite-form"' not in their_page
    assert "Change role" not in their_page


def test_invite_change_remove_and_transfer_through_the_page(owner, eager_tasks, django_capture_on_commit_callbacks):
    client = signed_in_as(owner.user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("member_invite"), {"email": "new@acme.test", "role": "admin"})
    assert response.status_code == 302
    assert [message.to for message in mail.outbox] == [["new@acme.test"]]
    assert "new@acme.test" in client.get(reverse("members")).content.decode()

    member = join(owner.tenant, "member@acme.test", "member")
    member_id = Membership.objects.get(user=member).pk
    client.post(reverse("member_role", args=[member_id]), {"role": "read_only"})
    assert Membership.objects.get(pk=member_id).role == "read_only"
    client.post(reverse("member_transfer", args=[member_id]))
    assert Membership.objects.get(pk=member_id).role == "owner"
    assert Membership.objects.get(user=owner.user).role == "admin"
    response = client.post(reverse("member_delete", args=[member_id]), follow=True)
    assert "Only an owner" in response.content.decode(), "an admin now, the former owner cannot remove an owner"
    page = client.get(reverse("members")).content.decode()
    for sentence in (
        "invited new@acme.test as admin.",
        "changed member@acme.test from member to read-only.",
        "handed ownership to member@acme.test.",
    ):
        assert sentence in page


def test_the_last_owner_is_refused_with_a_message(owner):
    client = signed_in_as(owner.user)
    owner_id = Membership.objects.get(user=owner.user).pk
    response = client.post(reverse("member_role", args=[owner_id]), {"role": "member"}, follow=True)
    assert "last owner" in response.content.decode()
    assert Membership.objects.get(pk=owner_id).role == "owner"


def test_an_invitee_without_an_account_signs_up_and_lands_in_the_workspace(owner):
    invitation = invitation_create(tenant=owner.tenant, email="new@acme.test", role="member", acting_user=owner.user)
    client = Client()
    page = client.get(accept_url(invitation)).content.decode()
    assert "Make your account" in page and "new@acme.test" in page
    signup = reverse("invitation_signup", kwargs={"token": invitation_token(invitation)})
    weak = client.post(signup, {"password1": "short", "password2": "short"})
    assert weak.status_code == 400 and not Membership.objects.filter(user__email="new@acme.test").exists()
    response = client.post(signup, {"password1": "a long pass phrase 9", "password2": "a long pass phrase 9"})
    assert response.status_code == 302 and response["Location"] == reverse("home")
    membership = Membership.objects.get(user__email="new@acme.test")
    assert (membership.tenant_id, membership.role) == (owner.tenant.pk, "member")
    home = client.get(reverse("home"))
    assert home.status_code == 200 and "Acme" in home.content.decode()
    assert client.get(accept_url(invitation)).status_code == 403, "a used link is dead"


def test_an_invitee_with_an_account_signs_in_and_accepts(owner, make_tenant):
    elsewhere = make_tenant(hub="de", name="Elsewhere", email="x@acme.test")
    invitation = invitation_create(tenant=owner.tenant, email="x@acme.test", role="read_only", acting_user=owner.user)
    page = Client().get(accept_url(invitation)).content.decode()
    assert 'id="sign-in-to-accept"' in page
    client = signed_in_as(elsewhere.user)
    assert 'id="accept-invitation"' in client.get(accept_url(invitation)).content.decode()
    response = client.post(accept_url(invitation))
    assert response.status_code == 302
    assert client.session["hubport_tenant_id"] == owner.tenant.pk
    assert Membership.objects.get(user=elsewhere.user, tenant=owner.tenant).role == "read_only"


def test_someone_else_cannot_accept(owner):
    invitation = invitation_create(tenant=owner.tenant, email="x@acme.test", role="admin", acting_user=owner.user)
    stranger = signed_in_as(person("stranger@else.test"))
    assert "you are signed in as stranger@else.test" in stranger.get(accept_url(invitation)).content.decode()
    response = stranger.post(accept_url(invitation))
    assert response.status_code == 409
    assert not Membership.objects.filter(tenant=owner.tenant, user__email="stranger@else.test").exists()


def test_expired_and_altered_links_are_403(owner):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        invitation = invitation_create(tenant=owner.tenant, email="x@acme.test", role="member", acting_user=owner.user)
        url = accept_url(invitation)
    with time_machine.travel(start + timedelta(days=8), tick=False):
        response = Client().get(url)
    assert response.status_code == 403 and "expired" in response.content.decode()
    altered = Client().get(reverse("invitation_accept", kwargs={"token": "x" + invitation_token(invitation)[1:]}))
    assert altered.status_code == 403


def test_the_tenants_two_factor_rule_applies_after_joining(owner):
    Tenant.objects.filter(pk=owner.tenant.pk).update(require_two_factor=True)
    invitation = invitation_create(tenant=owner.tenant, email="new@acme.test", role="member", acting_user=owner.user)
    client = Client()
    assert "requires two-factor" in client.get(accept_url(invitation)).content.decode()
    signup = reverse("invitation_signup", kwargs={"token": invitation_token(invitation)})
    client.post(signup, {"password1": "a long pass phrase 9", "password2": "a long pass phrase 9"})
    response = client.get(reverse("files"))
    assert response.status_code == 302 and response["Location"] == reverse("two_factor_setup")


def test_a_removed_members_session_loses_the_workspace_at_once(owner):
    member = join(owner.tenant, "member@acme.test", "member")
    theirs = signed_in_as(member)
    assert theirs.get(reverse("files")).status_code == 200
    signed_in_as(owner.user).post(reverse("member_delete", args=[Membership.objects.get(user=member).pk]))
    response = theirs.get(reverse("files"))
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert "Acme" not in theirs.get(reverse("home")).content.decode()


def test_a_read_only_members_page_writes_are_403(owner):
    services.file_write(
        tenant=owner.tenant, path="/doc.txt", stream=io.BytesIO(b"one"), content_length=3, acting_user=None
    )
    reader = signed_in_as(join(owner.tenant, "reader@acme.test", "read_only"))
    before = selectors.tree_as_of(tenant=owner.tenant)
    files_page = reader.get(reverse("files"))
    assert files_page.status_code == 200 and 'id="read-only-banner"' in files_page.content.decode()
    assert reader.get(reverse("files_download"), {"path": "/doc.txt"}).status_code == 200
    assert reader.get(reverse("activity")).status_code == 200

    forms = [
        ("files_folder_new", {"parent": "/", "name": "New"}),
        ("files_rename", {"path": "/doc.txt", "new_name": "x.txt"}),
        ("files_move", {"path": "/doc.txt", "destination": "/"}),
        ("files_delete", {"path": "/doc.txt"}),
        ("trash_restore", {"version_id": 1}),
        ("version_restore", {"version_id": 1}),
        ("snapshot_take", {}),
        ("snapshot_restore", {"at": timezone.now().isoformat()}),
    ]
    for url_name, data in forms:
        response = reader.post(reverse(url_name), data)
        assert response.status_code == 403, (url_name, response.status_code)
        assert "read-only member" in response.content.decode()
    upload = reader.generic(
        "PUT",
        f"{reverse('files_upload')}?path=/new.txt&on_conflict=fail",
        b"x",
        content_type="application/octet-stream",
    )
    assert upload.status_code == 403 and upload.json()["type"] == "urn:hubport:problem:role_forbidden"
    scripted = reader.post(reverse("files_delete"), {"path": "/doc.txt"}, HTTP_ACCEPT="application/json")
    assert scripted["Content-Type"] == "application/problem+json" and scripted.json()["status"] == 403
    assert selectors.tree_as_of(tenant=owner.tenant) == before
    assert not MembershipEvent.objects.exists()
