"""POST /api/v1/files/bulk: a tar stream of many files is one request, one
transaction and one activity step; a member one file could not be is refused
on its own; what the batch cannot be refuses it whole, with nothing stored."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.test import override_settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from conftest import all_databases
from hubs.models import Tenant
from hubs.storage import facility_storage
from portal.tests.api.conftest import ApiCaller, problem
from snapshots import selectors
from snapshots.blobs import blob_open
from snapshots.models import Blob, Change
from snapshots.store_check import store_check

pytestmark = all_databases


def tar_of(members: list[tuple[str, bytes | None]]) -> bytes:
    """A tar stream: (name, bytes) a file, (name, None) a folder."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, content in members:
            info = tarfile.TarInfo(name)
            if content is None:
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
            else:
                info.size = len(content)
                archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def bulk(caller: ApiCaller, body: bytes, **query: str) -> object:
    return caller.client.generic(
        "POST", f"/api/v1/files/bulk?{urlencode(query)}", data=body, content_type="application/x-tar"
    )


def read(caller: ApiCaller, path: str) -> bytes:
    version = selectors.node_at_path(tenant=caller.tenant, path=path)
    assert version.blob is not None
    with blob_open(tenant=caller.tenant, blob=version.blob) as handle:
        return handle.read()


def blob_files(caller: ApiCaller) -> set[str]:
    """Every blob file in both facilities of the tenant's hub."""
    found = set()
    for role in settings.FACILITY_ROLES:
        root = Path(facility_storage(caller.tenant.hub_id, role).path(f"t{caller.tenant.pk}/blobs"))
        found |= {f"{role}:{path.name}" for path in root.rglob("*") if path.is_file()}
    return found


def temporaries(caller: ApiCaller) -> set[Path]:
    found = set()
    for role in settings.FACILITY_ROLES:
        folder = Path(facility_storage(caller.tenant.hub_id, role).path("tmp"))
        found |= set(folder.iterdir()) if folder.exists() else set()
    return found


def test_nested_folders_are_one_step_each_file_its_own_version(api):
    members = [
        ("Photos/2026/a.jpg", b"a" * 5000),
        ("Photos/2026/b.jpg", b"b" * 10),
        ("Photos/notes.txt", b"notes"),
        ("Empty/", None),
        ("top.txt", b""),
    ]
    clock = api.clock()
    response = bulk(api, tar_of(members), path="/Upload")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["count"], body["created"], body["refused"]) == (5, 4, 0)
    assert body["seq"] == clock + 1 and api.clock() == clock + 1
    by_path = {item["path"]: item for item in body["items"]}
    assert by_path["/Upload/Photos/2026/a.jpg"]["sha256"] == hashlib.sha256(b"a" * 5000).hexdigest()
    assert by_path["/Upload/Empty"]["status"] == "folder"
    for name, content in members:
        if content is not None:
            assert read(api, f"/Upload/{name}") == content
    changes = list(Change.objects.for_tenant(api.tenant).filter(seq=clock + 1).values_list("action", "path"))
    assert sorted(path for action, path in changes if action == "create") == [
        "/Upload/Photos/2026/a.jpg",
        "/Upload/Photos/2026/b.jpg",
        "/Upload/Photos/notes.txt",
        "/Upload/top.txt",
    ]
    assert {path for action, path in changes if action == "mkdir"} == {
        "/Upload",
        "/Upload/Photos",
        "/Upload/Photos/2026",
        "/Upload/Empty",
    }
    assert selectors.live_usage(tenant=api.tenant).live_files == 4
    assert store_check(hub_code=api.tenant.hub_id, tenant_id=api.tenant.pk).ok
    assert not temporaries(api)


def test_bad_names_and_oversized_files_are_refused_each_and_the_rest_is_stored(api):
    Tenant.objects.filter(pk=api.tenant.pk).update(max_file_bytes=100)
    api.tenant.refresh_from_db()
    body = tar_of(
        [
            ("good.txt", b"good"),
            ("bad\u202etxt.exe", b"x"),
            ("../escape.txt", b"x"),
            ("/etc/absolute.txt", b"x"),
            ("big.bin", b"x" * 101),
            ("good.txt", b"twice"),
            ("also good.txt", b"fine"),
        ]
    )
    response = bulk(api, body)
    assert response.status_code == 200, response.content
    outcomes = [(item["status"], item["code"]) for item in response.json()["items"]]
    assert outcomes == [
        ("created", None),
        ("refused", "invalid_path"),
        ("refused", "invalid_path"),
        ("refused", "invalid_path"),
        ("refused", "file_too_large"),
        ("refused", "name_taken"),
        ("created", None),
    ]
    assert sorted(api.tree()) == ["/also good.txt", "/good.txt"]
    assert read(api, "/good.txt") == b"good"
    assert store_check(hub_code=api.tenant.hub_id, tenant_id=api.tenant.pk).ok


