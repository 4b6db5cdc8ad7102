"""The restore planner: the conflict rule as a table and a property, and the
preview, which writes nothing and agrees with the run it predicts."""

from __future__ import annotations

import io

import pytest
from django.apps import apps
from django.db import connections
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, assume, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from conftest import all_databases
from snapshots import selectors, services
from snapshots.errors import StoreError
from snapshots.models import RestoreJob, TenantClock
from snapshots.services import RestoreRequest, restore_planner
from snapshots.services.restore_conflicts import (
    NAME_TAKEN,
    TAKEN_BY_RESTORED,
    RestoreAction,
    resolve_conflict,
)

pytestmark = all_databases

FILE, FOLDER = "file", "folder"
RENAME, OVERWRITE, SKIP = "rename", "overwrite", "skip"
A = RestoreAction


def write(made, path, content: bytes):
    return services.file_write(
        tenant=made.tenant, path=path, stream=io.BytesIO(content), content_length=len(content), acting_user=made.user
    )


# ---------------------------------------------------------------- the conflict rule


@pytest.mark.parametrize(
    ("kind", "occupant", "same_content", "restored_here", "policy", "expected"),
    [
        # The name is free: the item goes back, whatever the policy.
        (FILE, None, False, False, RENAME, (A.RESTORED, "")),
        (FILE, None, False, False, OVERWRITE, (A.RESTORED, "")),
        (FOLDER, None, False, False, SKIP, (A.RESTORED, "")),
        # The same file is there: nothing to do.
        (FILE, FILE, True, False, RENAME, (A.UNCHANGED, "")),
        (FILE, FILE, True, False, OVERWRITE, (A.UNCHANGED, "")),
        (FILE, FILE, True, False, SKIP, (A.UNCHANGED, "")),
        # A folder onto a folder merges, whatever the policy.
        (FOLDER, FOLDER, False, False, RENAME, (A.MERGED, "")),
        (FOLDER, FOLDER, False, False, OVERWRITE, (A.MERGED, "")),
        (FOLDER, FOLDER, False, False, SKIP, (A.MERGED, "")),
        # Other content, or the other kind: the policy decides.
        (FILE, FILE, False, False, RENAME, (A.RENAMED, "")),
        (FILE, FILE, False, False, OVERWRITE, (A.OVERWRITTEN, "")),
        (FILE, FILE, False, False, SKIP, (A.SKIPPED, NAME_TAKEN)),
        (FILE, FOLDER, False, False, RENAME, (A.RENAMED, "")),
        (FILE, FOLDER, False, False, OVERWRITE, (A.OVERWRITTEN, "")),
        (FILE, FOLDER, False, False, SKIP, (A.SKIPPED, NAME_TAKEN)),
        (FOLDER, FILE, False, False, RENAME, (A.RENAMED, "")),
        (FOLDER, FILE, False, False, OVERWRITE, (A.OVERWRITTEN, "")),
        (FOLDER, FILE, False, False, SKIP, (A.SKIPPED, NAME_TAKEN)),
        # Another item of this restore holds the name: keep both, or skip; never overwrite it.
        (FILE, FILE, False, True, RENAME, (A.RENAMED, "")),
        (FILE, FILE, False, True, OVERWRITE, (A.SKIPPED, TAKEN_BY_RESTORED)),
        (FILE, FILE, False, True, SKIP, (A.SKIPPED, TAKEN_BY_RESTORED)),
        (FOLDER, FOLDER, False, True, RENAME, (A.RENAMED, "")),
        (FOLDER, FOLDER, False, True, OVERWRITE, (A.SKIPPED, TAKEN_BY_RESTORED)),
        (FOLDER, FILE, False, True, SKIP, (A.SKIPPED, TAKEN_BY_RESTORED)),
    ],
)
def test_the_conflict_rule(kind, occupant, same_content, restored_here, policy, expected):
    assert (
        resolve_conflict(
            kind=kind,
            policy=policy,
            occupant_kind=occupant,
            same_content=same_content,
            restored_here=restored_here,
        )
        == expected
    )


