"""Many items at once over the API: bulk move, delete and restore are one
request, one transaction and one clock step; a refusal changes nothing; a zip
of files and folders unpacks to the same bytes."""

from __future__ import annotations

import contextlib
import hashlib
import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import all_databases
from hubs.storage import facility_storage
from snapshots import selectors
from snapshots.blobs import BlobCopyMismatch
from snapshots.errors import NotFound, WrongKind
from snapshots.models import Change
from snapshots.paths import outermost
from snapshots.selectors.subtrees import live_subtrees
from snapshots.services import file_write, folder_create

pytestmark = all_databases


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def step_rows(api, seq: int) -> list[tuple[str, str]]:
    return sorted(Change.objects.for_tenant(api.tenant).filter(seq=seq).values_list("action", "path"))


def test_bulk_move_is_one_step_and_keeps_names(api):
    for path in ("/a.txt", "/b.txt", "/Docs/c.txt", "/Docs/inner/d.txt"):
        api.write(path, path.encode())
    api.write("/Archive/.keep", b"")
    clock = api.clock()

    response = api.post(
        "/api/v1/files/bulk-move", {"paths": ["/a.txt", "/b.txt", "/Docs", "/Docs/inner/d.txt"], "to": "/Archive"}
    )

    assert response.status_code == 200, response.content
    assert response.json()["count"] == 3  # /Docs/inner/d.txt moves with /Docs
    assert sorted(item["path"] for item in response.json()["items"]) == [
        "/Archive/Docs",
        "/Archive/a.txt",
        "/Archive/b.txt",
    ]
    assert api.clock() == clock + 1
    assert step_rows(api, clock + 1) == [
        ("move", "/Archive/Docs"),
        ("move", "/Archive/a.txt"),
        ("move", "/Archive/b.txt"),
    ]
    tree = api.tree()
    assert tree["/Archive/Docs/inner/d.txt"] == sha(b"/Docs/inner/d.txt")
    assert "/a.txt" not in tree and "/Docs" not in tree


def test_bulk_move_refused_for_one_item_moves_none(api):
    for path in ("/a.txt", "/b.txt", "/Archive/b.txt"):
        api.write(path, b"x")
    clock, tree = api.clock(), api.tree()
    taken = api.post("/api/v1/files/bulk-move", {"paths": ["/a.txt", "/b.txt"], "to": "/Archive"})
    assert taken.status_code == 409
    assert "already exists" in taken.json()["detail"]
    missing = api.post("/api/v1/files/bulk-move", {"paths": ["/a.txt", "/nope.txt"], "to": "/Archive"})
    assert missing.status_code == 404
    twice = api.post("/api/v1/files/bulk-move", {"paths": ["/a.txt", "/Archive/b.txt"], "to": "/"})
    assert twice.status_code == 409  # /b.txt is taken at the root
    into_itself = api.post("/api/v1/files/bulk-move", {"paths": ["/Archive"], "to": "/Archive"})
    assert into_itself.status_code == 400
    assert (api.clock(), api.tree()) == (clock, tree)


def test_bulk_delete_and_bulk_restore(api):
    for path in ("/a.txt", "/b.txt", "/Docs/c.txt"):
        api.write(path, path.encode())
    clock = api.clock()
    refused = api.post("/api/v1/files/bulk-delete", {"paths": ["/a.txt", "/missing.txt"]})
    assert refused.status_code == 404
    assert api.clock() == clock

    deleted = api.post("/api/v1/files/bulk-delete", {"paths": ["/a.txt", "/b.txt", "/Docs"]})
    assert deleted.status_code == 200
    assert deleted.json() == {"count": 3, "paths": ["/Docs", "/a.txt", "/b.txt"]}
    assert api.clock() == clock + 1
    assert api.tree() == {}
    trash = {item["path"]: item["id"] for item in api.get("/api/v1/trash/").json()["items"]}
    assert set(trash) == {"/a.txt", "/b.txt", "/Docs"}

    bad = api.post("/api/v1/trash/bulk-restore", {"ids": [trash["/a.txt"], 999_999]})
    assert bad.status_code == 404
    assert api.tree() == {}
    restored = api.post("/api/v1/trash/bulk-restore", {"ids": [trash["/a.txt"], trash["/Docs"]]})
    assert restored.status_code == 200
    assert sorted(item["path"] for item in restored.json()["items"]) == ["/Docs", "/a.txt"]
    assert api.tree() == {"/a.txt": sha(b"/a.txt"), "/Docs": None, "/Docs/c.txt": sha(b"/Docs/c.txt")}
    assert api.clock() == clock + 2


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/api/v1/files/bulk-delete", {"paths": []}),
        ("/api/v1/files/bulk-delete", {"paths": "/a.txt"}),
        ("/api/v1/files/bulk-delete", {"paths": ["relative"]}),
        ("/api/v1/files/bulk-delete", {"paths": ["/"]}),
        ("/api/v1/files/bulk-move", {"paths": ["/a.txt"]}),
        ("/api/v1/trash/bulk-restore", {"ids": ["1"]}),
        ("/api/v1/trash/bulk-restore", {"ids": []}),
        ("/api/v1/files/zip", {"paths": [], "extra": 1}),
    ],
)
def test_bad_bulk_requests_are_400_problems(api, url, body):
    api.write("/a.txt", b"x")
    response = api.post(url, body)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert api.tree() == {"/a.txt": sha(b"x")}


def test_bulk_limit_is_a_clear_refusal(api, settings):
    settings.HUBPORT_BULK_MAX_ITEMS = 2
    from snapshots.errors import InvalidPath
    from snapshots.services import nodes_delete

    with pytest.raises(InvalidPath, match="At most 2 items"):
        nodes_delete(tenant=api.tenant, paths=["/a", "/b", "/c"], acting_user=api.user)


