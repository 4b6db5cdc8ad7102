"""Signup through the browser pages: the hub is chosen explicitly, bad input
creates nothing, success signs the owner in and provisions the tenant."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from conftest import all_databases
from hubs.models import Hub, Membership, Tenant
from portal.middleware.tenant import SESSION_TENANT_KEY
from snapshots.models import TenantClock

pytestmark = all_databases

GOOD = {
    "company_name": "Acme Widgets Ltd",
    "slug": "",
    "email": "Founder@Acme.example",
    "password1": "correct horse battery",
    "password2": "correct horse battery",
    "hub": "au",
}


def counts() -> tuple[int, int, int]:
    return get_user_model().objects.count(), Tenant.objects.count(), Membership.objects.count()


def test_signup_page_lists_all_seven_hubs_in_order_with_none_chosen(client: Client) -> None:
    response = client.get(reverse("signup"))
    assert response.status_code == 200
    html = response.content.decode()
    radios = re.findall(r'<input type="radio" name="hub" value="(\w+)"[^>]*>', html)
    assert radios == list(Hub.objects.order_by("sort_order").values_list("code", flat=True))
    assert len(radios) == 7
    assert "checked" not in " ".join(re.findall(r'<input type="radio"[^>]*>', html))
    for hub in Hub.objects.all():
        assert hub.city in html and hub.country in html
    assert "never leave the hub you choose" in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_signup_end_to_end_creates_owner_tenant_in_chosen_hub_and_signs_in(client: Client) -> None:
    response = client.post(reverse("signup"), GOOD)

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    user = get_user_model().objects.get()
    assert user.email == user.username == "founder@acme.example"
    assert user.check_password("correct horse battery")
    tenant = Tenant.objects.customers().get()  # a probe tenant may exist too
    assert (tenant.name, tenant.slug, tenant.hub_id) == ("Acme Widgets Ltd", "acme-widgets-ltd", "au")
    assert Membership.objects.get().role == Membership.Role.OWNER
    assert tenant.provisioned_at is not None
    assert TenantClock.objects.for_tenant(tenant).exists()
    assert client.session[SESSION_TENANT_KEY] == tenant.pk

    home = client.get(reverse("home"))
    assert home.status_code == 200
    page = home.content.decode()
    assert "Acme Widgets Ltd" in page
    assert "Sydney, Australia" in page
    assert "Set up two-factor authentication" in page
    assert "Welcome to Hubport" in page


def test_signup_uses_the_workspace_address_given(client: Client) -> None:
    response = client.post(reverse("signup"), {**GOOD, "slug": "Acme-HQ"})
    assert response.status_code == 302
    assert Tenant.objects.customers().get().slug == "acme-hq"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"hub": "zz"}, "hub", "There is no such hub"),
        ({"hub": ""}, "hub", "Choose the hub"),
        ({"password1": "password", "password2": "password"}, "password1", "too common"),
        ({"password1": "12345678901", "password2": "12345678901"}, "password1", "entirely numeric"),
        ({"password2": "something else entirely"}, "password2", "passwords differ"),
        ({"slug": "-bad slug-"}, "slug", "lower-case letters"),
        ({"slug": "admin"}, "slug", "is taken"),
        ({"email": "not-an-email"}, "email", "valid email"),
        ({"company_name": "   "}, "company_name", "required"),
        ({"company_name": "x" * 5000}, "company_name", "at most 200"),
    ],
)
def test_bad_signup_input_is_a_form_error_and_creates_nothing(
    client: Client, changes: dict[str, str], field: str, message: str
) -> None:
    before = counts()
    response = client.post(reverse("signup"), {**GOOD, **changes})
    assert response.status_code == 200
    form = response.context["form"]
    assert field in form.errors, form.errors
    assert message in " ".join(form.errors[field])
    assert counts() == before


def test_existing_email_is_refused_whatever_its_case(client: Client, make_tenant) -> None:
    make_tenant(email="founder@acme.example")
    before = counts()
    response = client.post(reverse("signup"), {**GOOD, "email": "FOUNDER@acme.example"})
    assert response.status_code == 200
    assert "already exists" in " ".join(response.context["form"].errors["email"])
    assert counts() == before


def test_taken_workspace_address_is_refused(client: Client, make_tenant) -> None:
    taken = make_tenant(name="Acme").tenant.slug
    before = counts()
    response = client.post(reverse("signup"), {**GOOD, "slug": taken})
    assert response.status_code == 200
    assert "is taken" in " ".join(response.context["form"].errors["slug"])
    assert counts() == before


def test_password_similar_to_email_is_refused(client: Client) -> None:
    before = counts()
    response = client.post(
        reverse("signup"),
        {**GOOD, "email": "quartermaster@acme.example", "password1": "quartermaster", "password2": "quartermaster"},
    )
    assert response.status_code == 200
    assert "password1" in response.context["form"].errors
    assert counts() == before


def test_signed_in_person_is_sent_home_from_signup(client: Client, make_tenant) -> None:
    client.force_login(make_tenant().user)
    assert client.get(reverse("signup"))["Location"] == reverse("home")


def test_signup_without_csrf_token_is_refused() -> None:
    strict = Client(enforce_csrf_checks=True)
    before = counts()
    assert strict.post(reverse("signup"), GOOD).status_code == 403
    assert counts() == before


def test_signup_rejects_other_methods(client: Client) -> None:
    assert client.put(reverse("signup")).status_code == 405
