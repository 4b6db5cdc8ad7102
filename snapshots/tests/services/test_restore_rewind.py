"""Exact restores (a rewind): a folder or everything becomes what it was, what
was made since goes to Recently deleted, and the pre-restore snapshot undoes
it all. The planner's removals, the engine's writes, the preview's totals and
resumed runs."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from conftest import all_databases
from snapshots import selectors, services
from snapshots.errors import NotFound, RestoreRefused, StoreError
from snapshots.models import Change, NodeVersion, RestoreJob
from snapshots.services import RestoreRequest, restore_runs
from snapshots.tests.services.test_restore_planner import BUILD, CONTENTS, apply, assert_store_consistent

pytestmark = all_databases


def write(made, path, content: bytes):
    return services.file_write(
        tenant=made.tenant, path=path, stream=io.BytesIO(content), content_length=len(content), acting_user=made.user
    )


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def rewind(made, **kwargs) -> RestoreJob:
    job = services.restore_start(
        tenant=made.tenant, acting_user=made.user, request=RestoreRequest(mode="exact", **kwargs)
    )
    done = services.restore_run(tenant=made.tenant, job_id=job.pk)
    assert done is not None and done.state == RestoreJob.State.SUCCEEDED, done and done.error
    return done


def under(tree: dict[str, str | None], folder: str) -> dict[str, str | None]:
    return {path: value for path, value in tree.items() if path.startswith(folder + "/")}


def trash_paths(made) -> set[str]:
    return {
        selectors.trash_original_path(tenant=made.tenant, version=item)
        for item in selectors.trash_items(tenant=made.tenant).items
    }


def test_rewinding_a_folder_makes_it_as_it_was_and_sends_what_was_made_since_to_recently_deleted(make_tenant):
    made = make_tenant()
    write(made, "/P/a.txt", b"a")
    write(made, "/P/sub/b.txt", b"b")
    write(made, "/Other/o.txt", b"o")
    snapshot = services.snapshot_create(tenant=made.tenant)
    then = selectors.tree_as_of(tenant=made.tenant, seq=snapshot.seq)
    write(made, "/P/new.txt", b"new since")
    write(made, "/P/sub/new2.txt", b"new since too")
    write(made, "/P/a.txt", b"a, encrypted")
    services.node_delete(tenant=made.tenant, path="/P/sub/b.txt", acting_user=made.user)
    write(made, "/P/made/inside.txt", b"in a folder made since")
    write(made, "/Other/o2.txt", b"outside the folder")

    request = RestoreRequest(snapshot_id=snapshot.pk, paths=("/P",), mode="exact")
    preview = services.restore_preview(tenant=made.tenant, request=request)
    job = rewind(made, snapshot_id=snapshot.pk, paths=("/P",))

    tree = selectors.tree_as_of(tenant=made.tenant)
    assert under(tree, "/P") == under(then, "/P")
    assert tree["/Other/o2.txt"] == sha(b"outside the folder"), "outside the folder nothing changes"
    assert {"/P/new.txt", "/P/sub/new2.txt", "/P/made"} <= trash_paths(made)
    assert (job.removed, job.overwritten, job.restored) == (3, 1, 1)
    assert preview.counts == {outcome: getattr(job, outcome) for outcome in preview.counts}
    assert {entry["path"] for entry in preview.removals} == {"/P/new.txt", "/P/sub/new2.txt", "/P/made"}
    assert preview.totals["removed"] == {
        "items": 3,
        "files": 3,
        "bytes": len(b"new since") + len(b"new since too") + len(b"in a folder made since"),
    }
    assert preview.totals["back"] == {"items": 2, "files": 2, "bytes": 2}
    deleted = Change.objects.for_tenant(made.tenant).filter(restore_job_id=job.pk, action=Change.Action.DELETE)
    assert sorted(deleted.values_list("path", flat=True)) == ["/P/made", "/P/new.txt", "/P/sub/new2.txt"]
    assert_store_consistent(made)


def test_a_file_renamed_since_comes_back_as_itself_under_its_old_name(make_tenant):
    made = make_tenant()
    original = write(made, "/r/report.doc", b"the report")
    snapshot = services.snapshot_create(tenant=made.tenant)
    services.node_rename(tenant=made.tenant, path="/r/report.doc", new_name="report.doc.locked", acting_user=made.user)
    write(made, "/r/report.doc.locked", b"ransom")

    job = rewind(made, snapshot_id=snapshot.pk, paths=("/r",))

    tree = selectors.tree_as_of(tenant=made.tenant)
    assert under(tree, "/r") == {"/r/report.doc": sha(b"the report")}
    back = selectors.node_at_path(tenant=made.tenant, path="/r/report.doc")
    assert back.node_id == original.node_id, "the same file, with its history"
    assert job.removed == 1
    assert "/r/report.doc.locked" not in trash_paths(made), "it came back, so it is not in Recently deleted"
    assert_store_consistent(made)


def test_rewinding_everything_then_undoing_it_through_the_pre_restore_snapshot(make_tenant):
    made = make_tenant()
    write(made, "/a.txt", b"a")
    write(made, "/F/b.txt", b"b")
    snapshot = services.snapshot_create(tenant=made.tenant)
    then = selectors.tree_as_of(tenant=made.tenant, seq=snapshot.seq)
    write(made, "/c.txt", b"made since")
    services.node_move(tenant=made.tenant, from_path="/F/b.txt", to_path="/b-moved.txt", acting_user=made.user)
    services.node_delete(tenant=made.tenant, path="/a.txt", acting_user=made.user)
    write(made, "/F/x/y.txt", b"deep, made since")
    before = selectors.tree_as_of(tenant=made.tenant)

    job = rewind(made, snapshot_id=snapshot.pk)
    assert selectors.tree_as_of(tenant=made.tenant) == then
    assert {"/c.txt", "/F/x"} <= trash_paths(made)
    assert_store_consistent(made)

    undo = rewind(made, snapshot_id=job.pre_restore_snapshot_id)
    assert selectors.tree_as_of(tenant=made.tenant) == before
    assert undo.removed == 2, "what the rewind brought back (/a.txt, /F/b.txt) goes to Recently deleted again"
    assert_store_consistent(made)


def test_exact_requests_that_cannot_be_rewinds_are_refused_with_the_reason(make_tenant):
    made = make_tenant()
    write(made, "/F/file.txt", b"f")
    snapshot = services.snapshot_create(tenant=made.tenant)

    def refusal(**kwargs) -> StoreError:
        with pytest.raises(StoreError) as raised:
            services.restore_start(tenant=made.tenant, acting_user=made.user, request=RestoreRequest(**kwargs))
        return raised.value

    into = refusal(snapshot_id=snapshot.pk, paths=("/F",), target="/Elsewhere", mode="exact")
    assert isinstance(into, RestoreRefused) and "takes no target folder" in into.detail
    a_file = refusal(snapshot_id=snapshot.pk, paths=("/F/file.txt",), mode="exact")
    assert isinstance(a_file, RestoreRefused) and "was a file at that time" in a_file.detail
    unknown = refusal(snapshot_id=snapshot.pk, mode="mirror")
    assert isinstance(unknown, RestoreRefused) and "Unknown restore mode" in unknown.detail
    missing = refusal(snapshot_id=snapshot.pk, paths=("/Nope",), mode="exact")
    assert isinstance(missing, NotFound)
    assert not RestoreJob.objects.for_tenant(made.tenant).exists(), "nothing was started"


def test_merge_stays_the_default_and_leaves_what_was_made_since(make_tenant):
    made = make_tenant()
    write(made, "/P/a.txt", b"a")
    snapshot = services.snapshot_create(tenant=made.tenant)
    write(made, "/P/new.txt", b"new")
    job = services.restore_run(
        tenant=made.tenant,
        job_id=services.restore_start(
            tenant=made.tenant, acting_user=made.user, request=RestoreRequest(snapshot_id=snapshot.pk)
        ).pk,
    )
    assert job.mode == RestoreJob.Mode.MERGE and job.removed == 0
    assert "/P/new.txt" in selectors.tree_as_of(tenant=made.tenant)


def test_a_rewind_resumed_after_its_first_batches_ends_as_one_clean_run(make_tenant, settings):
    """Batches of two: the run dies after two batches (the root's removals and
    the first items committed); the resumed run goes on from there and the tree
    is the snapshot's, with each removal made once."""
    settings.RESTORE_BATCH_ITEMS = 2
    made = make_tenant()
    for i in range(5):
        write(made, f"/d/f{i}.txt", f"{i}".encode())
    snapshot = services.snapshot_create(tenant=made.tenant)
    then = selectors.tree_as_of(tenant=made.tenant, seq=snapshot.seq)
    for i in range(3):
        write(made, f"/since{i}.txt", b"since")
        write(made, f"/d/since{i}.txt", b"since")
    write(made, "/d/f1.txt", b"changed")
    job = services.restore_start(
        tenant=made.tenant, acting_user=made.user, request=RestoreRequest(snapshot_id=snapshot.pk, mode="exact")
    )
    plan = services.restore_plan(tenant=made.tenant, request=services.restore_request_of(job))
    first = restore_runs._run_for(made.tenant, job)
    first.attempt = 1
    RestoreJob.objects.for_tenant(made.tenant).filter(pk=job.pk).update(state="running", attempts=1)
    assert restore_runs._execute(first, plan[:4], start=0, actor=services.actor_for(made.user)) == "done"
    # The dead run's claim on the job is as old as a dead worker's gets: the next run takes the job over.
    RestoreJob.objects.for_tenant(made.tenant).filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - timedelta(minutes=10)
    )

    resumed = services.restore_run(tenant=made.tenant, job_id=job.pk)

    assert resumed.state == RestoreJob.State.SUCCEEDED
    assert selectors.tree_as_of(tenant=made.tenant) == then
    assert resumed.removed == 6
    removals = Change.objects.for_tenant(made.tenant).filter(restore_job_id=job.pk, action=Change.Action.DELETE)
    assert removals.count() == 6, "each removal once"
    assert_store_consistent(made)


