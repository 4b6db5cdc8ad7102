"""Settings → Profile: a person chooses the time zone every page shows times
in (blank: their workspace hub's); the service refuses a zone zoneinfo does
not know, whoever calls it."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from conftest import all_databases
from portal.services.accounts import user_time_zone_set

pytestmark = all_databases


@pytest.fixture
def owner(make_tenant):
    return make_tenant(hub="au", name="Sydney Pty")


@pytest.fixture
def signed_in(client: Client, owner) -> Client:
    client.force_login(owner.user)
    return client


def test_profile_needs_sign_in(client: Client) -> None:
    response = client.get(reverse("profile"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_account_menu_links_to_the_profile(signed_in: Client) -> None:
    html = signed_in.get(reverse("files")).content.decode()
    assert f'href="{reverse("profile")}"' in html


def test_profile_offers_every_iana_zone_and_the_hubs_by_default(signed_in: Client) -> None:
    response = signed_in.get(reverse("profile"))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<option value="" selected>' in html
    assert "Your hub’s time zone: Australia/Sydney" in html
    assert '<option value="Asia/Tokyo">' in html and '<option value="America/Argentina/Buenos_Aires">' in html
    assert '<option value="localtime">' not in html


def test_choosing_a_zone_saves_it_and_blank_goes_back_to_the_hubs(signed_in: Client, owner) -> None:
    response = signed_in.post(reverse("profile"), {"time_zone": "Asia/Tokyo"})
    assert response.status_code == 302 and response["Location"] == reverse("profile")
    owner.user.refresh_from_db()
    assert owner.user.time_zone == "Asia/Tokyo"
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Times are now shown in Asia/Tokyo time."]
    assert '<option value="Asia/Tokyo" selected>' in signed_in.get(reverse("profile")).content.decode()

    signed_in.post(reverse("profile"), {"time_zone": ""})
    owner.user.refresh_from_db()
    assert owner.user.time_zone == ""


def test_an_unknown_zone_is_refused_on_the_page(signed_in: Client, owner) -> None:
    response = signed_in.post(reverse("profile"), {"time_zone": "Mars/Olympus_Mons"})
    assert response.status_code == 200
    assert "time_zone" in response.context["form"].errors
    owner.user.refresh_from_db()
    assert owner.user.time_zone == ""


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "localtime", "../etc/passwd", "Asia/Tokyo "])
def test_the_service_refuses_what_zoneinfo_does_not_offer(owner, name: str) -> None:
    with pytest.raises(ValidationError) as refused:
        user_time_zone_set(user=owner.user, time_zone=name)
    assert "time_zone" in refused.value.message_dict
    owner.user.refresh_from_db()
    assert owner.user.time_zone == ""
