"""/api/v1/snapshots/: list and take snapshots, browse and download the tree
as it was, and every bad input or foreign id refused like a missing one."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from urllib.parse import urlencode

import pytest
import time_machine
from django.utils import timezone

from conftest import all_databases
from portal.tests.api.conftest import make_caller, problem
from snapshots.models import Snapshot
from snapshots.services import node_delete, snapshot_create

pytestmark = all_databases


def files_url(snapshot_id: int, path: str = "/", **params: str) -> str:
    return f"/api/v1/snapshots/{snapshot_id}/files/?{urlencode({'path': path, **params})}"


def content_url(snapshot_id: int, path: str) -> str:
    return f"/api/v1/snapshots/{snapshot_id}/content?{urlencode({'path': path})}"


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def body_of(response) -> bytes:
    return b"".join(response.streaming_content)


def take(caller, **kwargs) -> Snapshot:
    return snapshot_create(tenant=caller.tenant, acting_user=caller.user, **kwargs)


# SECTION: listing and taking


def test_taking_a_snapshot_answers_201_with_its_counts_and_expiry(api):
    api.write("/a.txt", b"abc")
    api.write("/b/c.txt", b"defg")

    response = api.post("/api/v1/snapshots/", {"label": "before the cleanup"})

    assert response.status_code == 201
    body = response.json()
    snapshot = Snapshot.objects.for_tenant(api.tenant).get(pk=body["id"])
    assert body["kind"] == "manual"
    assert body["label"] == "before the cleanup"
    assert (body["file_count"], body["byte_count"]) == (2, 7)
    assert body["created_by"] == api.user.email
    assert body["taken_at"].endswith("Z")
    expires = (snapshot.taken_at + timedelta(days=28)).isoformat().replace("+00:00", "Z")
    assert body["expires_at"] == expires


def test_a_snapshot_needs_no_body_and_no_label(api):
    response = api.client.generic("POST", "/api/v1/snapshots/")  # no body, as curl -X POST sends
    assert response.status_code == 201
    assert response.json()["label"] == ""


@pytest.mark.parametrize(
    ("body", "field"),
    [({"label": "x" * 201}, "label"), ({"label": 5}, "label"), ({"label": None}, "label")],
    ids=["too-long", "number", "null"],
)
def test_taking_a_snapshot_refuses_bad_labels(api, body, field):
    before = Snapshot.objects.for_tenant(api.tenant).count()
    response = api.post("/api/v1/snapshots/", body)
    # A number is not a label: the schema says string, and the API holds to it.
    assert field in problem(response, 400)["errors"]
    assert Snapshot.objects.for_tenant(api.tenant).count() == before


def test_malformed_json_is_a_400_problem_and_takes_nothing(api):
    before = Snapshot.objects.for_tenant(api.tenant).count()
    response = api.client.post("/api/v1/snapshots/", "{not json", content_type="application/json")
    problem(response, 400)
    assert Snapshot.objects.for_tenant(api.tenant).count() == before


def test_listing_is_newest_first_within_the_retention_and_pages(api):
    now = timezone.now()
    with time_machine.travel(now - timedelta(days=29), tick=False):
        take(api, label="expired")
    with time_machine.travel(now - timedelta(days=27), tick=False):
        take(api, label="old")
    with time_machine.travel(now - timedelta(days=1), tick=False):
        take(api, label="yesterday")
    take(api, label="now a")
    take(api, label="now b")  # same second as "now a" on a coarse clock: the id breaks the tie

    seen: list[str] = []
    url = "/api/v1/snapshots/?limit=2"
    while url:
        body = api.get(url).json()
        assert len(body["items"]) <= 2
        seen.extend(item["label"] for item in body["items"])
        url = body["next"]
    assert seen == ["now b", "now a", "yesterday", "old"]


def test_listing_shows_every_kind_and_the_scheduled_author_is_empty(api):
    take(api, kind=Snapshot.Kind.SCHEDULED)
    snapshot_create(tenant=api.tenant, kind=Snapshot.Kind.SCHEDULED)
    items = api.get("/api/v1/snapshots/").json()["items"]
    assert items[0]["kind"] == "scheduled" and items[0]["created_by"] == "Hubport"


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "1001"}, {"cursor": "bm90IGpzb24"}, {"cursor": "!!"}])
def test_listing_refuses_bad_parameters(api, params):
    problem(api.get(f"/api/v1/snapshots/?{urlencode(params)}"), 400)


# SECTION: browsing and downloading


@pytest.fixture
def history(api):
    """A tree, a snapshot of it, then everything changed."""
    api.write("/Reports/q1.pdf", b"quarter one")
    api.write("/Reports/Old/2019.pdf", b"x" * 10)
    api.write("/notes.txt", b"first notes")
    snapshot = take(api)
    api.write("/notes.txt", b"second notes, longer")
    api.write("/Reports/q2.pdf", b"quarter two")
    node_delete(tenant=api.tenant, path="/Reports/Old", acting_user=api.user)
    return snapshot


def test_browsing_a_snapshot_shows_the_tree_as_it_was(api, history):
    root = api.get(files_url(history.pk)).json()
    assert root["snapshot"] == history.pk and root["path"] == "/"
    assert root["taken_at"] == api.get("/api/v1/snapshots/").json()["items"][0]["taken_at"]
    by_name = {item["name"]: item for item in root["items"]}
    assert by_name["notes.txt"]["size"] == len(b"first notes")
    assert by_name["notes.txt"]["sha256"] == sha(b"first notes")
    assert by_name["notes.txt"]["modified_by"] == api.user.email
    assert by_name["Reports"]["kind"] == "folder" and by_name["Reports"]["size"] is None

    reports = api.get(files_url(history.pk, "/Reports")).json()
    assert {item["path"] for item in reports["items"]} == {"/Reports/q1.pdf", "/Reports/Old"}
    old = api.get(files_url(history.pk, "/Reports/Old")).json()
    assert [(item["path"], item["size"]) for item in old["items"]] == [("/Reports/Old/2019.pdf", 10)]


def test_browsing_a_snapshot_pages_like_the_files_listing(api):
    for n in range(5):
        api.write(f"/docs/{n}.txt", b"x" * n)
    snapshot = take(api)
    api.write("/docs/9.txt", b"later")
    seen: list[str] = []
    url = files_url(snapshot.pk, "/docs", limit="2", order="-size")
    while url:
        body = api.get(url).json()
        seen.extend(item["name"] for item in body["items"])
        url = body["next"]
    assert seen == ["4.txt", "3.txt", "2.txt", "1.txt", "0.txt"]


def test_downloading_from_a_snapshot_gives_the_bytes_of_then(api, history):
    response = api.get(content_url(history.pk, "/notes.txt"))
    assert response.status_code == 200
    assert body_of(response) == b"first notes"
    assert response["ETag"] == f'"{sha(b"first notes")}"'
    assert response["Content-Disposition"].startswith('attachment; filename="notes.txt"')

    partial = api.get(content_url(history.pk, "/notes.txt"), HTTP_RANGE="bytes=0-4")
    assert partial.status_code == 206 and body_of(partial) == b"first"
    assert partial["Content-Range"] == f"bytes 0-4/{len(b'first notes')}"
    cached = api.get(content_url(history.pk, "/notes.txt"), HTTP_IF_NONE_MATCH=f'"{sha(b"first notes")}"')
    assert cached.status_code == 304
    problem(api.get(content_url(history.pk, "/notes.txt"), HTTP_RANGE="bytes=500-"), 416)

    deleted_since = api.get(content_url(history.pk, "/Reports/Old/2019.pdf"))
    assert body_of(deleted_since) == b"x" * 10


def test_browsing_and_downloading_refuse_what_did_not_exist_then(api, history):
    assert "does not exist" in problem(api.get(files_url(history.pk, "/Reports/q2.pdf")), 404)["detail"]
    problem(api.get(content_url(history.pk, "/Reports/q2.pdf")), 404)
    problem(api.get(files_url(history.pk, "/nowhere")), 404)
    assert "was a file then" in problem(api.get(files_url(history.pk, "/notes.txt")), 409)["detail"]
    assert "was a folder then" in problem(api.get(content_url(history.pk, "/Reports")), 409)["detail"]
    problem(api.get(files_url(history.pk, "/a/../../etc")), 400)
    problem(api.get(f"/api/v1/snapshots/{history.pk}/content"), 400)  # no path


def test_an_expired_snapshot_cannot_be_browsed(api):
    with time_machine.travel(timezone.now() - timedelta(days=29), tick=False):
        api.write("/old.txt", b"old")
        expired = take(api)
    missing = problem(api.get(files_url(expired.pk)), 404)
    assert missing["detail"] == f"There is no snapshot {expired.pk}."
    problem(api.get(content_url(expired.pk, "/old.txt")), 404)


# SECTION: ids that are not the caller's


@pytest.fixture(params=["uk", "de"], ids=["same-hub", "other-hub"])
def victim(request, make_tenant):
    caller = make_caller(make_tenant, hub=request.param)
    caller.write("/secret.txt", b"the victim's secret")
    return caller


def test_another_tenants_snapshots_answer_exactly_like_unknown_ones(api, victim):
    """In another hub the ids are another database's: the same number may even
    be one of the caller's own ids, so the caller here has no snapshot at all."""
    theirs = take(victim)
    unknown = theirs.pk + 10_000

    for url_of in (files_url, lambda i: content_url(i, "/secret.txt")):
        missing = problem(api.get(url_of(unknown)), 404)
        foreign = problem(api.get(url_of(theirs.pk)), 404)
        assert foreign == {**missing, "detail": missing["detail"].replace(str(unknown), str(theirs.pk))}
    assert api.get("/api/v1/snapshots/").json()["items"] == []
    assert victim.get(files_url(theirs.pk)).status_code == 200  # still theirs