def test_a_rewind_of_ten_thousand_files_runs_in_batches_with_few_queries(make_tenant, settings):
    """10,000 files in 100 folders, 1,000 of them made since: batches of 2,000,
    and the removals are read per folder level, not per item."""
    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    from snapshots.services.kernel import NewVersion, change_step, nodes_create, versions_open

    settings.RESTORE_BATCH_ITEMS = 2000
    made = make_tenant()
    with change_step(tenant=made.tenant, actor=services.actor_for(made.user)) as step:
        root = selectors.root_version(tenant=made.tenant).node_id
        [big] = nodes_create(step, kinds=["folder"])
        versions_open(step, [NewVersion(node_id=big, parent_id=root, name="Big", kind="folder")], read_back=False)
        folders = nodes_create(step, kinds=["folder"] * 100)
        versions_open(
            step,
            [NewVersion(node_id=n, parent_id=big, name=f"part{i}", kind="folder") for i, n in enumerate(folders)],
            read_back=False,
        )
        files = nodes_create(step, kinds=["file"] * 10_000, sizes=[0] * 10_000)
        versions_open(
            step,
            [
                NewVersion(node_id=n, parent_id=folders[i % 100], name=f"f{i}.txt", kind="file")
                for i, n in enumerate(files)
            ],
            read_back=False,
        )
    snapshot = services.snapshot_create(tenant=made.tenant)
    with change_step(tenant=made.tenant, actor=services.actor_for(made.user)) as step:
        since = nodes_create(step, kinds=["file"] * 1000, sizes=[0] * 1000)
        versions_open(
            step,
            [
                NewVersion(node_id=n, parent_id=folders[i % 100], name=f"since{i}.txt", kind="file")
                for i, n in enumerate(since)
            ],
            read_back=False,
        )
    request = RestoreRequest(snapshot_id=snapshot.pk, paths=("/Big",), mode="exact")
    preview = services.restore_preview(tenant=made.tenant, request=request)
    assert (preview.counts["removed"], preview.counts["unchanged"], preview.total_items) == (1000, 10_000, 10_101)

    job = services.restore_start(tenant=made.tenant, acting_user=made.user, request=request)
    alias = f"hub_{made.tenant.hub_id}"
    with CaptureQueriesContext(connections[alias]) as queries:
        done = services.restore_run(tenant=made.tenant, job_id=job.pk)
    assert done.state == RestoreJob.State.SUCCEEDED
    assert (done.removed, done.unchanged, done.done_items) == (1000, 10_000, 10_101)
    assert len(queries) < 400, f"{len(queries)} queries for 10,101 items in six batches"
    live = NodeVersion.objects.for_tenant(made.tenant).filter(valid_to__isnull=True, name__startswith="since")
    assert not live.exists()


