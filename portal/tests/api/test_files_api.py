"""/api/v1/files/: listing, upload, download, folders, move, delete, and every
bad input refused with a problem and nothing changed."""

from __future__ import annotations

import hashlib
import io
from urllib.parse import quote, urlencode

import pytest
from django.core.handlers.wsgi import WSGIRequest
from django.db import OperationalError

from conftest import all_databases
from portal.tests.api.conftest import problem, spool_files
from snapshots import selectors

pytestmark = all_databases


def files_url(path: str, **params: str) -> str:
    return f"/api/v1/files/?{urlencode({'path': path, **params})}"


def content_url(path: str) -> str:
    return f"/api/v1/files/content?{urlencode({'path': path})}"


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def body_of(response) -> bytes:
    return b"".join(response.streaming_content)


BAD_PATHS = [
    pytest.param("/a\x00b", id="nul"),
    pytest.param("/a\x01b", id="control-char"),
    pytest.param("/a\x7fb", id="del-char"),
    pytest.param("/.", id="dot"),
    pytest.param("/..", id="dotdot"),
    pytest.param("/a/../../etc", id="escape-root"),
    pytest.param("/" + "x" * 256, id="name-over-255-bytes"),
    pytest.param("/" + "é" * 128, id="name-over-255-utf8-bytes"),
    pytest.param("relative/path", id="relative"),
    pytest.param("/a//b", id="empty-segment"),
    pytest.param("/ lead", id="leading-space"),
]


# SECTION: listing


def test_listing_shows_children_with_their_details(api):
    api.write("/Reports/q1.pdf", b"quarter one")
    api.write("/Reports/Old/2019.pdf", b"x" * 10)
    api.write("/notes.txt", b"n")

    response = api.get(files_url("/Reports"))

    assert response.status_code == 200
    body = response.json()
    assert body["path"] == "/Reports"
    assert body["next_cursor"] is None and body["next"] is None
    by_name = {item["name"]: item for item in body["items"]}
    assert set(by_name) == {"q1.pdf", "Old"}
    q1 = by_name["q1.pdf"]
    assert q1["path"] == "/Reports/q1.pdf"
    assert q1["kind"] == "file"
    assert q1["size"] == 11
    assert q1["sha256"] == sha(b"quarter one")
    assert q1["modified_by"] == api.user.email
    assert q1["modified_at"].endswith("Z")
    assert isinstance(q1["id"], int)
    old = by_name["Old"]
    assert old["kind"] == "folder" and old["sha256"] is None
    assert old["size"] == 10  # everything below the folder


def test_listing_defaults_to_the_root(api):
    api.write("/a.txt")
    body = api.get("/api/v1/files/").json()
    assert body["path"] == "/"
    assert [item["path"] for item in body["items"]] == ["/a.txt"]


def test_listing_pages_with_a_cursor_and_next_link(api):
    for n in range(5):
        api.write(f"/docs/{n}.txt", b"x" * n)
    seen: list[str] = []
    url = files_url("/docs", limit="2", order="-size")
    pages = 0
    while url:
        body = api.get(url).json()
        seen.extend(item["name"] for item in body["items"])
        assert len(body["items"]) <= 2
        if body["next"]:
            assert body["next_cursor"] and f"cursor={body['next_cursor']}" in body["next"]
            assert body["next"].startswith("http://testserver/api/v1/files/?")
        url = body["next"]
        pages += 1
    assert seen == ["4.txt", "3.txt", "2.txt", "1.txt", "0.txt"]
    assert pages == 3


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"order": "owner"}, "order"),
    ],
)
def test_listing_refuses_bad_parameters(api, params, field):
    body = problem(api.get(files_url("/", **params)), 400)
    assert field in body["errors"]
    assert body["detail"].startswith(f"{field}:")


@pytest.mark.parametrize("cursor", ["zzz", "bm90IGpzb24", "eyJ2IjoxfQ", "eyJ2IjoiYSIsImlkIjoiMSJ9", "!!!"])
def test_listing_refuses_a_malformed_cursor(api, cursor):
    api.write("/a.txt")
    body = problem(api.get(files_url("/", cursor=cursor)), 400)
    assert "cursor" in body["detail"]


