"""Bringing back one item: from Recently deleted, or an earlier version of a file."""

from __future__ import annotations

import hashlib
import io

import pytest

from conftest import all_databases
from snapshots import selectors, services
from snapshots.errors import NotFound, NotRestorable, QuotaExceeded
from snapshots.models import Blob
from snapshots.selectors.storage import history_bytes
from snapshots.services import RestoreRequest

pytestmark = all_databases


def write(tenant, user, path, content: bytes, **kwargs):
    return services.file_write(
        tenant=tenant, path=path, stream=io.BytesIO(content), content_length=len(content), acting_user=user, **kwargs
    )


def test_deleted_folder_comes_back_whole_and_a_taken_name_gets_restored_suffix(make_tenant):
    made = make_tenant(hub="uk")
    write(made.tenant, made.user, "/Team/plan.txt", b"plan")
    write(made.tenant, made.user, "/Team/notes/n1.txt", b"n1")
    deleted = services.node_delete(tenant=made.tenant, path="/Team", acting_user=made.user)
    services.folder_create(tenant=made.tenant, path="/Team", acting_user=made.user)

    page = selectors.trash_items(tenant=made.tenant)
    assert [item.pk for item in page.items] == [deleted.pk]
    assert selectors.trash_original_path(tenant=made.tenant, version=page.items[0]) == "/Team"

    restored = services.trash_restore(tenant=made.tenant, version_id=deleted.pk, acting_user=made.user)
    assert restored.name == "Team (restored)"
    tree = selectors.tree_as_of(tenant=made.tenant)
    assert tree["/Team (restored)/plan.txt"] == hashlib.sha256(b"plan").hexdigest()
    assert "/Team (restored)/notes/n1.txt" in tree
    assert selectors.trash_items(tenant=made.tenant).items == []
    assert selectors.live_usage(tenant=made.tenant).live_files == 2
    with pytest.raises(NotFound):
        services.trash_restore(tenant=made.tenant, version_id=deleted.pk, acting_user=made.user)


def test_trash_of_another_tenant_is_invisible(make_tenant):
    one, two = make_tenant(hub="uk"), make_tenant(hub="uk")
    write(one.tenant, one.user, "/secret", b"s")
    deleted = services.node_delete(tenant=one.tenant, path="/secret", acting_user=one.user)
    assert selectors.trash_items(tenant=two.tenant).items == []
    with pytest.raises(NotFound):
        services.trash_restore(tenant=two.tenant, version_id=deleted.pk, acting_user=two.user)
    assert "/secret" not in selectors.tree_as_of(tenant=two.tenant)


def test_bringing_back_from_recently_deleted_respects_the_quota(make_tenant):
    made = make_tenant(hub="uk")
    deleted = services.node_delete(
        tenant=made.tenant, path=write(made.tenant, made.user, "/big", b"123456") and "/big", acting_user=made.user
    )
    made.tenant.quota_bytes = 10
    made.tenant.save(update_fields=["quota_bytes"])
    write(made.tenant, made.user, "/new", b"12345")
    with pytest.raises(QuotaExceeded):
        services.trash_restore(tenant=made.tenant, version_id=deleted.pk, acting_user=made.user)
    assert "/big" not in selectors.tree_as_of(tenant=made.tenant)


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def test_an_earlier_version_becomes_current_again_without_copying_bytes(make_tenant):
    made = make_tenant()
    first = write(made.tenant, made.user, "/doc.txt", b"first")
    write(made.tenant, made.user, "/doc.txt", b"second")
    versions = selectors.file_versions(tenant=made.tenant, node_id=first.node_id)
    assert [v.size for v in versions] == [6, 5]

    restored = services.version_restore(tenant=made.tenant, version_id=first.pk, acting_user=made.user)
    assert restored.node_id == first.node_id and restored.blob_id == first.blob_id
    assert selectors.tree_as_of(tenant=made.tenant)["/doc.txt"] == sha(b"first")
    assert Blob.objects.for_tenant(made.tenant).count() == 2
    assert len(selectors.file_versions(tenant=made.tenant, node_id=first.node_id)) == 3

    services.node_delete(tenant=made.tenant, path="/doc.txt", acting_user=made.user)
    write(made.tenant, made.user, "/doc.txt", b"a new file of the same name")
    back = services.version_restore(tenant=made.tenant, version_id=first.pk, acting_user=made.user)
    assert back.name == "doc (restored).txt"
    assert selectors.trash_items(tenant=made.tenant).items == []
    assert selectors.live_usage(tenant=made.tenant).live_files == 2

    other = make_tenant()
    with pytest.raises(NotFound):
        services.version_restore(tenant=other.tenant, version_id=first.pk, acting_user=other.user)