ALLOWED = {
    RENAME: {A.RESTORED, A.RENAMED, A.UNCHANGED, A.MERGED},
    OVERWRITE: {A.RESTORED, A.OVERWRITTEN, A.UNCHANGED, A.MERGED, A.SKIPPED},
    SKIP: {A.RESTORED, A.UNCHANGED, A.MERGED, A.SKIPPED},
}


@given(
    kind=st.sampled_from([FILE, FOLDER]),
    occupant=st.sampled_from([None, FILE, FOLDER]),
    same_content=st.booleans(),
    restored_here=st.booleans(),
    policy=st.sampled_from([RENAME, OVERWRITE, SKIP]),
)
def test_the_conflict_rule_keeps_each_policys_promise(kind, occupant, same_content, restored_here, policy):
    assume(occupant is not None or not restored_here)  # what this restore placed holds a name
    action, reason = resolve_conflict(
        kind=kind, policy=policy, occupant_kind=occupant, same_content=same_content, restored_here=restored_here
    )
    assert action in ALLOWED[policy], "rename never overwrites; skip never renames nor overwrites"
    assert (action is A.RESTORED) == (occupant is None), "a free name is always restored, a taken one never"
    if restored_here:
        assert action in (A.RENAMED, A.SKIPPED), "what this restore placed is never overwritten or merged into"
    assert (action is A.SKIPPED) == bool(reason), "a skip says why, nothing else does"
    if action is A.MERGED:
        assert kind == occupant == FOLDER
    if action is A.UNCHANGED:
        assert kind == occupant == FILE and same_content


# ---------------------------------------------------------------- the preview writes nothing


def store_rows(alias: str) -> dict[str, int]:
    models = apps.get_app_config("snapshots").get_models()
    counts = {model.__name__: model.objects.using(alias).count() for model in models}
    counts["clock_seqs"] = sum(TenantClock.objects.using(alias).values_list("seq", flat=True))
    return counts


def test_the_preview_writes_no_row_takes_no_lock_and_opens_no_transaction(make_tenant):
    made, elsewhere = make_tenant(hub="uk"), make_tenant(hub="de")
    for tenant in (made, elsewhere):
        write(tenant, "/Projects/plan.txt", b"plan")
        write(tenant, "/Projects/deep/spec.txt", b"spec")
        write(tenant, "/notes.txt", b"notes")
    snapshot = services.snapshot_create(tenant=made.tenant)
    write(made, "/Projects/plan.txt", b"plan, changed")
    services.node_delete(tenant=made.tenant, path="/Projects/deep", acting_user=made.user)
    services.folder_create(tenant=made.tenant, path="/notes.txt.d", acting_user=made.user)
    aliases = ("hub_uk", "hub_de")
    before = {alias: store_rows(alias) for alias in aliases}

    for conflict in (RENAME, OVERWRITE, SKIP):
        with CaptureQueriesContext(connections["hub_uk"]) as uk, CaptureQueriesContext(connections["hub_de"]) as de:
            preview = services.restore_preview(
                tenant=made.tenant, request=RestoreRequest(snapshot_id=snapshot.pk, conflict=conflict)
            )
            services.restore_preview(
                tenant=made.tenant, request=RestoreRequest(snapshot_id=snapshot.pk, target="/Recovered")
            )
        assert preview.total_items == 5
        statements = [query["sql"].upper() for query in (*uk.captured_queries, *de.captured_queries)]
        assert statements, "the preview read the hub database"
        for sql in statements:
            assert sql.startswith("SELECT"), sql
            assert "FOR UPDATE" not in sql, sql
    assert {alias: store_rows(alias) for alias in aliases} == before


def test_the_preview_lists_the_first_actions_and_counts_them_all(make_tenant, monkeypatch):
    made = make_tenant()
    for i in range(5):
        write(made, f"/d/f{i}.txt", f"{i}".encode())
    snapshot = services.snapshot_create(tenant=made.tenant)
    services.node_delete(tenant=made.tenant, path="/d", acting_user=made.user)
    monkeypatch.setattr(restore_planner, "PREVIEW_ITEMS_KEPT", 3)
    preview = services.restore_preview(tenant=made.tenant, request=RestoreRequest(snapshot_id=snapshot.pk))
    assert preview.total_items == 6 and preview.counts["restored"] == 6
    assert preview.items == [
        {"action": "restored", "path": "/d"},
        {"action": "restored", "path": "/d/f0.txt"},
        {"action": "restored", "path": "/d/f1.txt"},
    ]


