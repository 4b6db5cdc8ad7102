"""Many at once is set-based, and its outcome is the one of doing the items one
after another with the single-item step functions in one step (what the bulk
services did before): the same tree, sizes, counters, Recently deleted, search
index and activity rows, or the same refusal with nothing changed. And its
number of queries does not grow with the number of items."""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import all_databases
from hubs.errors import DomainError
from hubs.routing import hub_database_alias
from snapshots import selectors, services
from snapshots.errors import InvalidMove, WrongKind
from snapshots.models import Change, Node, NodeVersion
from snapshots.paths import join_path, outermost, split_path
from snapshots.selectors.search import search_names
from snapshots.services.files import delete_in_step, move_in_step
from snapshots.services.kernel import actor_for, change_step
from snapshots.services.trash import trash_restore_in_step
from snapshots.store_check import store_check

pytestmark = all_databases

NAMES = ["ant", "bee", "cat"]
PATHS = st.lists(st.sampled_from(NAMES), min_size=1, max_size=3).map(lambda names: "/" + "/".join(names))
CONTENTS = st.sampled_from([b"", b"x", b"yy", b"zzzz"])


# ---------------------------------------------------------------- one by one, as before


def one_by_one_delete(*, tenant, paths, acting_user):
    items = outermost(paths)
    with change_step(tenant=tenant, actor=actor_for(acting_user)) as step:
        return [delete_in_step(step, names=names) for names in items]


def one_by_one_move(*, tenant, paths, to_folder, acting_user):
    items = outermost(paths)
    folder_names = split_path(to_folder)
    names_there = [names[-1] for names in items]
    taken_twice = sorted({name for name in names_there if names_there.count(name) > 1})
    if taken_twice:
        raise InvalidMove(
            f"Two of the chosen items are named {taken_twice[0]}; one folder cannot hold both. Rename one first."
        )
    with change_step(tenant=tenant, actor=actor_for(acting_user)) as step:
        moved = []
        for names in items:
            if folder_names[: len(names)] == names:
                raise InvalidMove(f"{join_path(names)} cannot be moved into itself or into one of its own folders.")
            moved.append(move_in_step(step, source_names=names, target_names=[*folder_names, names[-1]]))
        return moved


def one_by_one_restore(*, tenant, version_ids, acting_user):
    with change_step(tenant=tenant, actor=actor_for(acting_user)) as step:
        return [trash_restore_in_step(step, version_id=version_id) for version_id in dict.fromkeys(version_ids)]


# ---------------------------------------------------------------- what is compared


def trash_keys(tenant) -> dict[tuple[int, str], int]:
    """Recently deleted by (deleted at seq, original path): the same key in both tenants, who move in step."""
    items = selectors.trash_items(tenant=tenant, limit=1000).items
    return {(item.valid_to, selectors.trash_original_path(tenant=tenant, version=item)): item.pk for item in items}


def state(tenant) -> dict[str, Any]:
    """Everything a person can see of the store, without ids."""
    root = selectors.root_version(tenant=tenant)
    rows = list(selectors.versions(tenant=tenant).filter(valid_to__isnull=True).select_related("blob"))
    counters = dict(Node.objects.for_tenant(tenant).values_list("pk", "subtree_files"))
    sizes = dict(Node.objects.for_tenant(tenant).values_list("pk", "subtree_bytes"))
    by_parent: dict[int | None, list[NodeVersion]] = {}
    for row in rows:
        by_parent.setdefault(row.parent_id, []).append(row)
    tree: dict[str, tuple[str, int, int, int, str | None]] = {}
    stack = [(root.node_id, "")]
    while stack:
        node_id, prefix = stack.pop()
        for child in by_parent.get(node_id, []):
            path = f"{prefix}/{child.name}"
            sha = child.blob.sha256 if child.blob else None
            tree[path] = (child.kind, child.size, counters[child.node_id], sizes[child.node_id], sha)
            stack.append((child.node_id, path))
    step = selectors.clock_now(tenant=tenant)
    last = list(
        Change.objects.for_tenant(tenant).filter(seq=step).order_by("id").values_list("action", "path", "previous_path")
    )
    search = {
        (name, deleted): sorted(
            hit.path for hit in search_names(tenant=tenant, text=name, deleted=deleted, limit=200).items
        )
        for name in NAMES
        for deleted in (False, True)
    }
    return {
        "tree": tree,
        "usage": selectors.live_usage(tenant=tenant),
        "seq": step,
        "last_step": last,
        "trash": sorted(trash_keys(tenant)),
        "search": search,
    }