def test_a_folder_brought_back_under_a_taken_name_keeps_its_dots(make_tenant):
    made = make_tenant(hub="uk")
    services.folder_create(tenant=made.tenant, path="/v1.2", acting_user=made.user)
    deleted = services.node_delete(tenant=made.tenant, path="/v1.2", acting_user=made.user)
    services.folder_create(tenant=made.tenant, path="/v1.2", acting_user=made.user)
    restored = services.trash_restore(tenant=made.tenant, version_id=deleted.pk, acting_user=made.user)
    assert restored.name == "v1.2 (restored)"


# SECTION: Recently deleted lists only what is deleted now


def restore_job(made, **request):
    job = services.restore_start(tenant=made.tenant, acting_user=made.user, request=RestoreRequest(**request))
    job = services.restore_run(tenant=made.tenant, job_id=job.pk)
    assert job.state == "succeeded", job.error
    return job


def trash_paths(made) -> list[str]:
    items = selectors.trash_items(tenant=made.tenant).items
    return sorted(selectors.trash_original_path(tenant=made.tenant, version=item) for item in items)


def assert_not_restorable_again(made, deleted) -> None:
    tree_before = selectors.tree_as_of(tenant=made.tenant)
    with pytest.raises((NotFound, NotRestorable)):
        services.trash_restore(tenant=made.tenant, version_id=deleted.pk, acting_user=made.user)
    assert selectors.tree_as_of(tenant=made.tenant) == tree_before, "no second copy"


@pytest.mark.parametrize("source", ["snapshot", "moment"])
def test_a_file_a_restore_brought_back_leaves_recently_deleted(make_tenant, source):
    made = make_tenant()
    write(made.tenant, made.user, "/a.txt", b"a")
    snapshot = services.snapshot_create(tenant=made.tenant)
    deleted = services.node_delete(tenant=made.tenant, path="/a.txt", acting_user=made.user)
    assert trash_paths(made) == ["/a.txt"]

    restore_job(made, **({"snapshot_id": snapshot.pk} if source == "snapshot" else {"at": snapshot.taken_at}))

    assert trash_paths(made) == []
    assert_not_restorable_again(made, deleted)
    assert history_bytes(tenant=made.tenant) == 0


@pytest.mark.parametrize("source", ["snapshot", "moment"])
def test_a_folder_a_restore_brought_back_leaves_recently_deleted(make_tenant, source):
    made = make_tenant()
    write(made.tenant, made.user, "/Projects/plan.txt", b"plan")
    write(made.tenant, made.user, "/Projects/deep/spec.txt", b"spec")
    snapshot = services.snapshot_create(tenant=made.tenant)
    deleted = services.node_delete(tenant=made.tenant, path="/Projects", acting_user=made.user)
    assert trash_paths(made) == ["/Projects"]

    restore_job(made, **({"snapshot_id": snapshot.pk} if source == "snapshot" else {"at": snapshot.taken_at}))

    assert trash_paths(made) == []
    assert_not_restorable_again(made, deleted)
    assert sorted(selectors.tree_as_of(tenant=made.tenant)) == [
        "/Projects",
        "/Projects/deep",
        "/Projects/deep/spec.txt",
        "/Projects/plan.txt",
    ]
    assert history_bytes(tenant=made.tenant) == 0, "nothing is kept only by history: it is all live again"
    usage = selectors.live_usage(tenant=made.tenant)
    assert (usage.live_files, usage.live_bytes) == (2, 8)


def test_a_file_overwritten_with_its_deleted_self_leaves_recently_deleted(make_tenant):
    made = make_tenant()
    write(made.tenant, made.user, "/a.txt", b"then")
    snapshot = services.snapshot_create(tenant=made.tenant)
    deleted = services.node_delete(tenant=made.tenant, path="/a.txt", acting_user=made.user)
    write(made.tenant, made.user, "/a.txt", b"a new file of that name")

    restore_job(made, snapshot_id=snapshot.pk, conflict="overwrite")

    assert selectors.tree_as_of(tenant=made.tenant)["/a.txt"] == hashlib.sha256(b"then").hexdigest()
    assert trash_paths(made) == []
    assert_not_restorable_again(made, deleted)