def test_dry_run_previews_exactly_and_changes_nothing(make_tenant):
    made = make_tenant()
    write(made, "/x.txt", b"old")
    write(made, "/y.txt", b"y")
    snapshot = services.snapshot_create(tenant=made.tenant, acting_user=made.user)
    write(made, "/x.txt", b"new")
    services.node_delete(tenant=made.tenant, path="/y.txt", acting_user=made.user)
    seq_before = selectors.clock_now(tenant=made.tenant)
    tree_before = selectors.tree_as_of(tenant=made.tenant)

    preview = services.restore_preview(tenant=made.tenant, request=RestoreRequest(snapshot_id=snapshot.pk))

    assert preview.counts["renamed"] == 1 and preview.counts["restored"] == 1
    assert {item["action"] for item in preview.items} == {"renamed", "restored"}
    assert selectors.clock_now(tenant=made.tenant) == seq_before
    assert selectors.tree_as_of(tenant=made.tenant) == tree_before
    assert RestoreJob.objects.for_tenant(made.tenant).count() == 0


# ---------------------------------------------------------------- the preview agrees with the run


def history_two_files_one_name(made) -> dict:
    write(made, "/a/r.txt", b"from a")
    write(made, "/b/r.txt", b"from b")
    return {"paths": ["/a/r.txt", "/b/r.txt"], "target": "/Recovered"}


def history_folder_deleted_and_made_again(made) -> dict:
    write(made, "/P/keep.txt", b"keep")
    write(made, "/P/edit.txt", b"old")
    write(made, "/P/sub/deep.txt", b"deep")
    return {"after": [("delete", "/P"), ("write", "/P/edit.txt", b"new"), ("write", "/P/sub", b"a file now")]}


def history_kinds_swapped(made) -> dict:
    write(made, "/F/inner.txt", b"inner")
    write(made, "/g.txt", b"g")
    return {"after": [("delete", "/F"), ("write", "/F", b"F is a file"), ("delete", "/g.txt"), ("mkdir", "/g.txt")]}


def history_over_quota(made) -> dict:
    for i in range(4):
        write(made, f"/big/{i}.bin", bytes(10))
    return {"after": [("delete", "/big")], "free": 25}


def history_names_taken_twice(made) -> dict:
    write(made, "/doc.txt", b"then")
    return {"after": [("write", "/doc.txt", b"now")], "taken_too": True}


HISTORIES = [
    history_two_files_one_name,
    history_folder_deleted_and_made_again,
    history_kinds_swapped,
    history_over_quota,
    history_names_taken_twice,
]


@pytest.mark.parametrize("history", HISTORIES)
@pytest.mark.parametrize("conflict", [RENAME, OVERWRITE, SKIP])
@pytest.mark.parametrize("batch_items", [1, 2000])
def test_the_preview_is_what_the_run_does_for_a_table_of_histories(history, conflict, batch_items, make_tenant):
    from django.test import override_settings

    from hubs.models import Tenant

    made = make_tenant()
    plan = history(made)
    snapshot = services.snapshot_create(tenant=made.tenant)
    for change in plan.get("after", []):
        if change[0] == "delete":
            services.node_delete(tenant=made.tenant, path=change[1], acting_user=made.user)
        elif change[0] == "mkdir":
            services.folder_create(tenant=made.tenant, path=change[1], acting_user=made.user)
        else:
            write(made, change[1], change[2])
    if plan.get("taken_too"):
        moment = restore_planner.restore_moment_label(made.tenant, snapshot.taken_at)
        write(made, f"/doc (restored {moment}).txt", b"an earlier restore's copy")
    if "free" in plan:
        used = selectors.live_usage(tenant=made.tenant).live_bytes
        Tenant.objects.filter(pk=made.tenant.pk).update(quota_bytes=used + plan["free"])
        made.tenant.refresh_from_db()
    arguments = {
        "snapshot_id": snapshot.pk,
        "conflict": conflict,
        "paths": tuple(plan.get("paths", ())),
        "target": plan.get("target"),
    }

    preview = services.restore_preview(tenant=made.tenant, request=RestoreRequest(**arguments))
    with override_settings(RESTORE_BATCH_ITEMS=batch_items):
        job = services.restore_run(
            tenant=made.tenant,
            job_id=services.restore_start(
                tenant=made.tenant, acting_user=made.user, request=RestoreRequest(**arguments)
            ).pk,
        )
    assert job.state == RestoreJob.State.SUCCEEDED, job.error
    assert preview.counts == {outcome: getattr(job, outcome) for outcome in preview.counts}
    assert (preview.total_items, preview.failures) == (job.total_items, job.failures)
    placed = {item["path"] for item in preview.items if item["action"] in ("restored", "renamed", "overwritten")}
    assert placed <= set(selectors.tree_as_of(tenant=made.tenant))