def test_a_batch_over_the_quota_is_refused_whole_and_leaves_no_bytes(api):
    api.write("/existing.txt", b"e" * 100)
    Tenant.objects.filter(pk=api.tenant.pk).update(quota_bytes=1000)
    api.tenant.refresh_from_db()
    clock, before = api.clock(), blob_files(api)
    response = bulk(api, tar_of([(f"f{n}.bin", bytes([n]) * 200) for n in range(5)]))
    assert problem(response, 507)["type"] == "urn:hubport:problem:quota_exceeded"
    assert api.clock() == clock
    assert sorted(api.tree()) == ["/existing.txt"]
    assert blob_files(api) == before
    assert not temporaries(api)
    # Four of them fit.
    assert bulk(api, tar_of([(f"f{n}.bin", bytes([n]) * 200) for n in range(4)])).status_code == 200


def test_replacing_under_the_folder_counts_the_bytes_given_back(api):
    api.write("/Docs/a.bin", b"a" * 600)
    Tenant.objects.filter(pk=api.tenant.pk).update(quota_bytes=1000)
    api.tenant.refresh_from_db()
    response = bulk(api, tar_of([("a.bin", b"b" * 900)]), path="/Docs")
    assert response.status_code == 200, response.content
    assert response.json()["items"][0]["status"] == "replaced"
    assert selectors.live_usage(tenant=api.tenant).live_bytes == 900


