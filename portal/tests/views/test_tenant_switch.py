"""Choosing and switching the workspace: only one's own tenants can be chosen."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from conftest import all_databases
from hubs.models import Membership
from portal.middleware.tenant import SESSION_TENANT_KEY

pytestmark = all_databases


@pytest.fixture
def two_workspaces(make_tenant):
    """A person who owns a tenant in London and is a member of one in Sydney."""
    london = make_tenant(hub="uk", name="London Co")
    sydney = make_tenant(hub="au", name="Sydney Co").tenant
    Membership.objects.create(user=london.user, tenant=sydney, role=Membership.Role.MEMBER)
    return london.user, london.tenant, sydney


def test_single_membership_goes_straight_home(client: Client, make_tenant) -> None:
    result = make_tenant(name="Solo Ltd")
    client.force_login(result.user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert "Solo Ltd" in response.content.decode()
    assert client.session[SESSION_TENANT_KEY] == result.tenant.pk
    assert 'id="tenant-switcher"' not in response.content.decode()


def test_several_memberships_and_none_chosen_go_to_the_chooser(client: Client, two_workspaces) -> None:
    user, london, sydney = two_workspaces
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("tenant_choose"))
    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "London Co" in html and "Sydney Co" in html
    assert "London, United Kingdom" in html and "Sydney, Australia" in html


def test_switching_to_an_own_tenant_remembers_it(client: Client, two_workspaces) -> None:
    user, london, sydney = two_workspaces
    client.force_login(user)
    response = client.post(reverse("tenant_choose"), {"tenant_id": sydney.pk, "next": reverse("home")})
    assert response["Location"] == reverse("home")
    assert client.session[SESSION_TENANT_KEY] == sydney.pk
    home = client.get(reverse("home"))
    assert home.status_code == 200
    assert home.context["tenant"] == sydney
    html = home.content.decode()
    assert "Sydney, Australia" in html
    assert 'id="tenant-switcher"' in html, "the header offers a switcher to people with several workspaces"

    client.post(reverse("tenant_choose"), {"tenant_id": london.pk})
    assert client.get(reverse("home")).context["tenant"] == london


def test_switching_to_another_tenant_is_refused(client: Client, two_workspaces, make_tenant) -> None:
    user, london, sydney = two_workspaces
    foreign = make_tenant(hub="de", name="Someone Else GmbH").tenant
    client.force_login(user)
    client.post(reverse("tenant_choose"), {"tenant_id": london.pk})

    response = client.post(reverse("tenant_choose"), {"tenant_id": foreign.pk})
    assert response.status_code == 404
    assert client.session[SESSION_TENANT_KEY] == london.pk
    home = client.get(reverse("home"))
    assert home.context["tenant"] == london
    assert "Someone Else GmbH" not in home.content.decode()


def test_a_forged_session_value_is_not_trusted(client: Client, two_workspaces, make_tenant) -> None:
    user, london, sydney = two_workspaces
    foreign = make_tenant(hub="de", name="Someone Else GmbH").tenant
    client.force_login(user)
    session = client.session
    session[SESSION_TENANT_KEY] = foreign.pk
    session.save()
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("tenant_choose"))


@pytest.mark.parametrize("tenant_id", ["", "abc", "0", "-3", "999999999", "1e5", "9" * 40])
def test_malformed_or_unknown_tenant_ids_answer_404(client: Client, two_workspaces, tenant_id: str) -> None:
    user, london, sydney = two_workspaces
    client.force_login(user)
    assert client.post(reverse("tenant_choose"), {"tenant_id": tenant_id}).status_code == 404
    assert SESSION_TENANT_KEY not in client.session


def test_switch_refuses_an_off_site_next(client: Client, two_workspaces) -> None:
    user, london, sydney = two_workspaces
    client.force_login(user)
    response = client.post(reverse("tenant_choose"), {"tenant_id": sydney.pk, "next": "//evil.example/"})
    assert response["Location"] == reverse("home")


def test_chooser_needs_sign_in_and_csrf(two_workspaces) -> None:
    user, london, sydney = two_workspaces
    anonymous = Client()
    assert anonymous.get(reverse("tenant_choose"))["Location"].startswith(reverse("login"))
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    assert strict.post(reverse("tenant_choose"), {"tenant_id": london.pk}).status_code == 403


def test_person_without_any_workspace_sees_an_explanation(client: Client, make_tenant) -> None:
    user = make_tenant().user
    Membership.objects.filter(user=user).delete()
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert "not in any workspace" in response.content.decode()