def unzip(response) -> zipfile.ZipFile:
    body = b"".join(response.streaming_content)
    assert len(body) == int(response["Content-Length"])
    return zipfile.ZipFile(io.BytesIO(body))


def test_zip_of_files_and_folders_unpacks_to_the_same_bytes(api):
    contents = {
        "/Reports/q1.bin": bytes(range(256)) * 40,
        "/Reports/q2.txt": "Zürich – Überblick".encode(),
        "/Reports/2026/jan.csv": b"a,b\n1,2\n",
        "/other.txt": b"not chosen",
    }
    for path, content in contents.items():
        api.write(path, content)
    folder_create(tenant=api.tenant, path="/Reports/empty", acting_user=api.user)

    response = api.post(
        "/api/v1/files/zip", {"paths": ["/Reports/q1.bin", "/Reports/q2.txt", "/Reports/2026", "/Reports/empty"]}
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "Hubport%20files.zip" in response["Content-Disposition"]
    archive = unzip(response)
    assert sorted(archive.namelist()) == ["2026/", "2026/jan.csv", "empty/", "q1.bin", "q2.txt"]
    assert archive.read("q1.bin") == contents["/Reports/q1.bin"]
    assert archive.read("q2.txt") == contents["/Reports/q2.txt"]
    assert archive.read("2026/jan.csv") == contents["/Reports/2026/jan.csv"]
    assert archive.testzip() is None

    whole_folder = unzip(api.post("/api/v1/files/zip", {"paths": ["/Reports"]}))
    assert "Reports/2026/jan.csv" in whole_folder.namelist()


def test_zip_past_the_limit_is_refused_before_any_byte(api, settings):
    api.write("/big.bin", b"x" * 2048)
    settings.HUBPORT_ZIP_MAX_BYTES = 1024
    response = api.post("/api/v1/files/zip", {"paths": ["/big.bin"]})
    assert response.status_code == 413
    assert "one zip holds at most 1 KiB" in response.json()["detail"]


def test_a_zip_entry_that_does_not_verify_breaks_the_stream(api):
    version = api.write("/a.bin", b"right bytes")
    assert version.blob is not None
    for role in ("primary", "alternate"):
        Path(facility_storage(api.tenant.hub_id, role).path(version.blob.storage_key)).write_bytes(b"wrong bytes")
    response = api.post("/api/v1/files/zip", {"paths": ["/a.bin"]})
    assert response.status_code == 200  # the headers went before the bytes were read
    with pytest.raises(BlobCopyMismatch):
        b"".join(response.streaming_content)


def test_other_tenants_paths_are_not_found(api, other_api):
    other_api.write("/secret.txt", b"theirs")
    for url in ("/api/v1/files/zip", "/api/v1/files/bulk-delete"):
        assert api.post(url, {"paths": ["/secret.txt"]}).status_code == 404
    assert other_api.tree() == {"/secret.txt": sha(b"theirs")}


NAMES = st.sampled_from(["a", "b", "c"])
PATHS = st.lists(NAMES, min_size=1, max_size=3).map(lambda names: "/" + "/".join(names))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.sets(PATHS, min_size=1, max_size=8), chosen=st.lists(PATHS, min_size=1, max_size=4))
def test_subtrees_hold_exactly_the_files_under_the_chosen_items(make_tenant, files, chosen):
    """Whatever files exist and whatever is chosen, the zip's files are those at
    or under a chosen item, each once; a chosen path that does not exist is refused."""
    made = make_tenant()
    for path in sorted(files):
        with contextlib.suppress(WrongKind):  # "/a" as a file after "/a/b": not part of this tree
            file_write(tenant=made.tenant, path=path, stream=io.BytesIO(b"x"), content_length=1, acting_user=made.user)
    tree = selectors.tree_as_of(tenant=made.tenant)
    # An item inside another chosen folder comes with that folder, so only the outermost must exist.
    items = ["/" + "/".join(names) for names in outermost(chosen)]
    if any(item not in tree for item in items):
        with pytest.raises((NotFound, WrongKind)):
            live_subtrees(tenant=made.tenant, paths=chosen)
        return
    subtree = live_subtrees(tenant=made.tenant, paths=chosen)
    expected = {
        path
        for path, digest in tree.items()
        if digest is not None and any(path == item or path.startswith(item + "/") for item in items)
    }
    got = [entry.version for entry in subtree.entries if entry.version.kind == "file"]
    assert sorted(selectors.path_of(tenant=made.tenant, node_id=version.node_id) for version in got) == sorted(expected)
    assert subtree.files == len(expected)


def test_a_read_only_member_downloads_a_zip_and_every_bulk_write_is_403(api):
    from portal.tests.api.test_team_api import join

    api.write("/a.txt", b"a")
    api.write("/b.txt", b"b")
    reader = join(api, "reader@bulk.test", "read_only")
    zipped = reader.post("/api/v1/files/zip", {"paths": ["/a.txt", "/b.txt"]})
    assert zipped.status_code == 200
    assert sorted(unzip(zipped).namelist()) == ["a.txt", "b.txt"]
    clock = api.clock()
    for url, body in (
        ("/api/v1/files/bulk-delete", {"paths": ["/a.txt"]}),
        ("/api/v1/files/bulk-move", {"paths": ["/a.txt"], "to": "/"}),
        ("/api/v1/trash/bulk-restore", {"ids": [1]}),
    ):
        refused = reader.post(url, body)
        assert refused.status_code == 403, url
        assert refused.json()["type"] == "urn:hubport:problem:role_forbidden"
    assert api.clock() == clock