def test_listing_a_file_or_a_missing_folder_is_refused(api):
    api.write("/a.txt")
    assert "is a file" in problem(api.get(files_url("/a.txt")), 409)["detail"]
    assert "/missing does not exist" in problem(api.get(files_url("/missing/deeper")), 404)["detail"]


@pytest.mark.parametrize("path", BAD_PATHS)
def test_listing_refuses_bad_paths(api, path):
    problem(api.get(files_url(path)), 400)


# SECTION: upload


def test_upload_creates_folders_on_the_way_and_answers_201(api):
    before = api.clock()
    response = api.put_bytes("/a/b/c.txt", b"hello")

    assert response.status_code == 201
    body = response.json()
    assert body["path"] == "/a/b/c.txt"
    assert body["kind"] == "file"
    assert body["size"] == 5
    assert body["sha256"] == sha(b"hello")
    assert response["ETag"] == f'"{sha(b"hello")}"'
    assert api.tree() == {"/a": None, "/a/b": None, "/a/b/c.txt": sha(b"hello")}
    assert api.clock() == before + 1


def test_upload_replaces_an_existing_file_and_answers_200(api):
    api.write("/a.txt", b"one")
    response = api.put_bytes("/a.txt", b"two")
    assert response.status_code == 200
    assert response.json()["sha256"] == sha(b"two")
    assert api.tree() == {"/a.txt": sha(b"two")}


def test_upload_on_conflict_keep_both_answers_201_with_the_new_path(api):
    api.write("/r/a.txt", b"one")
    response = api.client.generic(
        "PUT",
        files_url_upload("/r/a.txt", on_conflict="keep_both"),
        data=b"two",
        content_type="application/octet-stream",
    )
    assert response.status_code == 201
    assert response.json()["path"] == "/r/a (2).txt"
    assert api.tree() == {"/r": None, "/r/a.txt": sha(b"one"), "/r/a (2).txt": sha(b"two")}


def test_upload_on_conflict_fail_answers_409_and_changes_nothing(api):
    api.write("/a.txt", b"one")
    clock = api.clock()
    response = api.client.generic(
        "PUT", files_url_upload("/a.txt", on_conflict="fail"), data=b"two", content_type="application/octet-stream"
    )
    assert response.status_code == 409
    assert response.json()["type"] == "urn:hubport:problem:name_taken"
    assert api.clock() == clock
    assert api.tree() == {"/a.txt": sha(b"one")}


def test_upload_on_conflict_replace_is_the_default_and_answers_200(api):
    api.write("/a.txt", b"one")
    response = api.client.generic(
        "PUT", files_url_upload("/a.txt", on_conflict="replace"), data=b"two", content_type="application/octet-stream"
    )
    assert response.status_code == 200
    assert api.tree() == {"/a.txt": sha(b"two")}


def test_upload_refuses_an_unknown_on_conflict(api):
    response = api.client.generic(
        "PUT", files_url_upload("/a.txt", on_conflict="merge"), data=b"x", content_type="application/octet-stream"
    )
    assert response.status_code == 400
    assert api.tree() == {}


def files_url_upload(path: str, **params: str) -> str:
    from urllib.parse import urlencode

    return f"/api/v1/files/content?{urlencode({'path': path, **params})}"


def test_upload_of_an_empty_file(api):
    # An empty body says so with Content-Length: 0 (curl and requests send it).
    response = api.client.generic(
        "PUT", content_url("/empty.txt"), data=b"", content_type="application/octet-stream", CONTENT_LENGTH="0"
    )
    assert response.status_code == 201
    assert response.json()["size"] == 0


def test_upload_keeps_a_utf8_name(api):
    response = api.put_bytes("/Überweisungen/Ünïcödé ✓.txt", b"x")
    assert response.status_code == 201
    assert response.json()["path"] == "/Überweisungen/Ünïcödé ✓.txt"


def test_upload_streams_the_body_and_never_reads_request_body(api, monkeypatch):
    def forbidden(self):
        raise AssertionError("the upload must be streamed, not read whole through request.body")

    monkeypatch.setattr(WSGIRequest, "body", property(forbidden))
    response = api.put_bytes("/big.bin", b"z" * 3_000_000)
    assert response.status_code == 201
    assert response.json()["size"] == 3_000_000


