"""Storage shown honestly: GET /api/v1/me/ gives the live bytes the quota
counts and the bytes held only by history, after uploads, overwrites,
deletes and restores (snapshots.selectors.storage)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from conftest import all_databases
from portal.tests.api.conftest import make_caller
from snapshots.selectors.storage import StorageUsage, storage_usage
from snapshots.services import node_delete

pytestmark = all_databases


def storage(caller) -> dict[str, int]:
    body = caller.get("/api/v1/me/").json()["storage"]
    usage = storage_usage(tenant=caller.tenant)
    assert (body["live_bytes"], body["live_files"], body["history_bytes"], body["quota_bytes"]) == (
        usage.live_bytes,
        usage.live_files,
        usage.history_bytes,
        usage.quota_bytes,
    )
    return {key: body[key] for key in ("live_bytes", "live_files", "history_bytes")}


def test_a_new_workspace_holds_nothing(api):
    assert storage(api) == {"live_bytes": 0, "live_files": 0, "history_bytes": 0}
    assert storage_usage(tenant=api.tenant) == StorageUsage(0, 0, 0, api.tenant.effective_quota_bytes)


def test_upload_overwrite_and_delete_move_bytes_from_live_to_history(api):
    assert api.put_bytes("/a.bin", b"x" * 100).status_code == 201
    assert storage(api) == {"live_bytes": 100, "live_files": 1, "history_bytes": 0}

    assert api.put_bytes("/a.bin", b"y" * 30).status_code == 200
    assert storage(api) == {"live_bytes": 30, "live_files": 1, "history_bytes": 100}

    assert api.delete(f"/api/v1/files/?{urlencode({'path': '/a.bin'})}").status_code == 204
    assert storage(api) == {"live_bytes": 0, "live_files": 0, "history_bytes": 130}


def test_content_held_by_a_live_file_is_not_history(api):
    api.write("/a.txt", b"A" * 10)
    api.write("/a.txt", b"B" * 20)
    api.write("/a.txt", b"A" * 10)  # back to the first content: its blob is live again
    assert storage(api) == {"live_bytes": 10, "live_files": 1, "history_bytes": 20}

    api.write("/copy.txt", b"B" * 20)  # the same bytes as the overwritten version, live now
    assert storage(api)["history_bytes"] == 0


def test_a_blob_shared_by_several_old_versions_counts_once(api):
    api.write("/one.txt", b"S" * 50)
    api.write("/two.txt", b"S" * 50)
    node_delete(tenant=api.tenant, path="/one.txt", acting_user=api.user)
    assert storage(api)["history_bytes"] == 0  # /two.txt still holds the bytes
    node_delete(tenant=api.tenant, path="/two.txt", acting_user=api.user)
    assert storage(api)["history_bytes"] == 50


def test_a_deleted_folders_contents_are_history(api):
    api.write("/Project/a.txt", b"a" * 7)
    api.write("/Project/Deep/b.txt", b"b" * 11)
    api.write("/Project/Deep/b.txt", b"c" * 13)  # an old version inside: 11 bytes of history already
    api.write("/keep.txt", b"k" * 3)
    assert storage(api) == {"live_bytes": 23, "live_files": 3, "history_bytes": 11}

    node_delete(tenant=api.tenant, path="/Project/Deep", acting_user=api.user)
    assert storage(api) == {"live_bytes": 10, "live_files": 2, "history_bytes": 24}

    node_delete(tenant=api.tenant, path="/Project", acting_user=api.user)  # the inner folder counts once
    assert storage(api) == {"live_bytes": 3, "live_files": 1, "history_bytes": 31}


def test_restoring_from_the_trash_makes_history_live_again(api):
    api.write("/Folder/f.txt", b"f" * 40)
    api.write("/g.txt", b"g" * 9)
    node_delete(tenant=api.tenant, path="/Folder", acting_user=api.user)
    node_delete(tenant=api.tenant, path="/g.txt", acting_user=api.user)
    assert storage(api) == {"live_bytes": 0, "live_files": 0, "history_bytes": 49}

    assert api.post("/api/v1/trash/restore", {"path": "/Folder"}).status_code == 200
    assert api.post("/api/v1/trash/restore", {"path": "/g.txt"}).status_code == 200
    assert storage(api) == {"live_bytes": 49, "live_files": 2, "history_bytes": 0}


def test_restoring_a_version_swaps_live_and_history(api):
    api.write("/doc.txt", b"o" * 5)
    api.write("/doc.txt", b"n" * 8)
    old = api.get(f"/api/v1/files/versions?{urlencode({'path': '/doc.txt'})}").json()["items"][1]
    assert api.post(f"/api/v1/files/versions/{old['id']}/restore", None).status_code == 200
    assert storage(api) == {"live_bytes": 5, "live_files": 1, "history_bytes": 8}


@pytest.mark.parametrize("hub", ["uk", "de"], ids=["same-hub", "other-hub"])
def test_another_tenants_history_is_not_counted(api, make_tenant, hub):
    other = make_caller(make_tenant, hub=hub)
    other.write("/big.bin", b"z" * 500)
    node_delete(tenant=other.tenant, path="/big.bin", acting_user=other.user)
    api.write("/mine.txt", b"m")
    assert storage(api) == {"live_bytes": 1, "live_files": 1, "history_bytes": 0}
    assert storage(other) == {"live_bytes": 0, "live_files": 0, "history_bytes": 500}