def outcome(call: Callable[[], list[NodeVersion]], tenant) -> tuple[str, Any]:
    try:
        versions = call()
    except DomainError as exc:
        return ("refused", (type(exc).__name__, str(exc)))
    return (
        "done",
        [
            (
                v.name,
                v.kind,
                v.size,
                v.valid_to,
                v.in_trash,
                v.valid_to is None and selectors.path_of(tenant=tenant, node_id=v.node_id),
            )
            for v in versions
        ],
    )


def write(made, path: str, content: bytes) -> None:
    try:
        services.file_write(
            tenant=made.tenant,
            path=path,
            stream=io.BytesIO(content),
            content_length=len(content),
            acting_user=made.user,
        )
    except (WrongKind, DomainError):
        pass  # a folder in the way: the same in both tenants


def apply(made, operation: tuple[Any, ...], *, bulk: bool) -> tuple[str, Any]:
    """One operation, by the bulk service or by the items one after another."""
    kind, tenant, user = operation[0], made.tenant, made.user
    if kind == "delete":
        delete = services.nodes_delete if bulk else one_by_one_delete
        return outcome(partial(delete, tenant=tenant, paths=operation[1], acting_user=user), tenant)
    if kind == "move":
        move = services.nodes_move if bulk else one_by_one_move
        return outcome(
            partial(move, tenant=tenant, paths=operation[1], to_folder=operation[2], acting_user=user), tenant
        )
    if kind == "restore":
        restore = services.trash_restore_many if bulk else one_by_one_restore
        ids_by_key = trash_keys(tenant)
        keys = sorted(ids_by_key)
        # An index past Recently deleted's items names an id nobody has.
        chosen = [ids_by_key[keys[index]] if index < len(keys) else 10**12 for index in operation[1]]
        return outcome(partial(restore, tenant=tenant, version_ids=chosen, acting_user=user), tenant)
    if kind == "delete_one":
        return outcome(lambda: [services.node_delete(tenant=tenant, path=operation[1], acting_user=user)], tenant)
    write(made, operation[1], operation[2])
    return ("written", None)


OPERATIONS = st.one_of(
    st.tuples(st.just("delete"), st.lists(PATHS, min_size=1, max_size=4)),
    st.tuples(st.just("move"), st.lists(PATHS, min_size=1, max_size=4), st.one_of(st.just("/"), PATHS)),
    st.tuples(st.just("restore"), st.lists(st.integers(min_value=0, max_value=7), min_size=1, max_size=5)),
    st.tuples(st.just("delete_one"), PATHS),
    st.tuples(st.just("write"), PATHS, CONTENTS),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    files=st.dictionaries(PATHS, CONTENTS, min_size=1, max_size=8),
    folders=st.lists(PATHS, max_size=2),
    operations=st.lists(OPERATIONS, min_size=1, max_size=6),
    spare_bytes=st.one_of(st.none(), st.integers(min_value=0, max_value=6)),
)
def test_many_at_once_is_the_items_one_after_another(make_tenant, files, folders, operations, spare_bytes):
    bulk, loop = make_tenant(), make_tenant()
    for made in (bulk, loop):
        for path in sorted(files):
            write(made, path, files[path])
        for path in folders:
            try:
                services.folder_create(tenant=made.tenant, path=path, acting_user=made.user, exist_ok=True)
            except DomainError:
                pass
        if spare_bytes is not None:
            made.tenant.quota_bytes = selectors.live_usage(tenant=made.tenant).live_bytes + spare_bytes
            made.tenant.save(update_fields=["quota_bytes"])
    assert state(bulk.tenant) == state(loop.tenant)

    for operation in operations:
        if operation[0] == "restore":
            assert sorted(trash_keys(bulk.tenant)) == sorted(trash_keys(loop.tenant))
        results = [apply(made, operation, bulk=made is bulk) for made in (bulk, loop)]
        assert results[0] == results[1], operation
        assert state(bulk.tenant) == state(loop.tenant), operation

    check = store_check(hub_code=bulk.tenant.hub_id, tenant_id=bulk.tenant.pk, hash_blobs=False, spool=False)
    assert check.ok, check.problems