def test_what_a_restore_did_not_bring_back_stays_in_recently_deleted_without_what_it_did(make_tenant):
    made = make_tenant()
    write(made.tenant, made.user, "/Projects/plan.txt", b"plan")
    write(made.tenant, made.user, "/Projects/deep/spec.txt", b"spec")
    snapshot = services.snapshot_create(tenant=made.tenant)
    deleted = services.node_delete(tenant=made.tenant, path="/Projects", acting_user=made.user)

    restore_job(made, snapshot_id=snapshot.pk, paths=["/Projects/plan.txt"])

    assert trash_paths(made) == ["/Projects"], "the folder and spec.txt are still deleted"
    assert history_bytes(tenant=made.tenant) == len(b"spec")
    services.trash_restore(tenant=made.tenant, version_id=deleted.pk, acting_user=made.user)
    tree = selectors.tree_as_of(tenant=made.tenant)
    assert sorted(tree) == ["/Projects", "/Projects (restored)", "/Projects (restored)/deep"] + [
        "/Projects (restored)/deep/spec.txt",
        "/Projects/plan.txt",
    ], "plan.txt is not brought back twice"
    assert selectors.live_usage(tenant=made.tenant).live_files == 2


def test_what_a_folder_held_beyond_the_snapshot_is_deleted_now_and_listed_on_its_own(make_tenant):
    made = make_tenant()
    write(made.tenant, made.user, "/Projects/plan.txt", b"plan")
    snapshot = services.snapshot_create(tenant=made.tenant)
    write(made.tenant, made.user, "/Projects/later.txt", b"written after the snapshot")
    services.node_delete(tenant=made.tenant, path="/Projects", acting_user=made.user)

    restore_job(made, snapshot_id=snapshot.pk)

    assert sorted(selectors.tree_as_of(tenant=made.tenant)) == ["/Projects", "/Projects/plan.txt"]
    assert trash_paths(made) == ["/Projects/later.txt"]
    [later] = selectors.trash_items(tenant=made.tenant).items
    services.trash_restore(tenant=made.tenant, version_id=later.pk, acting_user=made.user)
    assert sorted(selectors.tree_as_of(tenant=made.tenant)) == [
        "/Projects",
        "/Projects/later.txt",
        "/Projects/plan.txt",
    ]
    assert trash_paths(made) == [] and history_bytes(tenant=made.tenant) == 0


def test_a_deleted_folder_the_restore_skipped_stays_in_recently_deleted(make_tenant):
    made = make_tenant()
    write(made.tenant, made.user, "/Projects/plan.txt", b"plan")
    snapshot = services.snapshot_create(tenant=made.tenant)
    services.node_delete(tenant=made.tenant, path="/Projects", acting_user=made.user)
    write(made.tenant, made.user, "/Projects", b"a file has the name now")

    restore_job(made, snapshot_id=snapshot.pk, conflict="skip")

    assert trash_paths(made) == ["/Projects"]
    assert history_bytes(tenant=made.tenant) == len(b"plan")


def test_a_folder_brought_back_from_inside_a_deleted_folder_leaves_it(make_tenant):
    made = make_tenant()
    write(made.tenant, made.user, "/A/D/f.txt", b"f")
    write(made.tenant, made.user, "/A/g.txt", b"gg")
    snapshot = services.snapshot_create(tenant=made.tenant)
    write(made.tenant, made.user, "/A/D/later.txt", b"later")
    deleted = services.node_delete(tenant=made.tenant, path="/A", acting_user=made.user)

    restore_job(made, snapshot_id=snapshot.pk, paths=["/A/D"])

    assert sorted(selectors.tree_as_of(tenant=made.tenant)) == ["/A", "/A/D", "/A/D/f.txt"]
    assert trash_paths(made) == ["/A", "/A/D/later.txt"]
    assert history_bytes(tenant=made.tenant) == len(b"gg") + len(b"later")
    services.trash_restore(tenant=made.tenant, version_id=deleted.pk, acting_user=made.user)
    assert sorted(p for p in selectors.tree_as_of(tenant=made.tenant) if p.startswith("/A (restored)")) == [
        "/A (restored)",
        "/A (restored)/g.txt",
    ], "D came back already: /A brings back only the rest"
    assert selectors.live_usage(tenant=made.tenant).live_files == 2