def test_upload_with_matching_if_match_replaces(api):
    api.write("/a.txt", b"one")
    response = api.put_bytes("/a.txt", b"two", HTTP_IF_MATCH=f'"{sha(b"one")}"')
    assert response.status_code == 200
    assert api.tree() == {"/a.txt": sha(b"two")}


@pytest.mark.parametrize("header", ['"0000"', f'W/"{sha(b"one")}"', "garbage"])
def test_upload_with_a_stale_if_match_answers_412_and_changes_nothing(api, header):
    api.write("/a.txt", b"one")
    before = (api.tree(), api.clock())
    body = problem(api.put_bytes("/a.txt", b"two", HTTP_IF_MATCH=header), 412)
    assert "changed" in body["detail"]
    assert (api.tree(), api.clock()) == before


def test_upload_if_match_star_needs_an_existing_file(api):
    problem(api.put_bytes("/new.txt", b"x", HTTP_IF_MATCH="*"), 412)
    assert api.tree() == {}
    api.write("/new.txt", b"x")
    assert api.put_bytes("/new.txt", b"y", HTTP_IF_MATCH="*").status_code == 200


def test_upload_if_match_for_a_file_that_does_not_exist_answers_412(api):
    problem(api.put_bytes("/new.txt", b"x", HTTP_IF_MATCH=f'"{sha(b"x")}"'), 412)
    assert api.tree() == {}


def test_upload_where_a_folder_stands_is_refused(api):
    api.mkdir("/a")
    api.write("/a/f.txt")
    before = (api.tree(), api.clock(), spool_files())
    assert "is a folder" in problem(api.put_bytes("/a", b"x"), 409)["detail"]
    assert "is a file" in problem(api.put_bytes("/a/f.txt/g.txt", b"x"), 409)["detail"]
    assert (api.tree(), api.clock(), spool_files()) == before


@pytest.mark.parametrize("path", [*BAD_PATHS, pytest.param("/", id="root")])
def test_upload_refuses_bad_paths(api, path):
    before = (api.tree(), api.clock(), spool_files())
    problem(api.put_bytes(path, b"x"), 400)
    assert (api.tree(), api.clock(), spool_files()) == before


def test_upload_larger_than_the_file_limit_answers_413(api):
    api.tenant.max_file_bytes = 10
    api.tenant.save(update_fields=["max_file_bytes"])
    before = (api.tree(), api.clock(), spool_files())
    body = problem(api.put_bytes("/big.bin", b"x" * 11), 413)
    assert "limit" in body["detail"]
    assert (api.tree(), api.clock(), spool_files()) == before
    assert api.put_bytes("/ok.bin", b"x" * 10).status_code == 201


def test_upload_over_the_quota_answers_507(api):
    api.write("/a.bin", b"x" * 60)
    api.tenant.quota_bytes = 100
    api.tenant.save(update_fields=["quota_bytes"])
    before = (api.tree(), api.clock(), spool_files())
    body = problem(api.put_bytes("/b.bin", b"y" * 41), 507)
    assert "quota" in body["detail"]
    assert (api.tree(), api.clock(), spool_files()) == before


def test_client_that_disconnects_mid_upload_leaves_nothing(api):
    before = (api.tree(), api.clock(), spool_files())
    # The client announced 1000 bytes and went away after 3: the server's
    # stream then runs dry, as a WSGI server's does.
    response = api.client.generic(
        "PUT",
        content_url("/partial.bin"),
        data=b"abc",
        content_type="application/octet-stream",
        CONTENT_LENGTH="1000",
        **{"wsgi.input": io.BytesIO(b"abc")},
    )
    body = problem(response, 400)
    assert "3 of 1,000 bytes" in body["detail"]
    assert (api.tree(), api.clock(), spool_files()) == before


def test_connection_error_mid_upload_is_an_incomplete_upload(api):
    class BrokenStream(io.RawIOBase):
        def __init__(self):
            self.sent = False

        def read(self, size=-1):
            if not self.sent:
                self.sent = True
                return b"abc"
            raise ConnectionResetError("peer went away")

    before = (api.tree(), api.clock(), spool_files())
    response = api.client.generic(
        "PUT",
        content_url("/partial.bin"),
        data=b"abc",
        content_type="application/octet-stream",
        CONTENT_LENGTH="1000",
        **{"wsgi.input": BrokenStream()},
    )
    assert "connection closed" in problem(response, 400)["detail"]
    assert (api.tree(), api.clock(), spool_files()) == before


