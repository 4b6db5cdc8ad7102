"""/api/v1/me/ and /api/v1/hubs/, and how callers get in: tokens, the browser
session with its CSRF check and two-factor step, and throttling."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.throttling import UserRateThrottle

from conftest import all_databases
from hubs.models import Membership
from portal.middleware.tenant import SESSION_TENANT_KEY
from portal.models import AuthenticatorDevice
from portal.tests.api.conftest import problem

pytestmark = all_databases


# SECTION: me


def test_me_describes_the_caller_their_tenant_and_its_storage(api):
    api.write("/a.bin", b"x" * 100)
    api.tenant.quota_bytes = 5000
    api.tenant.save(update_fields=["quota_bytes"])

    response = api.get("/api/v1/me/")

    assert response.status_code == 200
    assert response.json() == {
        "user": {"id": api.user.pk, "email": api.user.email, "time_zone": "Europe/London"},
        "tenant": {"name": api.tenant.name, "slug": api.tenant.slug},
        "role": "owner",
        "hub": {
            "code": "uk",
            "city": api.tenant.hub.city,
            "country": api.tenant.hub.country,
            "region": api.tenant.hub.region,
            "time_zone": api.tenant.hub.time_zone,
        },
        "storage": {
            "live_bytes": 100,
            "live_files": 1,
            "history_bytes": 0,
            "quota_bytes": 5000,
            "max_file_bytes": api.tenant.effective_max_file_bytes,
        },
    }


@pytest.mark.parametrize("role", ["member", "admin"])
def test_every_role_reads_and_writes_files(api, role):
    Membership.objects.filter(user=api.user, tenant=api.tenant).update(role=role)
    assert api.get("/api/v1/me/").json()["role"] == role
    assert api.put_bytes("/a.txt", b"x").status_code == 201
    assert api.post("/api/v1/files/move", {"from": "/a.txt", "to": "/b.txt"}).status_code == 200
    assert api.delete("/api/v1/files/?path=/b.txt").status_code == 204


# SECTION: hubs


def test_hubs_lists_the_seven_hubs_without_authentication(client):
    response = client.get("/api/v1/hubs/")
    assert response.status_code == 200
    hubs = response.json()["items"]
    assert len(hubs) == 7
    assert {hub["code"] for hub in hubs} == {"uk", "de", "us", "ae", "hk", "au", "nz"}
    assert set(hubs[0]) == {"code", "city", "country", "region", "time_zone"}


def test_hubs_ignores_a_bad_token(client):
    assert client.get("/api/v1/hubs/", HTTP_AUTHORIZATION="Bearer nonsense").status_code == 200


# SECTION: getting in


def test_no_credentials_answer_401_with_a_bearer_challenge(client):
    response = client.get("/api/v1/me/")
    body = problem(response, 401)
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert "Authorization: Bearer" in body["detail"]


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer a b",
        "Bearer hp_1234",
        "Bearer hp_12345678_wrongsecret",
        "Bearer ümlaut",
        "bearer hp_00000000_" + "A" * 43,
    ],
)
def test_bad_bearer_tokens_answer_401(client, api, header):
    response = client.get("/api/v1/me/", HTTP_AUTHORIZATION=header)
    problem(response, 401)
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_bad_token_does_not_fall_back_to_the_session(api):
    session = Client()
    session.force_login(api.user)
    assert session.get("/api/v1/me/").status_code == 200
    problem(session.get("/api/v1/me/", HTTP_AUTHORIZATION="Bearer hp_12345678_nope"), 401)


def test_the_browser_session_works_with_csrf(api):
    session = Client(enforce_csrf_checks=True)
    session.force_login(api.user)
    assert session.get("/api/v1/me/").json()["tenant"]["slug"] == api.tenant.slug

    refused = session.post("/api/v1/files/folders", {"path": "/a"}, content_type="application/json")
    assert "CSRF" in problem(refused, 403)["detail"]
    assert api.tree() == {}

    session.get("/settings/api-tokens/")  # any page sets the CSRF cookie
    token = session.cookies["csrftoken"].value
    created = session.post(
        "/api/v1/files/folders", {"path": "/a"}, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert created.status_code == 201
    assert api.tree() == {"/a": None}


def test_a_session_that_owes_its_two_factor_code_is_refused(api):
    AuthenticatorDevice.objects.create(user=api.user, name="phone", confirmed=True)
    session = Client()
    session.force_login(api.user)
    assert "two-factor" in problem(session.get("/api/v1/me/"), 401)["detail"]


def test_a_session_without_required_two_factor_is_refused(api):
    api.tenant.require_two_factor = True
    api.tenant.save(update_fields=["require_two_factor"])
    session = Client()
    session.force_login(api.user)
    assert "requires two-factor" in problem(session.get("/api/v1/me/"), 403)["detail"]


def test_a_session_with_no_workspace_chosen_is_refused(api, make_tenant):
    second = make_tenant()
    Membership.objects.create(user=api.user, tenant=second.tenant, role="member")
    session = Client()
    session.force_login(api.user)
    assert "workspace" in problem(session.get("/api/v1/me/"), 403)["detail"]
    store = session.session
    store[SESSION_TENANT_KEY] = second.tenant.pk
    store.save()
    assert session.get("/api/v1/me/").json()["tenant"]["slug"] == second.tenant.slug


def test_a_token_acts_in_its_own_tenant_whatever_the_session_chose(api, make_tenant):
    second = make_tenant()
    Membership.objects.create(user=api.user, tenant=second.tenant, role="member")
    api.client.force_login(api.user)
    store = api.client.session
    store[SESSION_TENANT_KEY] = second.tenant.pk
    store.save()
    assert api.get("/api/v1/me/").json()["tenant"]["slug"] == api.tenant.slug


def test_throttled_requests_answer_429_with_retry_after(api, monkeypatch):
    monkeypatch.setattr(UserRateThrottle, "get_rate", lambda self: "2/min")
    assert api.get("/api/v1/me/").status_code == 200
    assert api.get("/api/v1/me/").status_code == 200
    response = api.get("/api/v1/me/")
    problem(response, 429)
    assert int(response["Retry-After"]) > 0
