"""/api/v1/files/versions: a file's versions in the retention period, each
downloadable and restorable; foreign and unknown ids answer alike."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from urllib.parse import urlencode

import pytest
import time_machine
from django.utils import timezone

from conftest import all_databases
from portal.tests.api.conftest import make_caller, problem
from snapshots.models import Blob, NodeVersion
from snapshots.services import node_delete

pytestmark = all_databases


def versions_url(path: str, **params: str) -> str:
    return f"/api/v1/files/versions?{urlencode({'path': path, **params})}"


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def body_of(response) -> bytes:
    return b"".join(response.streaming_content)


def current_content(caller, path: str) -> bytes:
    return body_of(caller.get(f"/api/v1/files/content?{urlencode({'path': path})}"))


@pytest.fixture
def three_versions(api):
    api.write("/report.txt", b"first draft")
    api.write("/report.txt", b"second draft!")
    api.write("/report.txt", b"final")
    return api.get(versions_url("/report.txt")).json()


def test_versions_are_listed_newest_first_with_their_details(api, three_versions):
    body = three_versions
    assert body["path"] == "/report.txt" and body["deleted"] is False
    assert isinstance(body["id"], int)
    items = body["items"]
    assert [item["sha256"] for item in items] == [sha(b"final"), sha(b"second draft!"), sha(b"first draft")]
    assert [item["size"] for item in items] == [5, 13, 11]
    assert [item["current"] for item in items] == [True, False, False]
    assert all(item["modified_by"] == api.user.email and item["name"] == "report.txt" for item in items)
    assert items[0]["valid_until"] is None and items[0]["restorable_until"] is None
    replaced = NodeVersion.objects.for_tenant(api.tenant).get(pk=items[1]["id"])
    assert items[1]["valid_until"] == replaced.closed_at.isoformat().replace("+00:00", "Z")
    expected_until = (replaced.closed_at + timedelta(days=28)).isoformat().replace("+00:00", "Z")
    assert items[1]["restorable_until"] == expected_until
    assert items[1]["modified_at"] <= items[0]["modified_at"]


def test_versions_follow_the_file_through_renames(api, three_versions):
    assert api.post("/api/v1/files/move", {"from": "/report.txt", "to": "/final.txt"}).status_code == 200
    items = api.get(versions_url("/final.txt")).json()["items"]
    assert [item["name"] for item in items] == ["final.txt", "report.txt", "report.txt", "report.txt"]
    assert items[0]["sha256"] == items[1]["sha256"] == sha(b"final")


def test_versions_of_a_deleted_file_are_found_by_the_path_it_had(api, three_versions):
    node_delete(tenant=api.tenant, path="/report.txt", acting_user=api.user)
    body = api.get(versions_url("/report.txt")).json()
    assert body["deleted"] is True and body["path"] == "/report.txt"
    assert [item["current"] for item in body["items"]] == [False, False, False]
    assert body["items"][0]["sha256"] == sha(b"final")


def test_versions_page_with_a_cursor(api):
    for n in range(5):
        api.write("/log.txt", f"entry {n}".encode())
    seen: list[str] = []
    url = versions_url("/log.txt", limit="2")
    while url:
        body = api.get(url).json()
        assert len(body["items"]) <= 2
        seen.extend(item["sha256"] for item in body["items"])
        url = body["next"]
    assert seen == [sha(f"entry {n}".encode()) for n in reversed(range(5))]


def test_versions_older_than_the_retention_are_not_listed(api):
    now = timezone.now()
    with time_machine.travel(now - timedelta(days=40), tick=False):
        api.write("/old.txt", b"ancient")
    with time_machine.travel(now - timedelta(days=30), tick=False):
        api.write("/old.txt", b"replaced 30 days ago")
    with time_machine.travel(now - timedelta(days=10), tick=False):
        api.write("/old.txt", b"replaced 10 days ago")
    api.write("/old.txt", b"now")
    items = api.get(versions_url("/old.txt")).json()["items"]
    # "ancient" was replaced 30 days ago: out. The version made 30 days ago was
    # valid until 10 days ago, so it is still in the retention.
    assert [item["sha256"] for item in items] == [
        sha(b"now"),
        sha(b"replaced 10 days ago"),
        sha(b"replaced 30 days ago"),
    ]


def test_a_listed_version_made_before_the_retention_can_be_restored(api):
    now = timezone.now()
    with time_machine.travel(now - timedelta(days=30), tick=False):
        api.write("/old.txt", b"made 30 days ago")
    with time_machine.travel(now - timedelta(days=10), tick=False):
        api.write("/old.txt", b"replaced 10 days ago")
    listed = api.get(versions_url("/old.txt")).json()["items"][-1]
    assert listed["sha256"] == sha(b"made 30 days ago")
    assert api.get(f"/api/v1/files/versions/{listed['id']}/content").status_code == 200
    assert api.post(f"/api/v1/files/versions/{listed['id']}/restore", None).status_code == 200


def test_versions_refuse_folders_missing_paths_and_bad_input(api):
    api.write("/Docs/a.txt", b"a")
    assert "only files have versions" in problem(api.get(versions_url("/Docs")), 409)["detail"]
    assert "live or recently deleted" in problem(api.get(versions_url("/Docs/none.txt")), 404)["detail"]
    problem(api.get(versions_url("/Nowhere/none.txt")), 404)
    problem(api.get(versions_url("/Docs/a.txt/deeper")), 404)
    problem(api.get(versions_url("/")), 409)
    problem(api.get("/api/v1/files/versions"), 400)
    problem(api.get(versions_url("relative")), 400)
    problem(api.get(versions_url("/Docs/a.txt", limit="0")), 400)
    problem(api.get(versions_url("/Docs/a.txt", cursor="garbage")), 400)


# SECTION: download and restore


def test_any_version_downloads_with_its_etag_and_ranges(api, three_versions):
    first = three_versions["items"][2]
    url = f"/api/v1/files/versions/{first['id']}/content"
    response = api.get(url)
    assert response.status_code == 200
    assert body_of(response) == b"first draft"
    assert response["ETag"] == f'"{sha(b"first draft")}"'
    assert 'filename="report.txt"' in response["Content-Disposition"]
    partial = api.get(url, HTTP_RANGE="bytes=-5")
    assert partial.status_code == 206 and body_of(partial) == b"draft"
    assert api.get(url, HTTP_IF_NONE_MATCH=f'"{sha(b"first draft")}"').status_code == 304


def test_restoring_a_version_makes_it_current_without_copying_bytes(api, three_versions):
    first = three_versions["items"][2]
    blobs_before = Blob.objects.for_tenant(api.tenant).count()

    response = api.post(f"/api/v1/files/versions/{first['id']}/restore", None)

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["path"], body["sha256"], body["size"]) == ("/report.txt", sha(b"first draft"), 11)
    assert current_content(api, "/report.txt") == b"first draft"
    assert Blob.objects.for_tenant(api.tenant).count() == blobs_before
    items = api.get(versions_url("/report.txt")).json()["items"]
    assert len(items) == 4 and items[0]["current"] and items[0]["sha256"] == sha(b"first draft")
    assert items[1]["sha256"] == sha(b"final")  # what was current stays restorable
    assert api.get("/api/v1/me/").json()["storage"]["live_bytes"] == 11


def test_restoring_a_deleted_files_version_brings_the_file_back(api, three_versions):
    node_delete(tenant=api.tenant, path="/report.txt", acting_user=api.user)
    second = api.get(versions_url("/report.txt")).json()["items"][1]
    response = api.post(f"/api/v1/files/versions/{second['id']}/restore", None)
    assert response.status_code == 200, response.content
    assert response.json()["path"] == "/report.txt"
    assert current_content(api, "/report.txt") == b"second draft!"


def test_restoring_over_quota_is_refused(api, three_versions):
    api.tenant.quota_bytes = 8
    api.tenant.save(update_fields=["quota_bytes"])
    longest = three_versions["items"][1]  # 13 bytes, the file has 5 now
    problem(api.post(f"/api/v1/files/versions/{longest['id']}/restore", None), 507)
    assert current_content(api, "/report.txt") == b"final"


def test_folder_versions_are_not_file_versions(api):
    folder = api.mkdir("/Folder")
    problem(api.get(f"/api/v1/files/versions/{folder.pk}/content"), 404)
    problem(api.post(f"/api/v1/files/versions/{folder.pk}/restore", None), 404)


@pytest.mark.parametrize("version_id", [0, 2**63, 10**30])
def test_version_ids_no_database_holds_are_missing_not_errors(api, version_id):
    problem(api.get(f"/api/v1/files/versions/{version_id}/content"), 404)
    problem(api.post(f"/api/v1/files/versions/{version_id}/restore", None), 404)


# SECTION: another tenant's versions


@pytest.fixture(params=["uk", "de"], ids=["same-hub", "other-hub"])
def victim(request, make_tenant):
    caller = make_caller(make_tenant, hub=request.param)
    caller.write("/secret.txt", b"the victim's first secret")
    caller.write("/secret.txt", b"the victim's second secret")
    return caller


def test_another_tenants_version_ids_answer_exactly_like_unknown_ones(make_tenant, victim):
    """The caller has no file at all, so in another hub's database the
    victim's version ids cannot be the caller's own."""
    attacker = make_caller(make_tenant, hub="uk")
    victim_ids = [item["id"] for item in victim.get(versions_url("/secret.txt")).json()["items"]]
    unknown = max(victim_ids) + 10_000
    victim_tree = victim.tree()

    for victim_id in victim_ids:
        for method, suffix in (("get", "content"), ("post", "restore")):
            call = getattr(attacker.client, method)
            missing = problem(call(f"/api/v1/files/versions/{unknown}/{suffix}"), 404)
            foreign = problem(call(f"/api/v1/files/versions/{victim_id}/{suffix}"), 404)
            assert foreign == {**missing, "detail": missing["detail"].replace(str(unknown), str(victim_id))}
    problem(attacker.get(versions_url("/secret.txt")), 404)
    assert victim.tree() == victim_tree
    assert attacker.tree() == {}