NAMES = st.sampled_from(["a", "b", "c.txt", "d.txt"])
CONTENTS = st.sampled_from([b"1", b"22", b"333", b"4444"])
BUILD = st.one_of(
    st.tuples(st.just("write"), st.integers(0, 9), NAMES, CONTENTS),
    st.tuples(st.just("mkdir"), st.integers(0, 9), NAMES),
)
CHANGE = st.one_of(
    BUILD,
    st.tuples(st.just("rewrite"), st.integers(0, 99), CONTENTS),
    st.tuples(st.just("delete"), st.integers(0, 99)),
    st.tuples(st.just("swap_kind"), st.integers(0, 99)),
)


def apply(made, operation) -> None:
    """One change to the tree; one that the store refuses (a name of the
    other kind is taken) is simply not part of the history."""
    tree = selectors.tree_as_of(tenant=made.tenant)
    folders = ["/"] + sorted(p for p, sha in tree.items() if sha is None)
    paths = sorted(tree)
    kind = operation[0]
    try:
        if kind == "write":
            write(made, f"{folders[operation[1] % len(folders)].rstrip('/')}/{operation[2]}", operation[3])
        elif kind == "mkdir":
            path = f"{folders[operation[1] % len(folders)].rstrip('/')}/{operation[2]}"
            services.folder_create(tenant=made.tenant, path=path, acting_user=made.user)
        elif kind == "rewrite" and paths:
            write(made, paths[operation[1] % len(paths)], operation[2])
        elif kind == "delete" and paths:
            services.node_delete(tenant=made.tenant, path=paths[operation[1] % len(paths)], acting_user=made.user)
        elif kind == "swap_kind" and paths:
            path = paths[operation[1] % len(paths)]
            services.node_delete(tenant=made.tenant, path=path, acting_user=made.user)
            if tree[path] is None:
                write(made, path, b"was a folder")
            else:
                services.folder_create(tenant=made.tenant, path=path, acting_user=made.user)
    except StoreError:
        pass


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(data=st.data())
def test_the_preview_totals_are_what_the_run_then_does(data, make_tenant):
    """For any history and any request: the preview's totals, item count and
    failures are the run's, however the run is cut into batches."""
    from django.test import override_settings

    from hubs.models import Tenant

    made = make_tenant()
    for operation in data.draw(st.lists(BUILD, min_size=2, max_size=12), label="built"):
        apply(made, operation)
    snapshot = services.snapshot_create(tenant=made.tenant)
    then = sorted(selectors.tree_as_of(tenant=made.tenant, seq=snapshot.seq))
    for operation in data.draw(st.lists(CHANGE, max_size=10), label="changes"):
        apply(made, operation)
    arguments = {
        "snapshot_id": snapshot.pk,
        "conflict": data.draw(st.sampled_from([RENAME, OVERWRITE, SKIP]), label="conflict"),
        "target": data.draw(
            st.sampled_from([None, None, None, "/Recovered", "/New/Deeper", *then[:1]]), label="target"
        ),
        "paths": data.draw(
            st.one_of(st.just(()), st.lists(st.sampled_from(then or ["/"]), min_size=1, max_size=3, unique=True)),
            label="paths",
        ),
    }
    quota = data.draw(st.sampled_from([None, None, 0, 5, 12]), label="free quota")
    if quota is not None:
        used = selectors.live_usage(tenant=made.tenant).live_bytes
        Tenant.objects.filter(pk=made.tenant.pk).update(quota_bytes=used + quota)
        made.tenant.refresh_from_db()
    batch_items = data.draw(st.sampled_from([1, 2, 3, 2000]), label="batch items")

    try:
        preview = services.restore_preview(tenant=made.tenant, request=RestoreRequest(**arguments))
    except StoreError as refusal:
        event(f"refused: {type(refusal).__name__}")
        try:
            job = services.restore_start(tenant=made.tenant, acting_user=made.user, request=RestoreRequest(**arguments))
        except StoreError as refused_start:
            assert (type(refused_start), refused_start.detail) == (type(refusal), refusal.detail)
            return
        # Refused only once today's tree is looked at (a file where the target's folders go): the job fails so.
        job = services.restore_run(tenant=made.tenant, job_id=job.pk)
        assert (job.state, job.error) == (RestoreJob.State.FAILED, refusal.detail)
        return
    with override_settings(RESTORE_BATCH_ITEMS=batch_items):
        job = services.restore_start(tenant=made.tenant, acting_user=made.user, request=RestoreRequest(**arguments))
        job = services.restore_run(tenant=made.tenant, job_id=job.pk)
    assert job.state == RestoreJob.State.SUCCEEDED, job.error
    event("outcomes: " + ", ".join(sorted(outcome for outcome, count in preview.counts.items() if count)))
    assert preview.counts == {outcome: getattr(job, outcome) for outcome in preview.counts}
    assert preview.total_items == job.total_items
    assert preview.failures == job.failures
    placed = {item["path"] for item in preview.items if item["action"] in ("restored", "renamed", "overwritten")}
    assert placed <= set(selectors.tree_as_of(tenant=made.tenant)), "every placed item is where the preview said"
    assert_store_consistent(made)