def test_chunked_upload_without_length_answers_411(api):
    response = api.client.generic(
        "PUT",
        content_url("/a.bin"),
        data=b"",
        content_type="application/octet-stream",
        HTTP_TRANSFER_ENCODING="chunked",
    )
    problem(response, 411)
    assert api.tree() == {}


def test_upload_without_length_is_refused_not_stored_empty(api):
    # Nothing marks where the body ends: reading it as empty would replace the file with nothing.
    api.write("/a.bin", b"precious")
    response = api.client.generic(
        "PUT", content_url("/a.bin"), data=b"", content_type="application/octet-stream", CONTENT_LENGTH=""
    )
    assert "Content-Length" in problem(response, 411)["detail"]
    assert selectors.node_at_path(tenant=api.tenant, path="/a.bin").size == len(b"precious")


def test_upload_without_length_over_a_terminated_input_is_read_to_its_end(api):
    # gunicorn marks the end of a chunked body with wsgi.input_terminated.
    response = api.client.generic(
        "PUT",
        content_url("/chunked.bin"),
        data=b"",
        content_type="application/octet-stream",
        HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": io.BytesIO(b"sent in chunks"), "wsgi.input_terminated": True},
    )
    assert response.status_code == 201, response.content
    assert response.json()["size"] == len(b"sent in chunks")
    assert selectors.node_at_path(tenant=api.tenant, path="/chunked.bin").size == len(b"sent in chunks")


def test_upload_without_length_stops_at_the_file_size_limit(api):
    api.tenant.max_file_bytes = 10
    api.tenant.save(update_fields=["max_file_bytes"])
    before = (api.tree(), api.clock(), spool_files())
    response = api.client.generic(
        "PUT",
        content_url("/big.bin"),
        data=b"",
        content_type="application/octet-stream",
        **{"wsgi.input": io.BytesIO(b"x" * 11), "wsgi.input_terminated": True},
    )
    assert "limit" in problem(response, 413)["detail"]
    assert (api.tree(), api.clock(), spool_files()) == before


def test_upload_with_a_nonsense_content_length_is_refused(api):
    response = api.client.generic(
        "PUT", content_url("/a.bin"), data=b"abc", content_type="application/octet-stream", CONTENT_LENGTH="-5"
    )
    problem(response, 400)
    assert api.tree() == {}


def test_upload_needs_a_path(api):
    response = api.client.generic("PUT", "/api/v1/files/content", data=b"x", content_type="application/octet-stream")
    assert "path" in problem(response, 400)["errors"]


# SECTION: download


def test_download_streams_the_file_with_its_headers(api):
    api.write("/Reports/q1.pdf", b"%PDF quarter one")
    response = api.get(content_url("/Reports/q1.pdf"))

    assert response.status_code == 200
    assert response.streaming
    assert body_of(response) == b"%PDF quarter one"
    assert response["ETag"] == f'"{sha(b"%PDF quarter one")}"'
    assert response["Content-Length"] == "16"
    # The bytes as stored, as the schema says; the name travels in Content-Disposition.
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Disposition"] == "attachment; filename=\"q1.pdf\"; filename*=UTF-8''q1.pdf"


def test_download_of_a_utf8_name_has_an_rfc6266_filename(api):
    name = 'Ünïcödé "quoted" ✓ 100%.txt'
    api.write(f"/{name}", b"x")
    disposition = api.get(content_url(f"/{name}"))["Content-Disposition"]
    assert disposition.startswith('attachment; filename="')
    fallback = disposition.split('filename="')[1].split('"')[0]
    assert fallback.isascii() and '"' not in fallback and "%" not in fallback
    assert disposition.endswith(f"; filename*=UTF-8''{quote(name, safe='')}")


