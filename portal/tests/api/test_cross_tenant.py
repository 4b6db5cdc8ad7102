"""A tenant's ids, paths and blobs are invisible to every other tenant: every
endpoint, called with another tenant's paths and ids, answers exactly what it
answers for something that does not exist, and changes nothing of theirs.

The other tenants are one in the same hub (same database and storages) and
one in a different hub."""

from __future__ import annotations

import hashlib
from urllib.parse import urlencode

import pytest

from conftest import all_databases
from portal.models import ApiToken
from portal.tests.api.conftest import make_caller, problem
from portal.tokens import _hash
from snapshots.models import Blob, NodeVersion
from snapshots.services import node_delete

pytestmark = all_databases

SECRET = b"the victim's quarterly figures"


@pytest.fixture(params=["uk", "de"], ids=["same-hub", "other-hub"])
def victim(request, make_tenant):
    """Another tenant with files, a deleted file and a deleted folder."""
    caller = make_caller(make_tenant, hub=request.param)
    caller.write("/Victim/secret.txt", SECRET)
    caller.write("/Victim/deleted.txt", b"gone")
    caller.write("/Victim/Old/inner.txt", b"inner")
    node_delete(tenant=caller.tenant, path="/Victim/deleted.txt", acting_user=caller.user)
    node_delete(tenant=caller.tenant, path="/Victim/Old", acting_user=caller.user)
    return caller


@pytest.fixture
def attacker(make_tenant):
    caller = make_caller(make_tenant, hub="uk")
    caller.write("/mine.txt", b"mine")
    return caller


def snapshot_of(caller):
    return caller.tree(), caller.clock(), Blob.objects.for_tenant(caller.tenant).count()


def q(**params: str) -> str:
    return urlencode(params)


def test_every_endpoint_treats_another_tenants_paths_as_missing(attacker, victim):
    victim_before = snapshot_of(victim)
    attacker_before = attacker.tree()
    sha = hashlib.sha256(SECRET).hexdigest()

    problem(attacker.get(f"/api/v1/files/?{q(path='/Victim')}"), 404)
    problem(attacker.get(f"/api/v1/files/?{q(path='/Victim/Old')}"), 404)
    problem(attacker.get(f"/api/v1/files/content?{q(path='/Victim/secret.txt')}"), 404)
    problem(attacker.get(f"/api/v1/files/content?{q(path='/Victim/secret.txt')}", HTTP_IF_NONE_MATCH=f'"{sha}"'), 404)
    problem(attacker.delete(f"/api/v1/files/?{q(path='/Victim/secret.txt')}"), 404)
    problem(attacker.post("/api/v1/files/move", {"from": "/Victim/secret.txt", "to": "/stolen.txt"}), 404)
    problem(attacker.post("/api/v1/files/move", {"from": "/Victim", "to": "/stolen"}), 404)
    problem(attacker.put_bytes("/Victim/secret.txt", b"overwrite", HTTP_IF_MATCH=f'"{sha}"'), 412)
    problem(attacker.get(f"/api/v1/trash/?{q(path='/Victim')}"), 404)
    problem(attacker.post("/api/v1/trash/restore", {"path": "/Victim/deleted.txt"}), 404)

    assert attacker.get(f"/api/v1/trash/?{q(q='deleted')}").json()["items"] == []
    assert attacker.get("/api/v1/trash/").json()["items"] == []
    activity = attacker.get("/api/v1/activity/?limit=1000").json()["items"]
    assert all("Victim" not in item["path"] for item in activity)
    assert attacker.get("/api/v1/me/").json()["tenant"]["slug"] == attacker.tenant.slug
    listing = attacker.get("/api/v1/files/").json()["items"]
    assert [item["path"] for item in listing] == ["/mine.txt"]

    assert snapshot_of(victim) == victim_before
    assert attacker.tree() == attacker_before


def test_another_tenants_trash_ids_answer_exactly_as_missing_ones(attacker, victim):
    victim_ids = [item["id"] for item in victim.get("/api/v1/trash/").json()["items"]]
    assert len(victim_ids) == 2
    never_used = NodeVersion.objects.using("hub_uk").order_by("-pk").values_list("pk", flat=True).first() + 10_000
    victim_before = snapshot_of(victim)

    missing = attacker.post("/api/v1/trash/restore", {"id": never_used})
    problem(missing, 404)
    for victim_id in victim_ids:
        response = attacker.post("/api/v1/trash/restore", {"id": victim_id})
        assert (response.status_code, response.json()) == (missing.status_code, missing.json())

    assert snapshot_of(victim) == victim_before
    assert victim.post("/api/v1/trash/restore", {"id": victim_ids[0]}).status_code == 200  # still theirs


def test_the_same_paths_in_two_tenants_stay_apart(attacker, victim):
    attacker.put_bytes("/Victim/secret.txt", b"attacker's own")
    victim_listing = victim.get(f"/api/v1/files/?{q(path='/Victim')}").json()["items"]
    attacker_listing = attacker.get(f"/api/v1/files/?{q(path='/Victim')}").json()["items"]

    assert [item["name"] for item in attacker_listing] == ["secret.txt"]
    assert {item["name"] for item in victim_listing} == {"secret.txt"}
    assert attacker_listing[0]["sha256"] != victim_listing[0]["sha256"]
    download = victim.get(f"/api/v1/files/content?{q(path='/Victim/secret.txt')}")
    assert b"".join(download.streaming_content) == SECRET


def test_blobs_are_never_shared_between_tenants(attacker, victim):
    """Uploading bytes another tenant has makes a blob of one's own: no
    cross-tenant deduplication that could reveal the other tenant has them."""
    victim_blobs = list(Blob.objects.for_tenant(victim.tenant).values_list("pk", "sha256"))
    response = attacker.put_bytes("/copy.txt", SECRET)
    assert response.status_code == 201
    own = Blob.objects.for_tenant(attacker.tenant).get(sha256=hashlib.sha256(SECRET).hexdigest())
    assert own.tenant_id == attacker.tenant.pk
    assert list(Blob.objects.for_tenant(victim.tenant).values_list("pk", "sha256")) == victim_blobs
    if attacker.tenant.hub_id == victim.tenant.hub_id:
        assert own.pk not in {pk for pk, _ in victim_blobs}


def test_a_token_bound_to_a_tenant_its_user_does_not_belong_to_answers_401(attacker, victim):
    """A token row naming another tenant (made by hand, say) gives no way in."""
    raw = "hp_0badc0de_" + "A" * 43
    ApiToken.objects.create(
        user=attacker.user, tenant=victim.tenant, name="forged", prefix="0badc0de", secret_hash=_hash(raw)
    )
    victim_before = snapshot_of(victim)
    client = attacker.client.__class__(HTTP_AUTHORIZATION=f"Bearer {raw}")
    problem(client.get(f"/api/v1/files/?{q(path='/Victim')}"), 401)
    problem(client.delete(f"/api/v1/files/?{q(path='/Victim/secret.txt')}"), 401)
    assert snapshot_of(victim) == victim_before


def test_a_token_only_ever_sees_its_own_tenant(attacker, victim):
    assert victim.get("/api/v1/me/").json()["tenant"]["slug"] == victim.tenant.slug
    assert [item["path"] for item in victim.get("/api/v1/files/").json()["items"]] == ["/Victim"]
    problem(victim.get(f"/api/v1/files/content?{q(path='/mine.txt')}"), 404)
