"""The fixed cost of a request (issue 14, part 1): a path is resolved once
and carried, so a 4 KiB upload runs at most 10 queries and a folder listing
at most 6, on both databases together, BEGIN and COMMIT included. Counted
with the production values of the per-process caches (facilities and
maintenance windows, 5 s), which the test settings turn off."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlencode

import pytest

from conftest import all_databases
from hubs.storage import hub_facilities_forget
from snapshots import selectors

pytestmark = all_databases

SMALL = 4096


@pytest.fixture
def warm_api(api: Any, settings: Any) -> Any:
    settings.HUBPORT_FACILITY_CACHE_SECONDS = 5.0
    settings.HUBPORT_MAINTENANCE_CACHE_SECONDS = 5.0
    hub_facilities_forget()
    api.write("/docs/old.bin", os.urandom(SMALL))
    api.mkdir("/docs/sub")
    api.write("/docs/sub/inner.bin", os.urandom(SMALL))
    # The first request of a client loads its middleware and renews the token's last use.
    assert api.get("/api/v1/files/?" + urlencode({"path": "/docs"})).status_code == 200
    yield api
    hub_facilities_forget()


def test_a_4k_upload_of_a_new_file_runs_at_most_10_queries(warm_api: Any, max_queries_all_databases: Any) -> None:
    content = os.urandom(SMALL)
    with max_queries_all_databases(10):
        response = warm_api.put_bytes("/docs/new.bin", content)
    assert response.status_code == 201, response.content
    assert response.json()["path"] == "/docs/new.bin"
    assert warm_api.tree()["/docs/new.bin"] is not None


def test_a_4k_upload_over_a_file_runs_at_most_10_queries(warm_api: Any, max_queries_all_databases: Any) -> None:
    before = selectors.node_at_path(tenant=warm_api.tenant, path="/docs/old.bin")
    content = os.urandom(SMALL)
    with max_queries_all_databases(10):
        response = warm_api.put_bytes("/docs/old.bin", content)
    assert response.status_code == 200, response.content
    after = selectors.node_at_path(tenant=warm_api.tenant, path="/docs/old.bin")
    assert after.node_id == before.node_id and after.pk != before.pk
    assert len(selectors.file_versions(tenant=warm_api.tenant, node_id=after.node_id)) == 2


def test_a_folder_listing_runs_at_most_6_queries(warm_api: Any, max_queries_all_databases: Any) -> None:
    with max_queries_all_databases(6):
        response = warm_api.get("/api/v1/files/?" + urlencode({"path": "/docs"}))
    assert response.status_code == 200
    items = {item["name"]: item for item in response.json()["items"]}
    assert set(items) == {"old.bin", "sub"}
    assert items["sub"]["size"] == SMALL  # a folder's size: what it holds


def test_a_small_download_runs_at_most_6_queries(warm_api: Any, max_queries_all_databases: Any) -> None:
    content = os.urandom(SMALL)
    warm_api.write("/docs/read.bin", content)
    with max_queries_all_databases(6):
        response = warm_api.get("/api/v1/files/content?" + urlencode({"path": "/docs/read.bin"}))
        body = b"".join(response.streaming_content)
    assert response.status_code == 200
    assert body == content


# The job runs when the request's transaction commits: a transactional test sees it run.
@pytest.mark.django_db(databases="__all__", transaction=True)
def test_a_one_file_restore_runs_at_most_23_queries_from_request_to_finished_job(
    warm_api: Any, max_queries_all_databases: Any
) -> None:
    """The request validates (the path resolved once, in one statement, and
    carried to the run), takes the pre-restore snapshot and makes the job
    already claimed, then runs it inline: one batch that ends the job in its
    own commit; its top folder's lookup reads the quota's usage too. (60
    queries before; the goal is 20: the blob checks' two queries, the
    snapshot's read and insert are what is left to fold.)"""
    from snapshots.services import node_delete, snapshot_create

    snapshot = snapshot_create(tenant=warm_api.tenant, acting_user=warm_api.user)
    node_delete(tenant=warm_api.tenant, path="/docs/sub/inner.bin", acting_user=warm_api.user)
    with max_queries_all_databases(23):
        response = warm_api.post("/api/v1/restores/", {"snapshot": snapshot.pk, "paths": ["/docs/sub/inner.bin"]})
    assert response.status_code == 202, response.content
    job = response.json()
    assert job["state"] == "succeeded" and job["summary"]["restored"] == 1, job
    assert warm_api.tree()["/docs/sub/inner.bin"] is not None
