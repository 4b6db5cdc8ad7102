"""The team through the REST API: members (list, PATCH a role, DELETE, hand on
ownership, history) and invitations (POST, list, DELETE), each refusal a
problem; a read-only member's writes to the store (PUT, DELETE, move, new
folder, trash restore, version restore, snapshot, restore) are 403
role_forbidden while their reads work; a removed member's token stops at once."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from django.core import mail
from django.test import Client

from conftest import all_databases
from hubs.invitation_links import invitation_from_token
from hubs.models import Membership
from hubs.tests.windows import person
from portal.tests.api.conftest import ApiCaller, problem
from portal.tokens import api_token_create

pytestmark = all_databases


def join(api: ApiCaller, email: str, role: str) -> ApiCaller:
    user = person(email)
    Membership.objects.create(tenant=api.tenant, user=user, role=role)
    _, raw = api_token_create(user=user, tenant=api.tenant, name="tests")
    return ApiCaller(tenant=api.tenant, user=user, token=raw, client=Client(HTTP_AUTHORIZATION=f"Bearer {raw}"))


def patch(caller: ApiCaller, url: str, body: object):
    return caller.client.patch(url, body, content_type="application/json")


def test_members_list_shows_role_two_factor_and_last_sign_in(api):
    reader = join(api, "reader@acme.test", "read_only")
    body = reader.get("/api/v1/members/").json()
    rows = {row["email"]: row for row in body["items"]}
    assert [row["role"] for row in body["items"]] == ["owner", "read_only"], "owners first"
    assert rows["reader@acme.test"]["two_factor"] is False
    assert rows["reader@acme.test"]["last_sign_in"] is None
    assert set(rows[api.user.email]) == {"id", "email", "role", "two_factor", "last_sign_in", "joined_at"}


def test_invite_list_and_withdraw_through_the_api(api, eager_tasks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/invitations/", {"email": "New@Acme.test", "role": "admin"})
    assert response.status_code == 201, response.content
    created = response.json()
    assert (created["email"], created["role"], created["invited_by"]) == ("new@acme.test", "admin", api.user.email)
    [message] = mail.outbox
    token = re.search(r"/invitations/([^/\s]+)/", message.body).group(1)
    assert invitation_from_token(token).pk == created["id"]

    listed = api.get("/api/v1/invitations/").json()["items"]
    assert [item["id"] for item in listed] == [created["id"]]
    assert listed[0]["email_sent_at"] is not None

    assert api.delete(f"/api/v1/invitations/{created['id']}").status_code == 204
    assert api.get("/api/v1/invitations/").json()["items"] == []
    history = [item["kind"] for item in api.get("/api/v1/members/history").json()["items"]]
    assert history == ["invitation_revoked", "invited"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-address", "role": "member"}, "email"),
        ({"email": "x@acme.test", "role": "boss"}, "role"),
        ({"email": "x@acme.test"}, "role"),
        ({"email": "x@acme.test", "role": "member", "extra": 1}, "extra"),
        ({"email": 7, "role": "member"}, "email"),
    ],
)
def test_bad_invitations_are_400_problems(api, body, field):
    detail = problem(api.post("/api/v1/invitations/", body), 400)
    assert field in detail["errors"]


def test_inviting_a_member_is_409_and_a_member_cannot_invite(api):
    member = join(api, "member@acme.test", "member")
    body = problem(api.post("/api/v1/invitations/", {"email": "member@acme.test", "role": "admin"}), 409)
    assert body["type"] == "urn:hubport:problem:invitation_refused"
    body = problem(member.post("/api/v1/invitations/", {"email": "x@acme.test", "role": "member"}), 403)
    assert body["type"] == "urn:hubport:problem:role_forbidden"
    problem(member.get("/api/v1/invitations/"), 403)


def test_patch_delete_and_ownership_through_the_api(api):
    member = join(api, "member@acme.test", "member")
    member_id = Membership.objects.get(user=member.user).pk
    owner_id = Membership.objects.get(user=api.user).pk

    response = patch(api, f"/api/v1/members/{member_id}", {"role": "admin"})
    assert response.status_code == 200 and response.json()["role"] == "admin"
    body = problem(patch(api, f"/api/v1/members/{owner_id}", {"role": "member"}), 409)
    assert "last owner" in body["detail"]
    problem(patch(api, f"/api/v1/members/{member_id}", {"role": "god"}), 400)
    problem(patch(api, "/api/v1/members/999999", {"role": "member"}), 404)
    problem(api.delete(f"/api/v1/members/{owner_id}"), 409)

    response = api.post(f"/api/v1/members/{member_id}/ownership", None)
    assert response.status_code == 200 and response.json()["role"] == "owner"
    assert Membership.objects.get(pk=owner_id).role == "admin"
    # Now an admin: the former owner may no longer touch an owner.
    assert problem(api.delete(f"/api/v1/members/{member_id}"), 403)["type"].endswith("role_forbidden")


def test_a_removed_members_token_stops_at_once(api):
    member = join(api, "member@acme.test", "member")
    assert member.get("/api/v1/files/?path=/").status_code == 200
    member_id = Membership.objects.get(user=member.user).pk
    assert api.delete(f"/api/v1/members/{member_id}").status_code == 204
    problem(member.get("/api/v1/files/?path=/"), 401)


def test_a_role_change_applies_to_the_next_request(api):
    member = join(api, "member@acme.test", "member")
    member_id = Membership.objects.get(user=member.user).pk
    assert member.put_bytes("/a.txt", b"one").status_code == 201
    patch(api, f"/api/v1/members/{member_id}", {"role": "read_only"})
    problem(member.put_bytes("/b.txt", b"two"), 403)


def test_a_read_only_member_reads_but_every_write_is_403(api):
    api.write("/doc.txt", b"version one")
    api.write("/doc.txt", b"version two")
    api.mkdir("/Folder")
    snapshot = api.post("/api/v1/snapshots/", {"label": "s"}).json()
    api.write("/gone.txt", b"bye")
    assert api.delete(f"/api/v1/files/?{urlencode({'path': '/gone.txt'})}").status_code == 204
    versions = api.get(f"/api/v1/files/versions?{urlencode({'path': '/doc.txt'})}").json()["items"]
    reader = join(api, "reader@acme.test", "read_only")
    before = api.tree()

    # Reads: browse, download, history, trash, activity, snapshots.
    assert reader.get("/api/v1/files/?path=/").status_code == 200
    download = reader.get(f"/api/v1/files/content?{urlencode({'path': '/doc.txt'})}")
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"version two"
    assert reader.get(f"/api/v1/files/versions?{urlencode({'path': '/doc.txt'})}").status_code == 200
    assert reader.get("/api/v1/trash/").status_code == 200
    assert reader.get("/api/v1/activity/").status_code == 200
    assert reader.get("/api/v1/snapshots/").status_code == 200

    refusals = [
        reader.put_bytes("/new.txt", b"x"),
        reader.delete(f"/api/v1/files/?{urlencode({'path': '/doc.txt'})}"),
        reader.post("/api/v1/files/move", {"from": "/doc.txt", "to": "/moved.txt"}),
        reader.post("/api/v1/files/folders", {"path": "/New"}),
        reader.post("/api/v1/trash/restore", {"path": "/gone.txt"}),
        reader.post(f"/api/v1/files/versions/{versions[-1]['id']}/restore", None),
        reader.post("/api/v1/snapshots/", {"label": "mine"}),
        reader.post("/api/v1/restores/", {"snapshot": snapshot["id"]}),
    ]
    for response in refusals:
        body = problem(response, 403)
        assert body["type"] == "urn:hubport:problem:role_forbidden"
        assert "read-only" in body["detail"]
    assert api.tree() == before, "nothing changed"
    assert len(api.get("/api/v1/snapshots/").json()["items"]) == 1
    assert api.get("/api/v1/restores/").json()["items"] == []


def test_the_team_endpoints_are_in_the_schema(api):
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/invitations/"])
    assert {"patch", "delete"} <= set(paths["/api/v1/members/{membership_id}"])
    assert "403" in paths["/api/v1/files/content"]["put"]["responses"]
    role = schema["components"]["schemas"]["InvitationCreate"]["properties"]["role"]
    assert "read_only" in str(role) or "read_only" in str(schema["components"]["schemas"])