@pytest.mark.parametrize("snapshot_id", [0, 2**63, 10**30])
def test_ids_no_database_holds_are_missing_not_errors(api, snapshot_id):
    problem(api.get(files_url(snapshot_id)), 404)
    problem(api.get(content_url(snapshot_id, "/x")), 404)


def test_the_snapshot_list_holds_only_the_callers_snapshots(api, other_api):
    mine = take(api)
    take(other_api)
    assert [item["id"] for item in api.get("/api/v1/snapshots/").json()["items"]] == [mine.pk]


# SECTION: the schema


def test_the_schema_describes_the_history_endpoints(client):
    paths = client.get("/api/schema/?format=json").json()["paths"]
    expected = {
        "/api/v1/snapshots/": {"get", "post"},
        "/api/v1/snapshots/{snapshot_id}/files/": {"get"},
        "/api/v1/snapshots/{snapshot_id}/content": {"get"},
        "/api/v1/files/versions": {"get"},
        "/api/v1/files/versions/{version_id}/content": {"get"},
        "/api/v1/files/versions/{version_id}/restore": {"post"},
        "/api/v1/restores/": {"get", "post"},
        "/api/v1/restores/{job_id}": {"get"},
        "/api/v1/restores/{job_id}/cancel": {"post"},
    }
    for path, methods in expected.items():
        assert set(paths[path]) >= methods, path
    start = paths["/api/v1/restores/"]["post"]
    assert {"200", "202", "400", "404", "422"} <= set(start["responses"])
    assert "application/problem+json" in start["responses"]["422"]["content"]
    assert "409" in paths["/api/v1/restores/{job_id}/cancel"]["post"]["responses"]