def test_download_answers_304_for_a_matching_if_none_match(api):
    api.write("/a.txt", b"one")
    etag = f'"{sha(b"one")}"'
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        response = api.get(content_url("/a.txt"), HTTP_IF_NONE_MATCH=header)
        assert response.status_code == 304, header
        assert response["ETag"] == etag
    assert api.get(content_url("/a.txt"), HTTP_IF_NONE_MATCH='"other"').status_code == 200


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-3", 0, 3),
        ("bytes=4-", 4, 9),
        ("bytes=-3", 7, 9),
        ("bytes=-100", 0, 9),
        ("bytes=8-100", 8, 9),
        ("BYTES = 2 - 2", 2, 2),
    ],
)
def test_download_of_a_range_answers_206(api, header, first, last):
    api.write("/digits.txt", b"0123456789")
    response = api.get(content_url("/digits.txt"), HTTP_RANGE=header)
    assert response.status_code == 206
    assert body_of(response) == b"0123456789"[first : last + 1]
    assert response["Content-Range"] == f"bytes {first}-{last}/10"
    assert response["Content-Length"] == str(last - first + 1)


@pytest.mark.parametrize("header", ["bytes=10-", "bytes=10-20", "bytes=-0"])
def test_download_of_an_unsatisfiable_range_answers_416(api, header):
    api.write("/digits.txt", b"0123456789")
    response = api.get(content_url("/digits.txt"), HTTP_RANGE=header)
    problem(response, 416)
    assert response["Content-Range"] == "bytes */10"


def test_any_range_of_an_empty_file_is_unsatisfiable(api):
    api.write("/empty.txt", b"")
    problem(api.get(content_url("/empty.txt"), HTTP_RANGE="bytes=-5"), 416)
    assert api.get(content_url("/empty.txt")).status_code == 200


@pytest.mark.parametrize("header", ["bytes=0-1,4-5", "items=0-1", "bytes=5-2", "bytes=x-y", "bytes=-"])
def test_download_ignores_ranges_it_does_not_serve(api, header):
    api.write("/digits.txt", b"0123456789")
    response = api.get(content_url("/digits.txt"), HTTP_RANGE=header)
    assert response.status_code == 200
    assert body_of(response) == b"0123456789"


def test_download_range_with_a_stale_if_range_sends_the_whole_file(api):
    api.write("/digits.txt", b"0123456789")
    etag = f'"{sha(b"0123456789")}"'
    assert api.get(content_url("/digits.txt"), HTTP_RANGE="bytes=0-1", HTTP_IF_RANGE=etag).status_code == 206
    response = api.get(content_url("/digits.txt"), HTTP_RANGE="bytes=0-1", HTTP_IF_RANGE='"old"')
    assert response.status_code == 200
    assert body_of(response) == b"0123456789"


def test_download_answers_whatever_the_client_accepts(api):
    api.write("/a.pdf", b"x")
    assert api.get(content_url("/a.pdf"), HTTP_ACCEPT="application/pdf").status_code == 200


def test_download_of_a_folder_or_missing_file_is_refused(api):
    api.mkdir("/a")
    assert "is a folder" in problem(api.get(content_url("/a")), 409)["detail"]
    assert "is a folder" in problem(api.get(content_url("/")), 409)["detail"]
    problem(api.get(content_url("/nope.txt")), 404)


@pytest.mark.parametrize("path", BAD_PATHS)
def test_download_refuses_bad_paths(api, path):
    problem(api.get(content_url(path)), 400)


# SECTION: folders


def test_folder_create_makes_missing_parents(api):
    response = api.post("/api/v1/files/folders", {"path": "/a/b/c"})
    assert response.status_code == 201
    body = response.json()
    assert body["path"] == "/a/b/c" and body["kind"] == "folder" and body["size"] == 0
    assert api.tree() == {"/a": None, "/a/b": None, "/a/b/c": None}


def test_folder_create_in_a_deleted_folder_makes_it_again_as_the_page_does(api):
    api.mkdir("/Gone")
    deleted = api.delete("/api/v1/files/?path=/Gone")
    assert deleted.status_code == 204
    response = api.post("/api/v1/files/folders", {"path": "/Gone/New"})
    assert response.status_code == 201
    assert api.tree() == {"/Gone": None, "/Gone/New": None}
    assert len(api.get("/api/v1/trash/").json()["items"]) == 1


def test_folder_create_refuses_what_exists(api):
    api.write("/a/file.txt")
    before = (api.tree(), api.clock())
    problem(api.post("/api/v1/files/folders", {"path": "/a"}), 409)
    problem(api.post("/api/v1/files/folders", {"path": "/a/file.txt"}), 409)
    problem(api.post("/api/v1/files/folders", {"path": "/a/file.txt/sub"}), 409)
    problem(api.post("/api/v1/files/folders", {"path": "/"}), 409)
    assert (api.tree(), api.clock()) == before


