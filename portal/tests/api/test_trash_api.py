"""/api/v1/trash/: listing Recently deleted, filtering, paging, restoring."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from conftest import all_databases
from portal.tests.api.conftest import problem
from snapshots.services import node_delete

pytestmark = all_databases


def trash_url(**params: str) -> str:
    return f"/api/v1/trash/?{urlencode(params)}" if params else "/api/v1/trash/"


def delete(api, path: str) -> None:
    node_delete(tenant=api.tenant, path=path, acting_user=api.user)


def test_trash_lists_deleted_items_with_when_who_and_until_when(api):
    api.write("/Reports/q1.pdf", b"quarter one")
    api.write("/Old/a.txt", b"aa")
    api.write("/Old/b.txt", b"bbb")
    delete(api, "/Reports/q1.pdf")
    delete(api, "/Old")

    response = api.get(trash_url())

    assert response.status_code == 200
    body = response.json()
    assert body["next_cursor"] is None
    folder, file = body["items"]  # newest first
    assert folder["path"] == "/Old" and folder["kind"] == "folder" and folder["size"] == 5
    assert file["path"] == "/Reports/q1.pdf" and file["kind"] == "file" and file["size"] == 11
    assert file["name"] == "q1.pdf"
    assert file["deleted_by"] == api.user.email
    deleted_at = parse_datetime(file["deleted_at"])
    assert abs(deleted_at - timezone.now()) < timedelta(minutes=1)
    assert parse_datetime(file["restorable_until"]) == deleted_at + timedelta(days=28)


def test_trash_shows_the_path_an_item_had_when_deleted(api):
    api.write("/a/x.txt")
    delete(api, "/a/x.txt")
    api.client.post("/api/v1/files/move", {"from": "/a", "to": "/renamed"}, content_type="application/json")
    assert [item["path"] for item in api.get(trash_url()).json()["items"]] == ["/a/x.txt"]


def test_trash_filters_by_folder_and_by_name(api):
    for path in ("/a/report.pdf", "/a/notes.txt", "/b/report-2.pdf", "/b/other.txt"):
        api.write(path)
        delete(api, path)

    in_a = api.get(trash_url(path="/a")).json()["items"]
    assert sorted(item["path"] for item in in_a) == ["/a/notes.txt", "/a/report.pdf"]
    named = api.get(trash_url(q="REPORT")).json()["items"]
    assert sorted(item["path"] for item in named) == ["/a/report.pdf", "/b/report-2.pdf"]
    both = api.get(trash_url(path="/b", q="report")).json()["items"]
    assert [item["path"] for item in both] == ["/b/report-2.pdf"]
    assert api.get(trash_url(q="nothing")).json()["items"] == []


def test_trash_pages_with_a_cursor(api):
    for n in range(7):
        api.write(f"/f{n}.txt", bytes([n]))
        delete(api, f"/f{n}.txt")
    seen: list[str] = []
    url = trash_url(limit="3")
    while url:
        body = api.get(url).json()
        seen.extend(item["name"] for item in body["items"])
        url = body["next"]
    assert seen == [f"f{n}.txt" for n in reversed(range(7))]


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"cursor": "garbage"}, 400),
        ({"cursor": "eyJpZCI6MX0"}, 400),  # a cursor of another listing
        ({"limit": "0"}, 400),
        ({"limit": "5000"}, 400),
        ({"path": "/a\x00"}, 400),
        ({"path": "../x"}, 400),
        ({"path": "/missing"}, 404),
        ({"path": "/file.txt"}, 409),
        ({"q": "x" * 256}, 400),
    ],
)
def test_trash_refuses_bad_parameters(api, params, status):
    api.write("/file.txt")
    problem(api.get(trash_url(**params)), status)


def test_restore_by_id_puts_an_item_back_where_it_was(api):
    api.write("/a/b/c.txt", b"c")
    delete(api, "/a")
    item_id = api.get(trash_url()).json()["items"][0]["id"]

    response = api.post("/api/v1/trash/restore", {"id": item_id})

    assert response.status_code == 200
    body = response.json()
    assert body["path"] == "/a" and body["kind"] == "folder" and body["size"] == 1
    assert api.tree() == {"/a": None, "/a/b": None, "/a/b/c.txt": api.tree()["/a/b/c.txt"]}
    assert api.get(trash_url()).json()["items"] == []


def test_restore_by_path_takes_the_most_recently_deleted(api):
    api.write("/a/x.txt", b"first")
    delete(api, "/a/x.txt")
    api.write("/a/x.txt", b"second")
    delete(api, "/a/x.txt")

    response = api.post("/api/v1/trash/restore", {"path": "/a/x.txt"})

    assert response.status_code == 200
    assert response.json()["sha256"] == api.tree()["/a/x.txt"]
    download = api.get("/api/v1/files/content?path=/a/x.txt")
    assert b"".join(download.streaming_content) == b"second"


def test_restore_when_the_name_is_taken_comes_back_renamed(api):
    api.write("/a/x.txt", b"old")
    delete(api, "/a/x.txt")
    api.write("/a/x.txt", b"new")

    response = api.post("/api/v1/trash/restore", {"path": "/a/x.txt"})

    assert response.status_code == 200
    assert response.json()["path"] == "/a/x (restored).txt"
    assert set(api.tree()) == {"/a", "/a/x.txt", "/a/x (restored).txt"}


def test_restore_makes_missing_folders_again(api):
    api.write("/a/b/c.txt")
    delete(api, "/a/b/c.txt")
    delete(api, "/a")
    item_id = next(item["id"] for item in api.get(trash_url()).json()["items"] if item["name"] == "c.txt")
    assert api.post("/api/v1/trash/restore", {"id": item_id}).json()["path"] == "/a/b/c.txt"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 400),
        ({"id": 1, "path": "/a"}, 400),
        ({"id": "one"}, 400),
        ({"id": 0}, 400),
        ({"id": 2**63}, 400),
        ({"id": 2**63 - 1}, 404),
        ({"path": "/never-deleted.txt"}, 404),
        ({"path": "/missing-folder/x.txt"}, 404),
        ({"path": "/"}, 404),
        ({"path": "/a\x01"}, 400),
        ({"path": "/.."}, 400),
    ],
)
def test_restore_refuses_bad_requests_and_changes_nothing(api, body, status):
    api.write("/keep.txt")
    before = (api.tree(), api.clock())
    problem(api.post("/api/v1/trash/restore", body), status)
    assert (api.tree(), api.clock()) == before


def test_restore_twice_is_refused_the_second_time(api):
    api.write("/x.txt")
    delete(api, "/x.txt")
    item_id = api.get(trash_url()).json()["items"][0]["id"]
    assert api.post("/api/v1/trash/restore", {"id": item_id}).status_code == 200
    before = (api.tree(), api.clock())
    assert "not in Recently deleted" in problem(api.post("/api/v1/trash/restore", {"id": item_id}), 404)["detail"]
    assert (api.tree(), api.clock()) == before


def test_a_live_versions_id_is_not_restorable(api):
    """A replaced file's earlier version is history, not Recently deleted."""
    api.write("/x.txt", b"one")
    api.write("/x.txt", b"two")
    from snapshots.models import NodeVersion

    old = NodeVersion.objects.for_tenant(api.tenant).filter(name="x.txt", valid_to__isnull=False).get()
    problem(api.post("/api/v1/trash/restore", {"id": old.pk}), 404)