def test_a_restore_into_folders_it_makes_and_brings_back_keeps_the_order_of_the_items(make_tenant):
    """The cases where one item's restore changes what the next finds: a file
    deleted from a folder before the folder, brought back before it (a new
    folder is made on its way, and the folder then comes back as "(restored)")
    or after it (it goes back into the folder)."""
    for first in ("file", "folder"):
        made = make_tenant()
        write(made, "/Team/plan.txt", b"plan")
        write(made, "/Team/keep.txt", b"keep")
        plan = services.node_delete(tenant=made.tenant, path="/Team/plan.txt", acting_user=made.user)
        team = services.node_delete(tenant=made.tenant, path="/Team", acting_user=made.user)
        order = [plan.pk, team.pk] if first == "file" else [team.pk, plan.pk]
        restored = services.trash_restore_many(tenant=made.tenant, version_ids=order, acting_user=made.user)
        paths = [selectors.path_of(tenant=made.tenant, node_id=version.node_id) for version in restored]
        tree = selectors.tree_as_of(tenant=made.tenant)
        if first == "file":
            assert paths == ["/Team/plan.txt", "/Team (restored)"]
            assert sorted(tree) == ["/Team", "/Team (restored)", "/Team (restored)/keep.txt", "/Team/plan.txt"]
            actions = Change.objects.for_tenant(made.tenant).filter(seq=selectors.clock_now(tenant=made.tenant))
            assert list(actions.order_by("id").values_list("action", "path")) == [
                ("mkdir", "/Team"),
                ("restore", "/Team/plan.txt"),
                ("restore", "/Team (restored)"),
            ]
        else:
            assert paths == ["/Team", "/Team/plan.txt"]
            assert sorted(tree) == ["/Team", "/Team/keep.txt", "/Team/plan.txt"]
        assert store_check(hub_code=made.tenant.hub_id, tenant_id=made.tenant.pk, hash_blobs=False, spool=False).ok


def test_the_quota_counts_the_items_brought_back_before(make_tenant):
    """Each item alone fits the quota, the two together do not: refused at the
    second, as one after another, and nothing comes back."""
    results = []
    for bulk in (True, False):
        made = make_tenant()
        write(made, "/one.bin", b"1234")
        write(made, "/two.bin", b"5678")
        ids = [
            services.node_delete(tenant=made.tenant, path=path, acting_user=made.user).pk
            for path in ("/one.bin", "/two.bin")
        ]
        made.tenant.quota_bytes = 6
        made.tenant.save(update_fields=["quota_bytes"])
        results.append(apply(made, ("restore", [0, 1]), bulk=bulk))
        assert selectors.tree_as_of(tenant=made.tenant) == {}
        assert len(ids) == 2
    assert results[0] == results[1]
    assert results[0][0] == "refused" and results[0][1][0] == "QuotaExceeded"
    assert "needs 4 bytes more but only 2 bytes" in results[0][1][1]


# ---------------------------------------------------------------- queries


def queries_of(tenant, call: Callable[[], Any]) -> int:
    with CaptureQueriesContext(connections[hub_database_alias(tenant.hub_id)]) as captured:
        call()
    return len(captured.captured_queries)


@pytest.mark.parametrize("spread", [False, True], ids=["one folder", "a folder each"])
def test_the_queries_of_many_at_once_do_not_grow_with_the_items(make_tenant, spread):
    """10 items and 200 (files, and folders holding files; in one folder, or
    each in a folder of its own) cost the same number of queries, give or
    take a few (a bulk insert's batches on SQLite)."""
    counts: dict[int, dict[str, int]] = {}
    for count in (10, 200):
        made = make_tenant()
        paths = []
        for n in range(count):
            folder = f"/from/f{n:03d}" if spread else "/from"
            if n % 5 == 0:
                write(made, f"{folder}/d{n:03d}/inner.txt", b"x" * n)
                paths.append(f"{folder}/d{n:03d}")
            else:
                write(made, f"{folder}/file{n:03d}.txt", b"y" * n)
                paths.append(f"{folder}/file{n:03d}.txt")
        services.folder_create(tenant=made.tenant, path="/to", acting_user=made.user)
        counts[count] = {
            "delete": queries_of(
                made.tenant,
                partial(services.nodes_delete, tenant=made.tenant, paths=paths, acting_user=made.user),
            )
        }
        ids = [item.pk for item in selectors.trash_items(tenant=made.tenant, limit=count).items]
        assert len(ids) == count
        if spread:
            # Brought back into folders that are gone: each is made again on the way.
            services.node_delete(tenant=made.tenant, path="/from", acting_user=made.user)
        counts[count]["restore"] = queries_of(
            made.tenant,
            partial(services.trash_restore_many, tenant=made.tenant, version_ids=ids, acting_user=made.user),
        )
        counts[count]["move"] = queries_of(
            made.tenant,
            partial(services.nodes_move, tenant=made.tenant, paths=paths, to_folder="/to", acting_user=made.user),
        )
        assert len(selectors.tree_as_of(tenant=made.tenant)) >= count
        assert store_check(hub_code=made.tenant.hub_id, tenant_id=made.tenant.pk, hash_blobs=False, spool=False).ok
    for operation in ("move", "delete", "restore"):
        assert counts[200][operation] <= counts[10][operation] + 3, counts
        assert counts[10][operation] <= 25, counts
