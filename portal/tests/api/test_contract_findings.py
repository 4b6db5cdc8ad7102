"""What the schema contract test (test_schema_contract.py) found in the code,
each pinned by a focused test that failed before its fix: the API answers what
its schema says, and refuses what its schema forbids."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest

from portal.api.fields import MAX_QUERY_PATH_LENGTH
from portal.server_errors import server_problem_bytes
from portal.tests.api.conftest import problem

pytestmark = pytest.mark.django_db(databases="__all__")


# SECTION: a blank query value is a value, not an absent one


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/files/?path=",
        "/api/v1/trash/?path=",
        "/api/v1/files/?order=",
        "/api/v1/files/?limit=",
    ],
)
def test_a_blank_query_value_is_refused_not_read_as_the_default(api: Any, url: str) -> None:
    # Before: ?path= listed the root and ?order= sorted by name.
    found = problem(api.get(url), 400)
    assert found["type"] == "urn:hubport:problem:invalid_input"


def test_a_blank_path_for_a_snapshot_listing_is_refused(api: Any) -> None:
    snapshot = api.post("/api/v1/snapshots/", {}).json()
    found = problem(api.get(f"/api/v1/snapshots/{snapshot['id']}/files/?path="), 400)
    assert "path" in found["errors"]


def test_a_blank_cursor_is_still_the_first_page(api: Any) -> None:
    api.write("/a.txt")
    response = api.get("/api/v1/files/?cursor=")
    assert response.status_code == 200
    assert [item["name"] for item in response.json()["items"]] == ["a.txt"]


@pytest.mark.parametrize(
    "url",
    ["/api/v1/files/?limt=5", "/api/v1/files/content?path=/a.txt&verison=2", "/api/v1/activity/?page=2"],
)
def test_an_unknown_query_parameter_is_refused_not_ignored(api: Any, url: str) -> None:
    api.write("/a.txt")
    found = problem(api.get(url), 400)
    unknown = url.rsplit("&", 1)[-1].split("?")[-1].split("=")[0]
    assert found["errors"][unknown][0].startswith("Unknown query parameter; the parameters are ")


def test_an_upload_with_an_unknown_query_parameter_stores_nothing(api: Any) -> None:
    response = api.client.generic(
        "PUT", "/api/v1/files/content?path=/a.txt&overwrite=1", data=b"x", content_type="application/octet-stream"
    )
    assert "overwrite" in problem(response, 400)["errors"]
    assert "/a.txt" not in api.tree()


# SECTION: a value of another type is refused, not converted


@pytest.mark.parametrize(
    ("url", "body", "member"),
    [
        ("/api/v1/snapshots/", {"label": 0}, "label"),
        ("/api/v1/files/folders", {"path": 7}, "path"),
        ("/api/v1/files/move", {"from": "/a.txt", "to": ["/b.txt"]}, "to"),
        ("/api/v1/trash/restore", {"id": "3"}, "id"),
        ("/api/v1/trash/restore", {"id": 3.0}, "id"),
        ("/api/v1/trash/restore", {"id": True}, "id"),
        ("/api/v1/restores/", {"snapshot": "1"}, "snapshot"),
        ("/api/v1/restores/", {"snapshot": 1, "dry_run": "true"}, "dry_run"),
        ("/api/v1/restores/", {"snapshot": 1, "dry_run": 1}, "dry_run"),
        ("/api/v1/restores/", {"snapshot": 1, "conflict": 1}, "conflict"),
    ],
)
def test_a_member_of_another_type_is_refused(api: Any, url: str, body: dict, member: str) -> None:
    found = problem(api.post(url, body), 400)
    assert member in found["errors"], found


def test_a_number_label_makes_no_snapshot(api: Any) -> None:
    # Before: {"label": 0} took a snapshot labelled "0".
    problem(api.post("/api/v1/snapshots/", {"label": 0}), 400)
    assert api.get("/api/v1/snapshots/").json()["items"] == []


# SECTION: an unknown member is refused, not ignored


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("post", "/api/v1/files/folders", {"path": "/new", "parents": False}),
        ("post", "/api/v1/files/move", {"from": "/a.txt", "to": "/b.txt", "overwrite": True}),
        ("post", "/api/v1/snapshots/", {"label": "x", "lable": "typo"}),
        ("post", "/api/v1/trash/restore", {"id": 1, "target": "/elsewhere"}),
    ],
)
def test_an_unknown_member_is_refused(api: Any, method: str, url: str, body: dict) -> None:
    api.write("/a.txt")
    found = problem(getattr(api, method)(url, body), 400)
    unknown = (set(body) - {"path", "from", "to", "label", "id"}).pop()
    assert found["errors"][unknown] == [found["errors"][unknown][0]]
    assert "Unknown field" in found["errors"][unknown][0]


def test_an_unknown_member_of_the_schedule_is_refused(api: Any) -> None:
    response = api.client.put(
        "/api/v1/snapshots/schedule", {"schedule": "daily", "when": "now"}, content_type="application/json"
    )
    assert "when" in problem(response, 400)["errors"]


def test_a_folder_with_an_unknown_member_is_not_made(api: Any) -> None:
    problem(api.post("/api/v1/files/folders", {"path": "/new", "parents": False}), 400)
    assert "/new" not in api.tree()


# SECTION: restore targets and paths


def test_an_empty_restore_path_list_is_refused(api: Any) -> None:
    snapshot = api.post("/api/v1/snapshots/", {}).json()
    found = problem(api.post("/api/v1/restores/", {"snapshot": snapshot["id"], "paths": []}), 400)
    assert "paths" in found["errors"]


# SECTION: query strings the request line can carry


def test_a_query_path_longer_than_its_limit_is_a_400_problem(api: Any) -> None:
    path = "/" + "a" * MAX_QUERY_PATH_LENGTH
    found = problem(api.get(f"/api/v1/files/content?{urlencode({'path': path})}"), 400)
    assert "path" in found["errors"]


def test_a_query_path_at_its_limit_reaches_the_store(api: Any) -> None:
    path = "/" + "/".join(["a" * 200] * 21)[: MAX_QUERY_PATH_LENGTH - 1]
    found = problem(api.get(f"/api/v1/files/content?{urlencode({'path': path})}"), 404)
    assert found["type"] == "urn:hubport:problem:not_found"


def test_a_cursor_of_characters_no_cursor_has_is_refused(api: Any) -> None:
    found = problem(api.get(f"/api/v1/activity/?{urlencode({'cursor': 'é' * 10})}"), 400)
    assert "cursor" in found["errors"]


# SECTION: uploads and moments: the status the schema gives the refusal


def test_a_file_over_the_size_limit_is_413_even_when_the_quota_is_short_too(api: Any) -> None:
    # Before: the quota was checked first, and the answer was 507.
    api.write("/a.bin", b"x" * 60)
    api.tenant.quota_bytes = 100
    api.tenant.max_file_bytes = 50
    api.tenant.save(update_fields=["quota_bytes", "max_file_bytes"])
    found = problem(api.put_bytes("/b.bin", b"y" * 51), 413)
    assert found["type"] == "urn:hubport:problem:file_too_large"
    assert "/b.bin" not in api.tree()
    assert problem(api.put_bytes("/c.bin", b"y" * 41), 507)["type"] == "urn:hubport:problem:quota_exceeded"


@pytest.mark.parametrize(
    ("at", "says"),
    [
        ("0001-01-01T00:00:00Z", "That moment is more than 28 days ago"),
        ("0001-01-01T00:00:00+14:00", "That moment is more than 28 days ago"),
        ("9999-12-31T23:59:59-23:59", "in the future"),
        ("9999-12-31T23:59:59Z", "in the future"),
    ],
)
def test_a_moment_at_the_ends_of_the_calendar_is_outside_the_retention(api: Any, at: str, says: str) -> None:
    # Before: 400 "Datetime value out of range" (the moment was converted to the
    # caller's zone), and a 500 once it was not (its label was).
    for dry_run in (True, False):
        found = problem(api.post("/api/v1/restores/", {"at": at, "dry_run": dry_run}), 422)
        assert found["type"] == "urn:hubport:problem:outside_retention"
        assert says in found["detail"]


# SECTION: downloads say what the schema says


@pytest.mark.parametrize("name", ["notes.md", "page.html", "photo.png", "data"])
def test_an_api_download_is_application_octet_stream_whatever_the_name(api: Any, name: str) -> None:
    # Before: the type was guessed from the name (text/markdown, text/html, ...).
    api.write(f"/{name}", b"<h1>bytes</h1>")
    response = api.get(f"/api/v1/files/content?{urlencode({'path': '/' + name})}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert b"".join(response.streaming_content) == b"<h1>bytes</h1>"


def test_an_api_range_download_is_application_octet_stream(api: Any) -> None:
    api.write("/notes.md", b"# notes and more")
    response = api.get(f"/api/v1/files/content?{urlencode({'path': '/notes.md'})}", HTTP_RANGE="bytes=0-6")
    assert response.status_code == 206
    assert response["Content-Type"] == "application/octet-stream"


def test_the_page_download_still_names_the_kind_of_file(api: Any, client: Any) -> None:
    from portal.downloads import file_download_response
    from snapshots.selectors import node_at_path

    api.write("/notes.md", b"# notes")
    version = node_at_path(tenant=api.tenant, path="/notes.md")
    request = client.get("/").wsgi_request
    assert file_download_response(request, tenant=api.tenant, version=version)["Content-Type"] == "text/markdown"


# SECTION: the web server's own refusals are problems too


def test_the_web_servers_414_is_a_problem_that_quotes_nothing_of_the_request() -> None:
    raw = server_problem_bytes(414, "URI Too Long")
    head, body = raw.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 414 URI Too Long\r\n")
    assert b"Content-Type: application/problem+json" in head
    assert f"Content-Length: {len(body)}".encode() in head
    import json

    problem_body = json.loads(body)
    assert problem_body["type"] == "urn:hubport:problem:request_line_too_long"
    assert problem_body["status"] == 414
    assert "4,096" in problem_body["detail"]