# ---------------------------------------------------------------- the round trip, as a property

RENAMES = st.tuples(st.just("rename"), st.integers(0, 99), st.sampled_from(["a", "b", "c.txt", "d.txt", "z.locked"]))
MOVES = st.tuples(st.just("move"), st.integers(0, 99), st.integers(0, 9))
CHANGES = st.one_of(
    BUILD,
    st.tuples(st.just("rewrite"), st.integers(0, 99), CONTENTS),
    st.tuples(st.just("delete"), st.integers(0, 99)),
    st.tuples(st.just("swap_kind"), st.integers(0, 99)),
    RENAMES,
    MOVES,
)


def change(made, operation) -> None:
    """One change, renames and moves too; one the store refuses is not part of the history."""
    if operation[0] not in ("rename", "move"):
        apply(made, operation)
        return
    tree = selectors.tree_as_of(tenant=made.tenant)
    paths = sorted(tree)
    if not paths:
        return
    path = paths[operation[1] % len(paths)]
    try:
        if operation[0] == "rename":
            services.node_rename(tenant=made.tenant, path=path, new_name=operation[2], acting_user=made.user)
        else:
            folders = ["/"] + sorted(p for p, value in tree.items() if value is None)
            into = folders[operation[2] % len(folders)].rstrip("/")
            services.node_move(
                tenant=made.tenant, from_path=path, to_path=f"{into}/{path.rsplit('/', 1)[1]}", acting_user=made.user
            )
    except StoreError:
        pass


