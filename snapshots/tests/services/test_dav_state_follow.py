"""The store's bulk moves and deletes carry WebDAV's dead properties and end
its locks in a number of queries that does not grow with the items (a bulk
move of 1,000 files with WebDAV state took 7,123 queries and 2.5 s, one
item at a time), and every row lands where a one-by-one move puts it."""

from __future__ import annotations

import io
from datetime import timedelta

from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conftest import all_databases
from hubs.routing import hub_database_alias
from snapshots import services
from snapshots.models import DavLock, DavProperty
from snapshots.services.bulk import nodes_delete, nodes_move
from snapshots.services.dav_state import dav_property_set

pytestmark = all_databases


def tree_with_state(tenant, files: int) -> list[str]:
    services.folder_create(tenant=tenant, path="/dst", acting_user=None)
    paths = []
    for number in range(files):
        path = f"/src/f{number}.txt"
        services.file_write(tenant=tenant, path=path, stream=io.BytesIO(b"x"), content_length=1, acting_user=None)
        dav_property_set(tenant=tenant, path=path, name="{urn:x}colour", value=f"c{number}")
        paths.append(path)
    return paths


def properties(tenant) -> dict[str, str]:
    return dict(DavProperty.objects.for_tenant(tenant).values_list("path", "value"))


def counted_move(tenant, paths: list[str]) -> int:
    with CaptureQueriesContext(connections[hub_database_alias(tenant.hub_id)]) as queries:
        nodes_move(tenant=tenant, paths=paths, to_folder="/dst", acting_user=None)
    return len(queries.captured_queries)


def test_a_bulk_move_carries_the_state_in_queries_that_do_not_grow_with_the_items(make_tenant):
    small, large = make_tenant().tenant, make_tenant().tenant
    small_paths, large_paths = tree_with_state(small, 10), tree_with_state(large, 250)

    small_queries, large_queries = counted_move(small, small_paths), counted_move(large, large_paths)

    # Per 1,000 items the store's own batches add a few; the state adds none.
    assert large_queries <= small_queries + 6, (small_queries, large_queries)
    assert properties(large) == {f"/dst/f{number}.txt": f"c{number}" for number in range(250)}


def test_moves_and_deletes_of_folders_carry_their_descendants_and_end_their_locks(make_tenant):
    tenant = make_tenant().tenant
    for path in ("/a/x.txt", "/a/deep/y.txt", "/b/z.txt", "/ab.txt"):
        services.file_write(tenant=tenant, path=path, stream=io.BytesIO(b"x"), content_length=1, acting_user=None)
    services.folder_create(tenant=tenant, path="/to", acting_user=None)
    # A folder's row with its trailing slash, a file's without; /ab.txt only shares a prefix with /a.
    for path in ("/a/", "/a/x.txt", "/a/deep/y.txt", "/b/z.txt", "/ab.txt"):
        dav_property_set(tenant=tenant, path=path, name="{urn:x}p", value=path)
    expired = timezone.now() - timedelta(minutes=1)
    for path in ("/a/deep/y.txt", "/b/", "/ab.txt"):  # expired: nothing refuses, only what moved ends
        DavLock.objects.for_tenant(tenant).create(
            token=f"opaquelocktoken:{path}",
            path=path,
            depth="0",
            scope="exclusive",
            principal="user-1",
            timeout_seconds=60,
            expires_at=expired,
        )

    nodes_move(tenant=tenant, paths=["/a", "/b/z.txt"], to_folder="/to", acting_user=None)

    assert properties(tenant) == {
        "/to/a/": "/a/",
        "/to/a/x.txt": "/a/x.txt",
        "/to/a/deep/y.txt": "/a/deep/y.txt",
        "/to/z.txt": "/b/z.txt",
        "/ab.txt": "/ab.txt",
    }
    assert sorted(DavLock.objects.for_tenant(tenant).values_list("path", flat=True)) == ["/ab.txt", "/b/"]

    nodes_delete(tenant=tenant, paths=["/to/a", "/b"], acting_user=None)

    assert properties(tenant) == {"/to/z.txt": "/b/z.txt", "/ab.txt": "/ab.txt"}
    assert list(DavLock.objects.for_tenant(tenant).values_list("path", flat=True)) == ["/ab.txt"]