def test_a_broken_tar_refuses_the_batch_with_nothing_live_and_no_blob_left(api, monkeypatch):
    # Groups of 64: several are put in place and flushed before the stream breaks.
    monkeypatch.setattr("snapshots.blob_batches.FLUSH_GROUP", 64)
    whole = tar_of([(f"f{n}.bin", n.to_bytes(2, "big") * 1500) for n in range(600)])
    clock, before = api.clock(), blob_files(api)
    for broken in (whole[: len(whole) * 4 // 5], whole[:700], b"this is not a tar stream at all" * 40, b"\x00" * 100):
        response = bulk(api, broken)
        assert problem(response, 400)["type"] == "urn:hubport:problem:invalid_archive", broken[:20]
        assert api.clock() == clock
        assert sorted(api.tree()) == []
        assert blob_files(api) == before
        assert not temporaries(api)
    assert not Blob.objects.for_tenant(api.tenant).exists()


def test_conflict_modes(api):
    api.write("/a.txt", b"old")
    api.write("/same.txt", b"same")
    api.mkdir("/folder.txt")

    replaced = bulk(api, tar_of([("a.txt", b"new"), ("same.txt", b"same"), ("folder.txt", b"x")])).json()
    assert [(i["status"], i["code"]) for i in replaced["items"]] == [
        ("replaced", None),
        ("unchanged", None),
        ("refused", "wrong_kind"),
    ]
    assert read(api, "/a.txt") == b"new"
    assert len(selectors.file_versions(tenant=api.tenant, node_id=replaced["items"][0]["id"])) == 2

    failed = bulk(api, tar_of([("a.txt", b"other"), ("b.txt", b"b")]), on_conflict="fail").json()
    assert [(i["status"], i["code"]) for i in failed["items"]] == [("refused", "name_taken"), ("created", None)]
    assert read(api, "/a.txt") == b"new"

    both = bulk(api, tar_of([("a.txt", b"third"), ("a (2).txt", b"fourth")]), on_conflict="keep_both").json()
    assert [(i["status"], i["path"]) for i in both["items"]] == [("created", "/a (3).txt"), ("created", "/a (2).txt")]
    assert read(api, "/a.txt") == b"new"
    assert read(api, "/a (3).txt") == b"third"
    assert store_check(hub_code=api.tenant.hub_id, tenant_id=api.tenant.pk).ok


def test_a_read_only_member_is_refused_and_nothing_is_read(api):
    from portal.tests.api.test_team_api import join

    reader = join(api, "reader@ingest.test", "read_only")
    clock = api.clock()
    response = bulk(reader, tar_of([("a.txt", b"a")]))
    assert problem(response, 403)["type"] == "urn:hubport:problem:role_forbidden"
    assert api.clock() == clock and sorted(api.tree()) == []


def test_maintenance_refuses_the_batch(api):
    import time_machine

    from portal.tests.middleware.test_maintenance import NOW, START, window

    with time_machine.travel(NOW, tick=False) as traveller:
        window("read_only", codes=(api.tenant.hub_id,))
        traveller.move_to(START)
        response = bulk(api, tar_of([("a.txt", b"a")]))
    assert problem(response, 503)["type"] == "urn:hubport:problem:maintenance_read_only"
    assert sorted(api.tree()) == []


def test_a_token_writes_only_its_own_tenant(api, other_api):
    api.write("/mine.txt", b"mine")
    response = bulk(other_api, tar_of([("mine.txt", b"theirs")]))
    assert response.status_code == 200
    assert read(api, "/mine.txt") == b"mine"
    assert sorted(api.tree()) == ["/mine.txt"]
    assert read(other_api, "/mine.txt") == b"theirs"


def test_refusals_of_the_whole_request(api):
    assert problem(bulk(api, tar_of([("a", b"a")]), path="/x/../y"), 400)
    api.write("/file.txt", b"f")
    assert problem(bulk(api, tar_of([("a", b"a")]), path="/file.txt"), 409)["type"].endswith("wrong_kind")
    wrong_type = api.client.generic("POST", "/api/v1/files/bulk", data=b"x", content_type="application/zip")
    assert problem(wrong_type, 415)
    with override_settings(HUBPORT_BULK_MAX_ITEMS=3):
        too_many = bulk(api, tar_of([(f"{n}.txt", b"n") for n in range(4)]))
        assert problem(too_many, 413)["type"].endswith("batch_too_large")
    with override_settings(HUBPORT_BULK_UPLOAD_MAX_BYTES=100):
        too_big = bulk(api, tar_of([("a", b"a" * 60), ("b", b"b" * 60)]))
        assert problem(too_big, 413)["type"].endswith("batch_too_large")
    assert sorted(api.tree()) == ["/file.txt"]


def test_links_and_files_where_the_batch_has_folders_are_refused_each(api):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        link = tarfile.TarInfo("link")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(link)
        for name, content in (("d/x.txt", b"x"), ("d", b"file"), ("f", b"file"), ("f/y.txt", b"y")):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    items = bulk(api, buffer.getvalue()).json()["items"]
    assert [(i["status"], i["code"]) for i in items] == [
        ("refused", "invalid_path"),
        ("created", None),
        ("refused", "name_taken"),
        ("created", None),
        ("refused", "wrong_kind"),
    ]


NAME = st.text(
    alphabet="abcXYZ019-_ .é漢",
    min_size=1,
    max_size=12,
).filter(lambda name: name.strip() == name and name not in (".", ".."))


@hypothesis_settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    files=st.dictionaries(
        st.lists(NAME, min_size=1, max_size=3).map(tuple), st.binary(max_size=3000), min_size=1, max_size=12
    )
)
def test_any_batch_of_valid_files_reads_back_and_recounts(make_tenant, files):
    from portal.tests.api.conftest import make_caller

    # A name that is a folder of another path cannot also be a file.
    paths = {
        names: content
        for names, content in files.items()
        if not any(other[: len(names)] == names for other in files if other != names)
    }
    caller = make_caller(make_tenant)
    response = bulk(caller, tar_of([("/".join(names), content) for names, content in paths.items()]), path="/In")
    assert response.status_code == 200, response.content
    assert response.json()["created"] == len(paths)
    for names, content in paths.items():
        assert read(caller, "/In/" + "/".join(names)) == content
    usage = selectors.live_usage(tenant=caller.tenant)
    assert (usage.live_files, usage.live_bytes) == (len(paths), sum(len(c) for c in paths.values()))
    check = store_check(hub_code=caller.tenant.hub_id, tenant_id=caller.tenant.pk)
    assert check.ok, check.problems


def test_without_unnamed_files_the_batch_lands_in_claimed_temporaries(api, monkeypatch):
    """A filesystem without O_TMPFILE: the members land in claimed, named
    temporaries, which are renamed into place or removed, never left."""
    import os

    monkeypatch.delattr(os, "O_TMPFILE")
    monkeypatch.setattr("snapshots.blob_batches.FLUSH_GROUP", 4)
    members = [(f"f{n}.bin", n.to_bytes(2, "big") * 100) for n in range(10)]
    response = bulk(api, tar_of(members))
    assert response.status_code == 200, response.content
    for name, content in members:
        assert read(api, f"/{name}") == content
    assert not temporaries(api)
    whole = tar_of([(f"g{n}.bin", n.to_bytes(2, "big") * 1500) for n in range(20)])
    before = blob_files(api)
    assert problem(bulk(api, whole[: len(whole) * 4 // 5]), 400)
    assert blob_files(api) == before
    assert not temporaries(api)
    assert store_check(hub_code=api.tenant.hub_id, tenant_id=api.tenant.pk).ok
