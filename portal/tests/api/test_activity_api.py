"""/api/v1/activity/: the workspace's changes, newest first, paged."""

from __future__ import annotations

import pytest

from conftest import all_databases
from portal.tests.api.conftest import problem

pytestmark = all_databases


def test_activity_lists_changes_newest_first(api):
    api.put_bytes("/a/b.txt", b"x")
    api.post("/api/v1/files/move", {"from": "/a/b.txt", "to": "/a/c.txt"})
    api.delete("/api/v1/files/?path=/a/c.txt")

    response = api.get("/api/v1/activity/")

    assert response.status_code == 200
    items = response.json()["items"]
    assert [(item["action"], item["path"], item["previous_path"]) for item in items] == [
        ("delete", "/a/c.txt", ""),
        ("rename", "/a/c.txt", "/a/b.txt"),
        ("create", "/a/b.txt", ""),
        ("mkdir", "/a", ""),
        ("provision", "", ""),
    ]
    latest = items[0]
    assert latest["actor"] == api.user.email
    assert latest["by_support"] is False
    assert latest["seq"] == api.clock()
    assert latest["at"].endswith("Z")
    assert set(latest) == {"seq", "at", "action", "path", "previous_path", "actor", "by_support", "restore_job"}
    assert latest["restore_job"] is None


def test_a_restores_changes_name_their_job_item_by_item(api):
    from snapshots.services import restore_run, snapshot_create

    api.put_bytes("/Projects/a.txt", b"a")
    api.put_bytes("/Projects/b.txt", b"b")
    snapshot = snapshot_create(tenant=api.tenant, acting_user=api.user)
    api.put_bytes("/Projects/a.txt", b"changed")
    job = api.post("/api/v1/restores/", {"snapshot": snapshot.pk, "conflict": "overwrite"}).json()
    restore_run(tenant=api.tenant, job_id=job["id"])

    items = api.get("/api/v1/activity/").json()["items"]
    assert [(item["action"], item["path"], item["restore_job"]) for item in items[:2]] == [
        ("restore", "/Projects/a.txt", job["id"]),
        ("replace", "/Projects/a.txt", None),
    ]


def test_activity_pages_with_a_cursor(api):
    for n in range(6):
        api.mkdir(f"/f{n}")
    seen = []
    url = "/api/v1/activity/?limit=4"
    while url:
        body = api.get(url).json()
        assert len(body["items"]) <= 4
        seen.extend(item["path"] for item in body["items"])
        url = body["next"]
    assert seen == [f"/f{n}" for n in reversed(range(6))] + [""]


@pytest.mark.parametrize("query", ["cursor=%%%", "cursor=eyJ2IjoxLCJpZCI6MX0", "limit=-1", "limit=1001", "limit=x"])
def test_activity_refuses_bad_parameters(api, query):
    problem(api.get(f"/api/v1/activity/?{query}"), 400)


def test_activity_needs_authentication(client):
    problem(client.get("/api/v1/activity/"), 401)