@pytest.mark.parametrize("path", BAD_PATHS)
def test_folder_create_refuses_bad_paths(api, path):
    before = (api.tree(), api.clock())
    problem(api.post("/api/v1/files/folders", {"path": path}), 400)
    assert (api.tree(), api.clock()) == before


@pytest.mark.parametrize(
    "body",
    [{}, {"path": None}, {"path": 5}, {"path": ""}, {"path": ["/a"]}, {"folder": "/a"}],
)
def test_folder_create_refuses_malformed_bodies(api, body):
    problem(api.post("/api/v1/files/folders", body), 400)
    assert api.tree() == {}


def test_malformed_json_and_wrong_media_types_are_problems(api):
    problem(api.client.post("/api/v1/files/folders", "{not json", content_type="application/json"), 400)
    problem(api.client.post("/api/v1/files/folders", {"path": "/a"}), 415)  # a multipart form
    problem(api.client.post("/api/v1/files/folders", "[]", content_type="application/json"), 400)
    assert api.tree() == {}


# SECTION: move and rename


def test_move_renames_in_place(api):
    api.write("/a/old.txt", b"x")
    response = api.post("/api/v1/files/move", {"from": "/a/old.txt", "to": "/a/new.txt"})
    assert response.status_code == 200
    assert response.json()["path"] == "/a/new.txt"
    assert api.tree() == {"/a": None, "/a/new.txt": sha(b"x")}


def test_move_carries_a_folder_with_everything_in_it(api):
    api.write("/a/b/c.txt", b"c")
    api.mkdir("/archive")
    response = api.post("/api/v1/files/move", {"from": "/a", "to": "/archive/a-2026"})
    assert response.status_code == 200
    body = response.json()
    assert body["path"] == "/archive/a-2026" and body["size"] == 1
    assert api.tree() == {"/archive": None, "/archive/a-2026": None, "/archive/a-2026/b": None,
                          "/archive/a-2026/b/c.txt": sha(b"c")}  # fmt: skip


@pytest.mark.parametrize(
    ("source", "target", "status", "words"),
    [
        ("/a", "/a/b/a", 400, "into itself"),
        ("/a", "/a/inside", 400, "into itself"),
        ("/", "/x", 400, "root"),
        ("/a/b", "/", 400, "full new path"),
        ("/a/b", "/c.txt", 409, "already exists"),
        ("/missing", "/x", 404, "does not exist"),
        ("/a/b", "/nowhere/b", 404, "does not exist"),
        ("/a/b", "/c.txt/b", 409, "is a file"),
        ("/a/b", "/a/b\x00", 400, "Null characters"),
        ("/a/b", "/a/..", 400, "'..'"),
        ("/a/b", "/" + "n" * 256, 400, "255 bytes"),
        ("/a/b", "/a/x/y", 404, "does not exist"),
    ],
)
def test_move_refuses_bad_moves_and_changes_nothing(api, source, target, status, words):
    api.mkdir("/a/b")
    api.write("/c.txt")
    before = (api.tree(), api.clock())
    body = problem(api.post("/api/v1/files/move", {"from": source, "to": target}), status)
    assert words in body["detail"]
    assert (api.tree(), api.clock()) == before


def test_move_needs_from_and_to(api):
    body = problem(api.post("/api/v1/files/move", {"to": "/b"}), 400)
    assert body["errors"] == {"from": ["This field is required."]}
    assert "from: This field is required." in body["detail"]


# SECTION: copy


def test_copy_makes_a_file_and_a_folder_again_with_the_same_content(api):
    api.write("/a/b/c.txt", b"c")
    api.write("/a/d.txt", b"dd")
    response = api.post("/api/v1/files/copy", {"from": "/a/d.txt", "to": "/a/e.txt"})
    assert response.status_code == 201
    assert response.json()["path"] == "/a/e.txt" and response.json()["size"] == 2
    api.mkdir("/archive")
    response = api.post("/api/v1/files/copy", {"from": "/a", "to": "/archive/a-2026"})
    assert response.status_code == 201
    assert response.json()["size"] == 5
    assert api.tree() == {"/a": None, "/a/b": None, "/a/b/c.txt": sha(b"c"), "/a/d.txt": sha(b"dd"),
                          "/a/e.txt": sha(b"dd"), "/archive": None, "/archive/a-2026": None,
                          "/archive/a-2026/b": None, "/archive/a-2026/b/c.txt": sha(b"c"),
                          "/archive/a-2026/d.txt": sha(b"dd"), "/archive/a-2026/e.txt": sha(b"dd")}  # fmt: skip
    assert selectors.live_usage(tenant=api.tenant).live_bytes == 10