@hypothesis_settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(data=st.data())
def test_a_rewind_gives_the_tree_then_and_rewinding_to_its_pre_restore_snapshot_gives_the_tree_before(
    data, make_tenant
):
    """Any history, then a rewind to snapshot S: the tree (or the folder) is
    tree_at(S); the preview said what the run did; then a rewind to the
    pre-restore snapshot gives back the tree before, however the runs are cut
    into batches."""
    made = make_tenant()
    for operation in data.draw(st.lists(BUILD, min_size=2, max_size=12), label="built"):
        apply(made, operation)
    snapshot = services.snapshot_create(tenant=made.tenant)
    then = selectors.tree_as_of(tenant=made.tenant, seq=snapshot.seq)
    for operation in data.draw(st.lists(CHANGES, max_size=12), label="changes"):
        change(made, operation)
    before = selectors.tree_as_of(tenant=made.tenant)
    then_folders = sorted(path for path, value in then.items() if value is None)
    folder = data.draw(st.sampled_from([None, None, *then_folders[:3]]), label="folder")
    paths = (folder,) if folder else ()
    batch_items = data.draw(st.sampled_from([1, 2, 3, 2000]), label="batch items")
    event("folder" if folder else "everything")

    request = RestoreRequest(snapshot_id=snapshot.pk, paths=paths, mode="exact")
    try:
        preview = services.restore_preview(tenant=made.tenant, request=request)
    except StoreError as refusal:  # a file on the way to the folder: the rewind fails the same way
        event(f"refused: {type(refusal).__name__}")
        return
    with override_settings(RESTORE_BATCH_ITEMS=batch_items):
        job = rewind(made, snapshot_id=snapshot.pk, paths=paths)
    after = selectors.tree_as_of(tenant=made.tenant)
    if folder:
        assert under(after, folder) == under(then, folder)
        assert after.get(folder, "absent") is None, "the folder itself is there"
        # Outside it nothing changes, but for the folders on the way to it, made again if they had gone.
        on_the_way = {folder.rsplit("/", depth)[0] for depth in range(1, folder.count("/"))}

        def outside(tree: dict[str, str | None]) -> dict[str, str | None]:
            return {p: v for p, v in tree.items() if not p.startswith(folder + "/") and p not in on_the_way | {folder}}

        assert outside(after) == outside(before)
    else:
        assert after == then
    assert preview.counts == {outcome: getattr(job, outcome) for outcome in preview.counts}
    event(f"removed: {min(job.removed, 3)}")
    assert_store_consistent(made)

    # Undone as a whole: the folder may not have been there before the rewind.
    with override_settings(RESTORE_BATCH_ITEMS=batch_items):
        rewind(made, snapshot_id=job.pre_restore_snapshot_id)
    assert selectors.tree_as_of(tenant=made.tenant) == before
    assert_store_consistent(made)
