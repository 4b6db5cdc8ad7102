"""Staff read tenants' invitations and team history in the admin (never their
link's nonce), and cannot add, change or delete them there."""

from __future__ import annotations

import pytest

from conftest import all_databases
from hubs.models import Invitation, MembershipEvent
from hubs.services.invitations import invitation_create
from portal.tests.admin.test_accounts import login_verified

pytestmark = all_databases


@pytest.fixture
def staff_client(client):
    client.staff_user = login_verified(client)
    return client


def test_invitations_and_team_history_are_read_only_for_staff(staff_client, make_tenant):
    made = make_tenant(hub="uk", name="Acme")
    invitation = invitation_create(tenant=made.tenant, email="x@acme.test", role="admin", acting_user=made.user)
    listing = staff_client.get("/admin/hubs/invitation/").content.decode()
    assert "x@acme.test" in listing
    detail = staff_client.get(f"/admin/hubs/invitation/{invitation.pk}/change/")
    assert detail.status_code == 200 and invitation.nonce not in detail.content.decode()
    assert staff_client.get("/admin/hubs/invitation/add/").status_code == 403
    assert staff_client.post(f"/admin/hubs/invitation/{invitation.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Invitation.objects.filter(pk=invitation.pk, revoked_at__isnull=True).exists()
    event = MembershipEvent.objects.get()
    assert "x@acme.test" in staff_client.get("/admin/hubs/membershipevent/").content.decode()
    assert staff_client.post(f"/admin/hubs/membershipevent/{event.pk}/change/", {}).status_code == 403
