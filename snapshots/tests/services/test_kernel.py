"""The store's kernel: the set-based operations every write is made of."""

from __future__ import annotations

import io

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from conftest import all_databases
from snapshots import selectors, services
from snapshots.errors import NameConflict, WrongKind
from snapshots.models import Change, Node, NodeVersion
from snapshots.services.kernel import (
    NewVersion,
    actor_for,
    change_step,
    counters_move,
    file_counters_set,
    folders_ensure,
    nodes_create,
    versions_close,
    versions_open,
)

pytestmark = all_databases


def write(made, path, content: bytes):
    return services.file_write(
        tenant=made.tenant, path=path, stream=io.BytesIO(content), content_length=len(content), acting_user=made.user
    )


def counters(made, path: str) -> tuple[int, int]:
    node_id = selectors.node_at_path(tenant=made.tenant, path=path).node_id
    return Node.objects.for_tenant(made.tenant).filter(pk=node_id).values_list("subtree_files", "subtree_bytes").get()


def updates_of_node(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].startswith("UPDATE") and "snapshots_node" in q["sql"]]


def test_moving_counters_updates_each_folder_once_and_shares_one_update_per_change(make_tenant):
    made = make_tenant()
    write(made, "/a/b/c/one.txt", b"12345")
    write(made, "/a/x/two.txt", b"12")
    c = selectors.node_at_path(tenant=made.tenant, path="/a/b/c").node_id
    x = selectors.node_at_path(tenant=made.tenant, path="/a/x").node_id
    with CaptureQueriesContext(connections["hub_uk"]) as queries:
        with change_step(tenant=made.tenant, actor=actor_for(made.user)) as step:
            # One file's worth leaves /a/b/c and arrives in /a/x: /a and the root do not change.
            counters_move(step, deltas={c: (-1, -5), x: (1, 5)})
            step.wrote_rows = True
    assert counters(made, "/a/b/c") == (0, 0) and counters(made, "/a/b") == (0, 0)
    assert counters(made, "/a/x") == (2, 7) and counters(made, "/a") == (2, 7)
    assert counters(made, "/") == (2, 7)
    # /a/b/c and /a/b share a change, /a/x has its own: two UPDATEs, whatever the depth.
    assert len(updates_of_node(queries.captured_queries)) == 2


def test_counters_stop_at_a_deleted_folder_which_keeps_describing_what_it_holds(make_tenant):
    made = make_tenant()
    write(made, "/gone/inner/f.txt", b"123")
    inner = selectors.node_at_path(tenant=made.tenant, path="/gone/inner").node_id
    gone = selectors.node_at_path(tenant=made.tenant, path="/gone").node_id
    services.node_delete(tenant=made.tenant, path="/gone", acting_user=made.user)
    with change_step(tenant=made.tenant, actor=actor_for(made.user)) as step:
        counters_move(step, deltas={inner: (-1, -3)})
        step.wrote_rows = True
    held = dict(Node.objects.for_tenant(made.tenant).filter(pk__in=[inner, gone]).values_list("pk", "subtree_files"))
    assert held == {inner: 0, gone: 0}
    assert selectors.live_usage(tenant=made.tenant).live_files == 0, "the live root was not touched"


def test_opening_a_taken_name_refuses_the_whole_set_and_writes_nothing(make_tenant):
    made = make_tenant()
    write(made, "/taken.txt", b"x")
    root = selectors.root_version(tenant=made.tenant).node_id
    before = NodeVersion.objects.for_tenant(made.tenant).count()
    with pytest.raises(NameConflict), change_step(tenant=made.tenant, actor=actor_for(made.user)) as step:
        ids = nodes_create(step, kinds=[Node.Kind.FOLDER, Node.Kind.FOLDER])
        versions_open(
            step,
            [
                NewVersion(node_id=ids[0], parent_id=root, name="free", kind=Node.Kind.FOLDER),
                NewVersion(node_id=ids[1], parent_id=root, name="taken.txt", kind=Node.Kind.FOLDER),
            ],
        )
    assert NodeVersion.objects.for_tenant(made.tenant).count() == before
    assert "/free" not in selectors.tree_as_of(tenant=made.tenant)


