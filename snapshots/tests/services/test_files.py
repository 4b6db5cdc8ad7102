"""Files and folders through the services: bytes in both facilities of the hub,
refusals that store nothing, folder operations that write O(1) rows."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from django.conf import settings

from conftest import all_databases
from hubs.models import Facility, Hub
from hubs.storage import facility_storage
from snapshots import selectors, services
from snapshots.errors import (
    FacilityUnavailable,
    FileTooLarge,
    IncompleteUpload,
    InvalidMove,
    InvalidPath,
    NameConflict,
    NotFound,
    PreconditionFailed,
    QuotaExceeded,
    WrongKind,
)
from snapshots.models import Blob, Change, NodeVersion

pytestmark = all_databases


def write(tenant, user, path, content: bytes, **kwargs):
    return services.file_write(
        tenant=tenant, path=path, stream=io.BytesIO(content), content_length=len(content), acting_user=user, **kwargs
    )


def facility_files(hub: str, role: str) -> list[Path]:
    root = Path(facility_storage(hub, role).location)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def spool_files() -> list[Path]:
    return list((Path(settings.DATA_DIR) / "tmp" / "uploads").glob("*"))


def test_upload_stores_bytes_once_per_facility_of_the_tenants_hub_only(make_tenant):
    made = make_tenant(hub="de")
    version = write(made.tenant, made.user, "/Reports/q1.pdf", b"quarter one")
    sha = hashlib.sha256(b"quarter one").hexdigest()

    assert version.blob.sha256 == sha
    for role in ("primary", "alternate"):
        files = facility_files("de", role)
        assert [p.name.split(".")[0] for p in files] == [sha], role
        assert files[0].read_bytes() == b"quarter one"
        assert f"t{made.tenant.pk}" in str(files[0]), "keys carry the tenant id, never a file name"
    for code in settings.HUB_CODES:
        if code != "de":
            assert facility_files(code, "primary") == [] and facility_files(code, "alternate") == []
    assert spool_files() == [], "the spooled upload is removed"


def test_same_content_is_deduplicated_within_a_tenant_but_never_across_tenants(make_tenant):
    one, two = make_tenant(hub="uk"), make_tenant(hub="uk")
    write(one.tenant, one.user, "/a.txt", b"same bytes")
    write(one.tenant, one.user, "/b.txt", b"same bytes")
    write(two.tenant, two.user, "/a.txt", b"same bytes")
    assert Blob.objects.for_tenant(one.tenant).count() == 1
    assert Blob.objects.for_tenant(two.tenant).count() == 1
    assert len(facility_files("uk", "primary")) == 2, "one object per tenant, under each tenant's own prefix"


def test_alternate_facility_down_still_stores_and_marks_for_re_replication(make_tenant, caplog):
    made = make_tenant(hub="hk")
    Facility.objects.filter(hub_id="hk", role="alternate").update(is_available=False)
    version = write(made.tenant, made.user, "/x.bin", b"payload")
    assert version.blob.needs_replication is True
    assert len(facility_files("hk", "primary")) == 1
    assert facility_files("hk", "alternate") == []
    assert "needs re-replication" in caplog.text
    assert "x.bin" not in caplog.text, "logs carry ids, never file names"


def test_alternate_facility_failing_on_write_marks_for_re_replication(make_tenant, settings):
    made = make_tenant(hub="hk")
    blocker = Path(facility_storage("hk", "alternate").location)
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_bytes(b"a file where the facility's folder should be")  # every write there fails
    version = write(made.tenant, made.user, "/x.bin", b"payload")
    assert version.blob.needs_replication is True


def test_primary_facility_down_refuses_with_503_and_stores_nothing(make_tenant):
    made = make_tenant(hub="au")
    before = selectors.clock_now(tenant=made.tenant)
    blocker = Path(facility_storage("au", "primary").location)
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_bytes(b"not a folder")
    with pytest.raises(FacilityUnavailable) as raised:
        write(made.tenant, made.user, "/x.bin", b"payload")
    assert raised.value.code == "storage_unavailable"  # answered 503 by the edges (portal.problems)
    assert selectors.clock_now(tenant=made.tenant) == before
    assert Blob.objects.for_tenant(made.tenant).count() == 0
    assert facility_files("au", "alternate") == []
    assert spool_files() == []


def test_writes_follow_a_failed_over_hub(make_tenant):
    made = make_tenant(hub="nz")
    Hub.objects.filter(code="nz").update(serving_facility="alternate")
    Facility.objects.filter(hub_id="nz", role="primary").update(is_available=False)
    version = write(made.tenant, made.user, "/x.bin", b"payload")
    assert len(facility_files("nz", "alternate")) == 1
    assert version.blob.needs_replication is True
    with services_open(made, version) as handle:
        assert handle.read() == b"payload"


def services_open(made, version):
    from snapshots.blobs import blob_open

    return blob_open(tenant=made.tenant, blob=version.blob)


def test_file_too_large_is_refused_before_reading_the_body(make_tenant):
    made = make_tenant(hub="uk")
    made.tenant.max_file_bytes = 10
    made.tenant.save(update_fields=["max_file_bytes"])

    class Unreadable(io.RawIOBase):
        def read(self, size=-1):  # pragma: no cover - must never be called
            raise AssertionError("the body must not be read")

    with pytest.raises(FileTooLarge, match="limit of|limit is"):
        services.file_write(tenant=made.tenant, path="/big", stream=Unreadable(), content_length=11, acting_user=None)
    # Without a length the limit is enforced while streaming.
    with pytest.raises(FileTooLarge):
        services.file_write(
            tenant=made.tenant, path="/big", stream=io.BytesIO(b"x" * 11), content_length=None, acting_user=None
        )
    assert selectors.tree_as_of(tenant=made.tenant) == {}
    assert spool_files() == []


def test_quota_counts_live_bytes_and_refuses_what_does_not_fit(make_tenant):
    made = make_tenant(hub="uk")
    made.tenant.quota_bytes = 10
    made.tenant.save(update_fields=["quota_bytes"])
    write(made.tenant, made.user, "/a", b"123456")
    with pytest.raises(QuotaExceeded, match="only 4 bytes of your quota of 10 bytes are free"):
        write(made.tenant, made.user, "/b", b"12345")
    write(made.tenant, made.user, "/a", b"1234567890")  # replacing counts only the difference
    services.node_delete(tenant=made.tenant, path="/a", acting_user=made.user)
    write(made.tenant, made.user, "/b", b"12345")  # deleted files do not count against the quota
    assert selectors.live_usage(tenant=made.tenant).live_bytes == 5


def test_a_client_that_goes_away_mid_upload_leaves_nothing(make_tenant):
    made = make_tenant(hub="uk")
    with pytest.raises(IncompleteUpload):
        services.file_write(
            tenant=made.tenant, path="/half", stream=io.BytesIO(b"abc"), content_length=1000, acting_user=made.user
        )
    assert selectors.tree_as_of(tenant=made.tenant) == {}
    assert spool_files() == []
    assert facility_files("uk", "primary") == []


def test_if_match_guards_against_lost_updates(make_tenant):
    made = make_tenant(hub="uk")
    first = write(made.tenant, made.user, "/doc", b"v1")
    write(made.tenant, made.user, "/doc", b"v2", if_match=first.blob.sha256)
    with pytest.raises(PreconditionFailed):
        write(made.tenant, made.user, "/doc", b"v3", if_match=first.blob.sha256)
    assert selectors.tree_as_of(tenant=made.tenant)["/doc"] == hashlib.sha256(b"v2").hexdigest()


@pytest.mark.parametrize(
    "bad_path",
    ["relative", "/a//b", "/a/./b", "/a/../b", "/..", "/a\x00b", "/a\x07b", "/" + "x" * 256, "/" + "é" * 128, ""],
)
def test_bad_paths_are_refused_and_change_nothing(make_tenant, bad_path):
    made = make_tenant(hub="uk")
    before = selectors.clock_now(tenant=made.tenant)
    with pytest.raises(InvalidPath):
        write(made.tenant, made.user, bad_path, b"x")
    with pytest.raises(InvalidPath):
        services.folder_create(tenant=made.tenant, path=bad_path, acting_user=made.user)
    assert selectors.clock_now(tenant=made.tenant) == before


def test_bad_names_in_rename_are_refused(make_tenant):
    made = make_tenant(hub="uk")
    write(made.tenant, made.user, "/a", b"x")
    for name in ["x/y", "..", ".", "", "a\x00", "n" * 256]:
        with pytest.raises(InvalidPath):
            services.node_rename(tenant=made.tenant, path="/a", new_name=name, acting_user=made.user)
    assert list(selectors.tree_as_of(tenant=made.tenant)) == ["/a"]


def test_wrong_kinds_and_conflicts(make_tenant):
    made = make_tenant(hub="uk")
    services.folder_create(tenant=made.tenant, path="/F/G", acting_user=made.user)
    write(made.tenant, made.user, "/file", b"x")
    with pytest.raises(WrongKind):
        write(made.tenant, made.user, "/F", b"x")
    with pytest.raises(WrongKind):
        write(made.tenant, made.user, "/file/inside", b"x")
    with pytest.raises(NameConflict):
        services.folder_create(tenant=made.tenant, path="/F", acting_user=made.user)
    with pytest.raises(NameConflict):
        services.node_move(tenant=made.tenant, from_path="/file", to_path="/F", acting_user=made.user)
    with pytest.raises(InvalidMove):
        services.node_move(tenant=made.tenant, from_path="/F", to_path="/F/G/F", acting_user=made.user)
    with pytest.raises(NotFound):
        services.node_move(tenant=made.tenant, from_path="/F", to_path="/nowhere/F", acting_user=made.user)
    with pytest.raises(InvalidPath):
        services.node_delete(tenant=made.tenant, path="/", acting_user=made.user)


def test_on_conflict_fail_refuses_a_taken_name_before_reading_the_body(make_tenant):
    made = make_tenant()
    write(made.tenant, made.user, "/a.txt", b"one")
    clock = selectors.clock_now(tenant=made.tenant)

    class Unread(io.BytesIO):
        def read(self, *args, **kwargs):
            raise AssertionError("the body was read")

    with pytest.raises(NameConflict) as refused:
        services.file_write(
            tenant=made.tenant,
            path="/a.txt",
            stream=Unread(b"two"),
            content_length=3,
            acting_user=made.user,
            on_conflict=services.OnConflict.FAIL,
        )
    assert refused.value.code == "name_taken"
    assert selectors.clock_now(tenant=made.tenant) == clock
    assert selectors.tree_as_of(tenant=made.tenant) == {"/a.txt": hashlib.sha256(b"one").hexdigest()}
    # A free name writes as ever.
    assert write(made.tenant, made.user, "/b.txt", b"two", on_conflict=services.OnConflict.FAIL).name == "b.txt"


def test_on_conflict_keep_both_numbers_the_new_file_and_keeps_the_old(make_tenant):
    made = make_tenant()
    write(made.tenant, made.user, "/d/a.txt", b"one")
    second = write(made.tenant, made.user, "/d/a.txt", b"two", on_conflict=services.OnConflict.KEEP_BOTH)
    # Same bytes as the file there: still a second file, because the person asked for both.
    third = write(made.tenant, made.user, "/d/a.txt", b"one", on_conflict=services.OnConflict.KEEP_BOTH)
    again = write(made.tenant, made.user, "/d/a (2).txt", b"four", on_conflict=services.OnConflict.KEEP_BOTH)

    assert (second.name, third.name, again.name) == ("a (2).txt", "a (3).txt", "a (4).txt")
    sha = {content: hashlib.sha256(content).hexdigest() for content in (b"one", b"two", b"four")}
    assert selectors.tree_as_of(tenant=made.tenant) == {
        "/d": None,
        "/d/a.txt": sha[b"one"],
        "/d/a (2).txt": sha[b"two"],
        "/d/a (3).txt": sha[b"one"],
        "/d/a (4).txt": sha[b"four"],
    }
    creates = Change.objects.for_tenant(made.tenant).filter(action=Change.Action.CREATE).count()
    assert creates == 4
    assert selectors.live_usage(tenant=made.tenant).live_files == 4


def test_on_conflict_keep_both_on_a_free_name_takes_the_name(make_tenant):
    made = make_tenant()
    version = write(made.tenant, made.user, "/new.txt", b"x", on_conflict=services.OnConflict.KEEP_BOTH)
    assert version.name == "new.txt"


def test_on_conflict_never_lets_a_file_replace_a_folder(make_tenant):
    made = make_tenant()
    services.folder_create(tenant=made.tenant, path="/x", acting_user=made.user)
    for mode in services.OnConflict:
        with pytest.raises(WrongKind):
            write(made.tenant, made.user, "/x", b"x", on_conflict=mode)


def test_live_names_taken_answers_for_one_folder(make_tenant):
    made = make_tenant()
    write(made.tenant, made.user, "/d/a.txt", b"one")
    services.folder_create(tenant=made.tenant, path="/d/sub", acting_user=made.user)
    write(made.tenant, made.user, "/b.txt", b"one")
    taken = selectors.live_names_taken(tenant=made.tenant, folder="/d", names=["a.txt", "b.txt", "sub", "zz"])
    assert taken == {"a.txt": "file", "sub": "folder"}
    assert selectors.live_names_taken(tenant=made.tenant, folder="/missing", names=["a.txt"]) == {}
    assert selectors.live_names_taken(tenant=made.tenant, folder="/b.txt", names=["a.txt"]) == {}


def test_folder_rename_move_delete_write_one_version_row_whatever_the_size(make_tenant):
    made = make_tenant(hub="uk")
    for i in range(30):
        write(made.tenant, made.user, f"/Big/sub{i % 3}/f{i}", f"{i}".encode())
    services.folder_create(tenant=made.tenant, path="/Archive", acting_user=made.user)
    # A rename or move closes one row and opens one; a delete only closes one.
    for operation, new_rows in (
        (lambda: services.node_rename(tenant=made.tenant, path="/Big", new_name="Huge", acting_user=made.user), 1),
        (
            lambda: services.node_move(
                tenant=made.tenant, from_path="/Huge", to_path="/Archive/Huge", acting_user=made.user
            ),
            1,
        ),
        (lambda: services.node_delete(tenant=made.tenant, path="/Archive/Huge", acting_user=made.user), 0),
    ):
        before = NodeVersion.objects.for_tenant(made.tenant).count()
        operation()
        assert NodeVersion.objects.for_tenant(made.tenant).count() == before + new_rows
    assert selectors.live_usage(tenant=made.tenant).live_files == 0
    assert [p for p in selectors.tree_as_of(tenant=made.tenant)] == ["/Archive"]


def test_every_change_is_in_the_activity_log_with_its_actor(make_tenant):
    made = make_tenant(hub="uk")
    write(made.tenant, made.user, "/a/b.txt", b"x")
    services.node_rename(tenant=made.tenant, path="/a/b.txt", new_name="c.txt", acting_user=made.user)
    actions = [(c.action, c.path, c.previous_path) for c in selectors.activity(tenant=made.tenant).items]
    assert actions[:3] == [
        (Change.Action.RENAME, "/a/c.txt", "/a/b.txt"),
        (Change.Action.CREATE, "/a/b.txt", ""),
        (Change.Action.MKDIR, "/a", ""),
    ]
    assert {c.actor_label for c in selectors.activity(tenant=made.tenant).items[:3]} == {made.user.email}


def test_as_of_reads_the_past_after_overwrite_and_delete(make_tenant):
    made = make_tenant(hub="uk")
    write(made.tenant, made.user, "/doc", b"v1")
    seq_v1 = selectors.clock_now(tenant=made.tenant)
    write(made.tenant, made.user, "/doc", b"v2")
    services.node_delete(tenant=made.tenant, path="/doc", acting_user=made.user)
    old = selectors.node_at_path(tenant=made.tenant, path="/doc", seq=seq_v1)
    with services_open(made, old) as handle:
        assert handle.read() == b"v1"
    with pytest.raises(NotFound):
        selectors.node_at_path(tenant=made.tenant, path="/doc")
