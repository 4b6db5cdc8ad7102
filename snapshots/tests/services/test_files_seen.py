"""A path looked up once per request (issue 14, part 1): ``path_lookup``
reads the whole path in one query, ``file_write`` carries a lookup the edge
made into its step, and looks again when the tenant changed in between."""

from __future__ import annotations

import io
import os

from conftest import all_databases
from snapshots import selectors, services
from snapshots.selectors.lookup import JOINED_LEVELS, path_lookup
from snapshots.store_check import store_check

pytestmark = all_databases


def write(made, path: str, content: bytes, **kwargs):
    return services.file_write(
        tenant=made.tenant,
        path=path,
        stream=io.BytesIO(content),
        content_length=len(content),
        acting_user=made.user,
        **kwargs,
    )


def assert_store_consistent(made) -> None:
    check = store_check(hub_code=made.tenant.hub_id, tenant_id=made.tenant.pk)
    assert check.ok, check.problems


def test_a_file_made_after_the_lookup_is_replaced_not_refused(make_tenant):
    made = make_tenant(hub="uk")
    services.folder_create(tenant=made.tenant, path="/docs", acting_user=made.user)
    seen = path_lookup(tenant=made.tenant, names=["docs", "a.txt"])
    assert seen.item is None
    first = write(made, "/docs/a.txt", b"someone else")  # the clock moves on
    second = write(made, "/docs/a.txt", b"ours", seen=seen)
    assert second.node_id == first.node_id
    assert len(selectors.file_versions(tenant=made.tenant, node_id=first.node_id)) == 2
    assert_store_consistent(made)


def test_a_folder_deleted_after_the_lookup_is_made_again(make_tenant):
    made = make_tenant(hub="uk")
    services.folder_create(tenant=made.tenant, path="/gone", acting_user=made.user)
    seen = path_lookup(tenant=made.tenant, names=["gone", "a.txt"])
    assert len(seen.chain) == 2  # the root and /gone
    services.node_delete(tenant=made.tenant, path="/gone", acting_user=made.user)
    version = write(made, "/gone/a.txt", b"bytes", seen=seen)
    folder = selectors.node_at_path(tenant=made.tenant, path="/gone")
    assert version.parent_id == folder.node_id != seen.chain[1].node_id
    assert selectors.tree_as_of(tenant=made.tenant)["/gone/a.txt"] is not None
    assert_store_consistent(made)


def test_replacing_a_file_moves_its_counters_and_its_folders_together(make_tenant):
    made = make_tenant(hub="uk")
    write(made, "/a/b/f.bin", os.urandom(100))
    write(made, "/a/b/f.bin", os.urandom(4096))
    assert selectors.live_usage(tenant=made.tenant).live_bytes == 4096
    assert_store_consistent(made)


def test_a_step_that_changes_nothing_leaves_the_clock_where_it_was(make_tenant):
    made = make_tenant(hub="uk")
    services.folder_create(tenant=made.tenant, path="/keep", acting_user=made.user)
    before = selectors.clock_now(tenant=made.tenant)
    services.folder_create(tenant=made.tenant, path="/keep", acting_user=made.user, exist_ok=True)
    assert selectors.clock_now(tenant=made.tenant) == before


def test_a_path_deeper_than_one_statement_joins_resolves_whole(make_tenant):
    made = make_tenant(hub="uk")
    names = [f"level{depth}" for depth in range(JOINED_LEVELS + 6)]
    path = "/" + "/".join(names) + "/leaf.txt"
    write(made, path, b"deep")
    lookup = path_lookup(tenant=made.tenant, names=[*names, "leaf.txt"])
    assert lookup.found and lookup.item is not None and lookup.item.blob is not None
    assert lookup.item.blob.sha256 == selectors.tree_as_of(tenant=made.tenant)[path]
    assert lookup.live_files == 1 and lookup.live_bytes == 4
    missing = path_lookup(tenant=made.tenant, names=[*names[:-1], "nope", "leaf.txt"])
    assert not missing.found and len(missing.chain) == len(names)