def test_a_page_of_original_paths_matches_the_one_by_one_answer(api):
    """trash_original_paths walks a whole page level by level; it must agree
    with selectors.trash_original_path whatever happened to the folders since."""
    from snapshots.models import NodeVersion
    from snapshots.selectors import trash_original_path
    from snapshots.selectors.trash import trash_original_paths

    api.write("/a/b/c/deep.txt")
    api.write("/a/b/sibling.txt")
    api.write("/top.txt")
    delete(api, "/a/b/c/deep.txt")
    api.post("/api/v1/files/move", {"from": "/a/b", "to": "/a/renamed"})
    delete(api, "/a/renamed/sibling.txt")
    api.mkdir("/z")
    api.post("/api/v1/files/move", {"from": "/a", "to": "/z/a"})
    delete(api, "/top.txt")
    delete(api, "/z")
    items = list(NodeVersion.objects.for_tenant(api.tenant).filter(in_trash=True))

    batched = trash_original_paths(tenant=api.tenant, items=items)

    assert batched == {item.pk: trash_original_path(tenant=api.tenant, version=item) for item in items}
    assert sorted(batched.values()) == ["/a/b/c/deep.txt", "/a/renamed/sibling.txt", "/top.txt", "/z"]


def test_a_folder_an_api_restore_brought_back_leaves_the_trash_and_history(api):
    """Recently deleted lists only what is deleted now: a folder a restore job
    brought back is not offered again (restoring it would make a second copy),
    and its bytes are live, not kept by history."""
    from snapshots.services import restore_run, snapshot_create

    api.write("/Projects/plan.txt", b"plan")
    api.write("/Projects/deep/spec.txt", b"spec")
    snapshot = snapshot_create(tenant=api.tenant, acting_user=api.user)
    delete(api, "/Projects")
    [deleted] = api.get(trash_url()).json()["items"]

    job = api.post("/api/v1/restores/", {"snapshot": snapshot.pk}).json()
    assert restore_run(tenant=api.tenant, job_id=job["id"]).state == "succeeded"

    assert api.get(trash_url()).json()["items"] == []
    problem(api.post("/api/v1/trash/restore", {"id": deleted["id"]}), 404)
    assert sorted(api.tree()) == ["/Projects", "/Projects/deep", "/Projects/deep/spec.txt", "/Projects/plan.txt"]
    assert api.get("/api/v1/me/").json()["storage"]["history_bytes"] == 0