def test_closing_rows_ends_them_at_the_step_and_can_put_them_in_recently_deleted(make_tenant):
    made = make_tenant()
    one, two = write(made, "/one.txt", b"1"), write(made, "/two.txt", b"2")
    with change_step(tenant=made.tenant, actor=actor_for(made.user)) as step:
        versions_close(step, [one, two], action="delete", to_trash=True)
    assert (one.valid_to, one.in_trash, one.closed_by_action) == (step.seq, True, "delete")
    stored = NodeVersion.objects.for_tenant(made.tenant).filter(pk__in=[one.pk, two.pk])
    assert {(row.valid_to, row.in_trash) for row in stored} == {(step.seq, True)}
    assert selectors.clock_now(tenant=made.tenant) == step.seq, "rows written: the clock moved"


def test_folders_on_the_way_are_made_once_and_a_file_on_the_way_is_refused(make_tenant):
    made = make_tenant()
    write(made, "/file", b"x")
    with change_step(tenant=made.tenant, actor=actor_for(made.user)) as step:
        chain = folders_ensure(step, ["a", "b"])
        again = folders_ensure(step, ["a", "b"])
    assert [v.name for v in chain] == ["", "a", "b"] and [v.pk for v in again] == [v.pk for v in chain]
    assert [c.path for c in step.changes] == ["/a", "/a/b"]
    with pytest.raises(WrongKind), change_step(tenant=made.tenant, actor=actor_for(made.user)) as step:
        folders_ensure(step, ["file", "inside"])


def test_rows_inserted_without_reading_back_are_stored_as_the_orm_stores_them(make_tenant):
    made = make_tenant()
    root = selectors.root_version(tenant=made.tenant).node_id
    with change_step(tenant=made.tenant, actor=actor_for(made.user), restore_job_id=7) as step:
        first, second = nodes_create(step, kinds=[Node.Kind.FILE, Node.Kind.FILE], sizes=[3, 3])
        [through_orm] = versions_open(step, [NewVersion(node_id=first, parent_id=root, name="ä.txt", kind="file")])
        assert (
            versions_open(
                step, [NewVersion(node_id=second, parent_id=root, name="b.txt", kind="file")], read_back=False
            )
            == []
        )
        step.record(Change.Action.RESTORE, node_id=second, path="/b.txt")
    inserted = NodeVersion.objects.for_tenant(made.tenant).get(node_id=second)
    fields = ("valid_from", "valid_to", "changed_at", "closed_at", "author_user_id", "author_label", "in_trash")
    assert [getattr(inserted, name) for name in fields] == [getattr(through_orm, name) for name in fields]
    change = Change.objects.for_tenant(made.tenant).get(seq=step.seq)
    assert (change.at, change.path, change.by_support, change.restore_job_id) == (step.now, "/b.txt", False, 7)
    assert change.actor_label == made.user.email


def test_rows_inserted_without_reading_back_refuse_a_taken_name_and_write_nothing(make_tenant):
    """The bulk path (COPY on PostgreSQL, executemany on SQLite) meets the
    live-name constraint as the ORM does: NameConflict, and the step goes on."""
    made = make_tenant()
    root = selectors.root_version(tenant=made.tenant).node_id
    with change_step(tenant=made.tenant, actor=actor_for(made.user)) as step:
        first, second, third = nodes_create(step, kinds=[Node.Kind.FILE] * 3, sizes=[1, 1, 1])
        versions_open(step, [NewVersion(node_id=first, parent_id=root, name="taken", kind="file")], read_back=False)
        rows = [
            NewVersion(node_id=second, parent_id=root, name="free", kind="file"),
            NewVersion(node_id=third, parent_id=root, name="taken", kind="file"),
        ]
        with pytest.raises(NameConflict):
            versions_open(step, rows, read_back=False)
        step.record(Change.Action.RESTORE, node_id=first, path="/taken")
    names = set(NodeVersion.objects.for_tenant(made.tenant).filter(parent_id=root).values_list("name", flat=True))
    assert "taken" in names and "free" not in names


def test_file_counters_of_many_sizes_are_set_in_one_update(make_tenant):
    made = make_tenant()
    with change_step(tenant=made.tenant, actor=actor_for(made.user)) as step:
        nodes = nodes_create(step, kinds=[Node.Kind.FILE] * 3, sizes=[0, 0, 0])
        with CaptureQueriesContext(connections["hub_uk"]) as queries:
            file_counters_set(step, sizes=dict(zip(nodes, [5, 7, 11], strict=True)))
        assert len(queries.captured_queries) == 1
    rows = Node.objects.for_tenant(made.tenant).filter(pk__in=nodes).order_by("pk")
    assert list(rows.values_list("subtree_files", "subtree_bytes")) == [(1, 5), (1, 7), (1, 11)]
