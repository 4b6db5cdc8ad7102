"""One person's consecutive restores of files share a pre-restore snapshot
while it shows, for every path they write, what a new one would: a client
copying a folder out of ``.snapshots`` file by file (rclone) leaves one
"Before a restore" in the tenant's list, not one per file, and each restore is
still undone exactly from the snapshot it names."""

from __future__ import annotations

import io
from datetime import timedelta

import time_machine
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import all_databases
from snapshots import selectors, services
from snapshots.errors import NotFound
from snapshots.models import RestoreJob, Snapshot
from snapshots.services import RestoreRequest
from snapshots.services.restore_jobs import PRE_RESTORE_SHARED_FOR

pytestmark = all_databases

FILES = ("/docs/a.txt", "/docs/b.txt", "/docs/c.txt", "/docs/deep/d.txt")


def write(made, path: str, body: bytes, user=None) -> None:
    services.file_write(
        tenant=made.tenant,
        path=path,
        stream=io.BytesIO(body),
        content_length=len(body),
        acting_user=user or made.user,
    )


def all_deleted_after_a_snapshot(made) -> Snapshot:
    for path in FILES:
        write(made, path, path.encode())
    snapshot = services.snapshot_create(tenant=made.tenant, acting_user=made.user)
    for path in FILES:
        services.node_delete(tenant=made.tenant, path=path, acting_user=made.user)
    return snapshot


def restore(made, snapshot: Snapshot, *paths: str, user=None, **request) -> RestoreJob:
    job = services.restore_start(
        tenant=made.tenant,
        acting_user=user or made.user,
        request=RestoreRequest(snapshot_id=snapshot.pk, paths=paths, **request),
    )
    if not job.is_finished:  # the test's transaction holds the run back until a commit that never comes
        job = services.restore_run(tenant=made.tenant, job_id=job.pk)
    assert job.state == RestoreJob.State.SUCCEEDED, job.error
    return job


def pre_restore_count(made) -> int:
    return Snapshot.objects.for_tenant(made.tenant).filter(kind=Snapshot.Kind.PRE_RESTORE).count()


def test_restores_of_different_files_one_after_another_share_one_pre_restore_snapshot(make_tenant):
    made = make_tenant()
    source = all_deleted_after_a_snapshot(made)

    jobs = [restore(made, source, path) for path in FILES]

    assert len({job.pre_restore_snapshot_id for job in jobs}) == 1
    assert pre_restore_count(made) == 1
    # It shows the tree before the first of them: none of the four files.
    before = selectors.tree_as_of(tenant=made.tenant, seq=jobs[0].pre_restore_snapshot.seq)
    assert not set(FILES) & set(before)


def test_a_snapshot_of_its_own_whenever_the_shared_one_would_not_show_the_tree_before(make_tenant):
    made = make_tenant()
    source = all_deleted_after_a_snapshot(made)
    first = restore(made, source, "/docs/a.txt")

    # The same file again: the snapshot shows it absent, but it was there.
    again = restore(made, source, "/docs/a.txt", conflict=RestoreJob.Conflict.OVERWRITE)
    assert again.pre_restore_snapshot_id != first.pre_restore_snapshot_id

    # A write since at the path restored, by the person themselves.
    write(made, "/docs/b.txt", b"made since")
    over = restore(made, source, "/docs/b.txt", conflict=RestoreJob.Conflict.OVERWRITE)
    assert over.pre_restore_snapshot_id != again.pre_restore_snapshot_id

    # A folder above the path deleted since: the snapshot would show what was in it.
    services.node_delete(tenant=made.tenant, path="/docs/deep", acting_user=made.user)
    deep = restore(made, source, "/docs/deep/d.txt")
    assert deep.pre_restore_snapshot_id != over.pre_restore_snapshot_id

    # A folder restore, and an undo (its source is the shared snapshot itself).
    folder = restore(made, source, "/docs/deep")
    assert folder.pre_restore_snapshot_id != deep.pre_restore_snapshot_id
    undo = restore(made, folder.pre_restore_snapshot, "/docs/a.txt", conflict=RestoreJob.Conflict.OVERWRITE)
    assert undo.pre_restore_snapshot_id != folder.pre_restore_snapshot_id
    assert pre_restore_count(made) == 6


def test_another_person_a_newer_snapshot_or_ten_minutes_end_the_sharing(make_tenant):
    from django.contrib.auth import get_user_model

    from hubs.services.memberships import membership_add

    made = make_tenant()
    source = all_deleted_after_a_snapshot(made)
    first = restore(made, source, "/docs/a.txt")
    colleague = get_user_model().objects.create_user(
        username="colleague@example.test", email="colleague@example.test", password="correct horse battery"
    )
    membership_add(tenant=made.tenant, user=colleague, role="admin", acting_user=made.user)

    by_colleague = restore(made, source, "/docs/b.txt", user=colleague)
    assert by_colleague.pre_restore_snapshot_id != first.pre_restore_snapshot_id

    own = restore(made, source, "/docs/c.txt")
    assert own.pre_restore_snapshot_id != by_colleague.pre_restore_snapshot_id  # the newest is the colleague's

    # A snapshot taken since (with a change after it, so the restore has one to undo).
    services.snapshot_create(tenant=made.tenant, acting_user=made.user)
    write(made, "/docs/e.txt", b"e")
    after_manual = restore(made, source, "/docs/deep/d.txt")
    assert after_manual.pre_restore_snapshot_id != own.pre_restore_snapshot_id

    with time_machine.travel(timezone.now() + PRE_RESTORE_SHARED_FOR + timedelta(seconds=1)):
        later = restore(made, source, "/docs/b.txt", conflict=RestoreJob.Conflict.RENAME)
    assert later.pre_restore_snapshot_id != after_manual.pre_restore_snapshot_id
    assert pre_restore_count(made) == 5


ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.just("restore"), st.sampled_from(FILES)),
        st.tuples(st.just("write"), st.sampled_from((*FILES, "/docs/other.txt"))),
        st.tuples(st.just("delete"), st.sampled_from(("/docs/deep", "/docs/a.txt", "/docs/other.txt"))),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS)
def test_every_restore_is_undone_exactly_from_the_snapshot_it_names(make_tenant, actions):
    """Whatever happens between restores, the pre-restore snapshot a job names
    shows each path the job wrote as it was just before that job."""
    made = make_tenant()
    source = all_deleted_after_a_snapshot(made)
    for number, (action, path) in enumerate(actions):
        if action == "write":
            write(made, path, f"write {number}".encode())
        elif action == "delete":
            try:
                services.node_delete(tenant=made.tenant, path=path, acting_user=made.user)
            except NotFound:
                pass
        else:
            before = selectors.tree_as_of(tenant=made.tenant).get(path, "absent")
            job = restore(made, source, path, conflict=RestoreJob.Conflict.OVERWRITE)
            shown = selectors.tree_as_of(tenant=made.tenant, seq=job.pre_restore_snapshot.seq).get(path, "absent")
            assert shown == before, (actions, number)