def assert_store_consistent(made) -> None:
    """The counters match the tree, live and in Recently deleted, and Recently
    deleted lists only what is deleted now, each with the path it had."""
    from snapshots.models import Blob, Node, NodeVersion

    tree = selectors.tree_as_of(tenant=made.tenant)
    size_of = dict(Blob.objects.for_tenant(made.tenant).values_list("sha256", "size"))
    usage = selectors.live_usage(tenant=made.tenant)
    assert (usage.live_files, usage.live_bytes) == (
        sum(1 for sha in tree.values() if sha is not None),
        sum(size_of[sha] for sha in tree.values() if sha is not None),
    )
    open_rows = list(NodeVersion.objects.for_tenant(made.tenant).filter(valid_to__isnull=True))
    children: dict[int, list[NodeVersion]] = {}
    for row in open_rows:
        children.setdefault(row.parent_id, []).append(row)

    def held(node_id: int) -> tuple[int, int]:
        files = size = 0
        for child in children.get(node_id, []):
            inner = (1, child.size) if child.kind == FILE else held(child.node_id)
            files, size = files + inner[0], size + inner[1]
        return files, size

    live_nodes = {row.node_id for row in open_rows}
    # Every open row is in the live tree or inside something in Recently deleted: none is left behind.
    parent_of = {row.node_id: row.parent_id for row in open_rows}
    in_trash = set(NodeVersion.objects.for_tenant(made.tenant).filter(in_trash=True).values_list("node_id", flat=True))
    for row in open_rows:
        top = row.node_id
        while parent_of.get(top) is not None:
            top = parent_of[top]
        assert top in in_trash or (top in parent_of and parent_of[top] is None), row.name
    for item in selectors.trash_items(tenant=made.tenant).items:
        assert item.node_id not in live_nodes, "a trash item is deleted now"
        selectors.trash_original_path(tenant=made.tenant, version=item)  # it knows where it was
        if item.kind == FOLDER:
            counters = Node.objects.for_tenant(made.tenant).values_list("subtree_files", "subtree_bytes")
            assert counters.get(pk=item.node_id) == held(item.node_id), "a deleted folder's counters say what it holds"