@pytest.mark.parametrize(
    ("source", "target", "status", "words"),
    [
        ("/a", "/a/b/a", 400, "into itself"),
        ("/a", "/a/inside", 400, "into itself"),
        ("/", "/x", 400, "root"),
        ("/a/b", "/", 400, "full new path"),
        ("/a/b", "/c.txt", 409, "already exists"),
        ("/missing", "/x", 404, "does not exist"),
        ("/a/b", "/nowhere/b", 404, "does not exist"),
        ("/a/b", "/c.txt/b", 409, "is a file"),
        ("/a/b", "/a/b\x00", 400, "Null characters"),
        ("/a/b", "/a/..", 400, "'..'"),
        ("/a/b", "/" + "n" * 256, 400, "255 bytes"),
        ("/a/b", "/a/x/y", 404, "does not exist"),
    ],
)
def test_copy_refuses_as_move_does_and_changes_nothing(api, source, target, status, words):
    api.mkdir("/a/b")
    api.write("/c.txt")
    before = (api.tree(), api.clock())
    body = problem(api.post("/api/v1/files/copy", {"from": source, "to": target}), status)
    assert words in body["detail"]
    assert (api.tree(), api.clock()) == before


def test_copy_over_the_quota_is_refused(api):
    api.write("/a/big.bin", b"x" * 100)
    api.tenant.quota_bytes = 150
    api.tenant.save(update_fields=["quota_bytes"])
    before = (api.tree(), api.clock())
    problem(api.post("/api/v1/files/copy", {"from": "/a", "to": "/b"}), 507)
    assert (api.tree(), api.clock()) == before


# SECTION: delete


def test_delete_moves_to_recently_deleted(api):
    api.write("/a/b.txt", b"x")
    response = api.delete(files_url("/a/b.txt"))
    assert response.status_code == 204
    assert response.content == b""
    assert api.tree() == {"/a": None}
    assert [item["path"] for item in api.get("/api/v1/trash/").json()["items"]] == ["/a/b.txt"]


def test_delete_refuses_the_root_and_missing_paths(api):
    api.write("/a.txt")
    before = (api.tree(), api.clock())
    assert "root" in problem(api.delete(files_url("/")), 400)["detail"]
    problem(api.delete(files_url("/nope")), 404)
    problem(api.delete(files_url("/a.txt/x")), 404)
    problem(api.delete("/api/v1/files/"), 400)  # no path
    assert (api.tree(), api.clock()) == before


@pytest.mark.parametrize("path", BAD_PATHS)
def test_delete_refuses_bad_paths(api, path):
    before = (api.tree(), api.clock())
    problem(api.delete(files_url(path)), 400)
    assert (api.tree(), api.clock()) == before


# SECTION: nothing answers a stack trace


def test_an_unexpected_error_is_a_500_problem_without_internals(api, monkeypatch):
    def explode(**kwargs):
        raise RuntimeError("secret internals /srv/app/thing.py")

    monkeypatch.setattr("portal.api.files.views.folder_children", explode)
    body = problem(api.get(files_url("/")), 500)
    assert "secret" not in body["detail"] and "Traceback" not in str(body)


def test_a_database_outage_is_a_503_problem(api, monkeypatch):
    def locked(**kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr("portal.api.files.views.folder_children", locked)
    response = api.get(files_url("/"))
    problem(response, 503)
    assert response["Retry-After"]


def test_wrong_method_and_unknown_urls_are_problems(api):
    problem(api.client.patch("/api/v1/files/", {}, content_type="application/json"), 405)
    problem(api.get("/api/v1/nothing-here/"), 404)
    problem(api.get("/api/v1/files"), 404)  # no redirect dance for a missing slash
    problem(api.post("/api/v2/files/folders", {"path": "/a"}), 404)
