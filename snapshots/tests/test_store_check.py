"""store_check: a clean store passes; each kind of breakage, made directly in
the real database and the real facility folders, is found and named by ids;
random operation sequences through the services leave the store clean."""

from __future__ import annotations

import io
import json
import os
import time
import unicodedata
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import all_databases
from hubs.models import Facility
from hubs.storage import facility_storage
from snapshots import selectors, services
from snapshots.blobs import spool_directory, temporary_claim
from snapshots.errors import StoreError
from snapshots.models import Blob, Change, Node, NodeVersion, TenantClock
from snapshots.store_check import store_check, store_check_hubs

pytestmark = all_databases

SECRET_NAME = "Merger plans"


def write(made, path: str, content: bytes):
    return services.file_write(
        tenant=made.tenant, path=path, stream=io.BytesIO(content), content_length=len(content), acting_user=made.user
    )


def copy_of(hub: str, role: str, blob: Blob) -> Path:
    return Path(facility_storage(hub, role).path(blob.storage_key))


@pytest.fixture
def store(make_tenant):
    made = make_tenant(hub="de")
    write(made, f"/{SECRET_NAME}/a.txt", b"first file")
    report = write(made, f"/{SECRET_NAME}/deep/report.pdf", b"a report of some length")
    write(made, "/gone/old.txt", b"deleted later")
    services.node_delete(tenant=made.tenant, path="/gone", acting_user=made.user)
    write(made, "/top.txt", b"version one")
    write(made, "/top.txt", b"version two, longer")
    return SimpleNamespace(tenant=made.tenant, user=made.user, report=report)


def check(store, **options):
    return store_check(hub_code="de", tenant_id=store.tenant.pk, **options)


def kinds(result) -> list[str]:
    return sorted(problem["kind"] for problem in result.problems)


def test_a_clean_store_passes_and_counts_what_it_checked(store):
    result = check(store)
    assert result.ok, result.problems
    assert (result.tenants, result.files) == (1, 4)  # old.txt keeps its open row inside the deleted folder
    assert result.checked_blobs == 5  # both versions of top.txt: history can be brought back


def test_the_queries_do_not_grow_with_the_files(store):
    """Set-based: a tenant costs the same few queries whatever its size (100,000
    files checked in 0.9 s without hashing on SQLite, 2.1 s with it)."""

    def queries() -> int:
        with CaptureQueriesContext(connections["hub_de"]) as captured:
            assert check(store).ok
        return len(captured)

    before = queries()
    for i in range(30):
        write(store, f"/more/f{i}.txt", f"more {i}".encode())
    assert queries() == before


def test_a_counter_row_edited_is_found(store):
    root_id = TenantClock.objects.for_tenant(store.tenant).get().root_id
    Node.objects.for_tenant(store.tenant).filter(pk=root_id).update(subtree_bytes=F("subtree_bytes") + 1)
    result = check(store)
    [problem] = result.problems
    assert problem["kind"] == "counters" and problem["node"] == root_id
    assert problem["stored"][1] == problem["recount"][1] + 1


def test_a_deleted_folders_counters_are_checked_too(store):
    [gone] = NodeVersion.objects.for_tenant(store.tenant).filter(in_trash=True, kind="folder")
    Node.objects.for_tenant(store.tenant).filter(pk=gone.node_id).update(subtree_files=7)
    assert [(p["kind"], p["node"]) for p in check(store).problems] == [("counters", gone.node_id)]


@pytest.mark.parametrize("role", ["primary", "alternate"])
def test_a_copy_deleted_in_one_facility_is_found(store, role):
    copy_of("de", role, store.report.blob).unlink()
    [problem] = check(store).problems
    assert problem == {
        "kind": "blob_missing", "hub": "de", "tenant": store.tenant.pk, "blob": store.report.blob.pk, "facility": role,
    }  # fmt: skip


def test_a_corrupt_copy_of_the_same_size_is_found_by_hashing_only(store):
    copy = copy_of("de", "alternate", store.report.blob)
    copy.write_bytes(b"X" * copy.stat().st_size)
    assert kinds(check(store)) == ["blob_corrupt"]
    assert check(store, hash_blobs=False).ok, "--no-hash checks presence and size only"
    copy.write_bytes(b"truncated")
    assert kinds(check(store, hash_blobs=False)) == ["blob_size"]


def test_a_blob_waiting_for_replication_needs_one_good_copy_only(store):
    copy_of("de", "alternate", store.report.blob).unlink()
    Blob.objects.for_tenant(store.tenant).filter(pk=store.report.blob.pk).update(needs_replication=True)
    assert check(store).ok, "listed in the replication backlog"
    copy_of("de", "primary", store.report.blob).unlink()
    assert kinds(check(store)) == ["blob_not_replicated"]


def test_an_unavailable_facility_is_skipped_and_said_so(store):
    copy_of("de", "alternate", store.report.blob).unlink()
    Facility.objects.filter(hub_id="de", role="alternate").update(is_available=False)
    result = check(store)
    assert result.ok and result.skipped_facilities == ["de/alternate"]


def test_a_duplicate_live_name_forced_by_a_raw_update_is_found(store):
    # The same name in another Unicode normal form slips past the unique index,
    # but the store compares names in NFC: to it, they are one name.
    decomposed = unicodedata.normalize("NFD", "résumé.txt")
    write(store, "/résumé.txt", b"one")
    other = write(store, "/other.txt", b"two")
    NodeVersion.objects.for_tenant(store.tenant).filter(pk=other.pk).update(name=decomposed)
    [problem] = check(store).problems
    assert problem["kind"] == "duplicate_name" and other.node_id in problem["nodes"] and len(problem["nodes"]) == 2


def test_names_differing_in_case_are_not_duplicates(store):
    write(store, "/Case.txt", b"one")
    write(store, "/case.txt", b"two")
    assert check(store).ok


def test_a_clock_set_back_is_found(store):
    TenantClock.objects.for_tenant(store.tenant).update(seq=F("seq") - 1)
    [problem] = check(store).problems
    assert problem["kind"] == "clock_behind" and set(problem["ahead"]) >= {"changes", "opened"}


def test_a_step_whose_wall_time_goes_back_is_found(store):
    last = Change.objects.for_tenant(store.tenant).order_by("-seq").first()
    first = Change.objects.for_tenant(store.tenant).order_by("seq").first()
    Change.objects.for_tenant(store.tenant).filter(seq=last.seq).update(at=first.at.replace(year=2000))
    [problem] = check(store).problems
    assert problem["kind"] == "clock_backwards" and problem["seqs"] == [last.seq]


def test_an_empty_interval_and_a_version_of_the_wrong_size_are_found(store):
    NodeVersion.objects.for_tenant(store.tenant).filter(pk=store.report.pk).update(size=1)
    closed = NodeVersion.objects.for_tenant(store.tenant).filter(valid_to__isnull=False).first()
    NodeVersion.objects.for_tenant(store.tenant).filter(pk=closed.pk).update(valid_to=closed.valid_from)
    assert {"version_size", "empty_interval", "counters"} <= set(kinds(check(store)))


def test_an_orphan_temporary_older_than_the_grace_is_found(store):
    tmp = Path(facility_storage("de", "primary").path("tmp"))
    tmp.mkdir(parents=True, exist_ok=True)
    orphan = tmp / "upload-left-by-a-dead-process"
    orphan.write_bytes(b"half")
    assert check(store).ok, "a fresh temporary belongs to an upload in progress"
    an_hour_and_more = time.time() - 3700
    os.utime(orphan, (an_hour_and_more, an_hour_and_more))
    [problem] = check(store).problems
    assert problem == {"kind": "orphan_temporary", "hub": "de", "facility": "primary", "count": 1}
    left = spool_directory() / "upload-left-in-the-spool"
    left.write_bytes(b"half")
    os.utime(left, (an_hour_and_more, an_hour_and_more))
    try:
        every_hub = store_check_hubs(hash_blobs=False)
        assert sorted(p["facility"] for p in every_hub.problems if p["kind"] == "orphan_temporary") == [
            "primary",
            "spool",
        ]
        assert sum(1 for p in every_hub.problems if p.get("facility") == "spool") == 1, "the spool once, not per hub"
    finally:
        left.unlink()


def test_an_old_temporary_an_upload_still_holds_is_not_an_orphan(store):
    tmp = Path(facility_storage("de", "primary").path("tmp"))
    held, descriptor = temporary_claim(tmp, "upload-")
    an_hour_and_more = time.time() - 3700
    os.utime(held, (an_hour_and_more, an_hour_and_more))
    try:
        assert check(store).ok, "a slow upload's temporary is work in progress, not an orphan"
    finally:
        os.close(descriptor)
    [problem] = check(store).problems
    assert problem["kind"] == "orphan_temporary", "once its holder lets go, the old temporary is an orphan"
    held.unlink()


def test_the_command_prints_json_never_names_and_exits_1_when_not_ok(store, capsys):
    call_command("store_check", "--hub", "de", "--tenant", str(store.tenant.pk), "--json")
    figures = json.loads(capsys.readouterr().out)
    assert {"ok", "tenants", "files", "checked_blobs", "problems", "seconds"} <= set(figures)
    assert figures["ok"] is True and figures["files"] == 4
    copy_of("de", "primary", store.report.blob).unlink()
    Node.objects.for_tenant(store.tenant).update(subtree_files=99)
    with pytest.raises(CommandError) as failed:
        call_command("store_check", "--tenant", str(store.tenant.pk), "--json", "--no-hash")
    assert failed.value.returncode == 1
    output = capsys.readouterr().out
    assert json.loads(output)["ok"] is False
    assert SECRET_NAME not in output and "report" not in output
    with pytest.raises(CommandError, match="No tenant"):
        call_command("store_check", "--tenant", "987654321")


PATHS = st.sampled_from(["/a", "/b", "/a/x.txt", "/a/y", "/a/y/z.txt", "/b/x.txt", "/Ünï.txt", "/c.txt"])
CONTENTS = st.sampled_from([b"", b"one", b"two", b"three" * 50])
OPERATIONS = st.one_of(
    st.tuples(st.just("write"), PATHS, CONTENTS),
    st.tuples(st.just("mkdir"), PATHS),
    st.tuples(st.just("rename"), PATHS, st.sampled_from(["r", "s.txt", "a"])),
    st.tuples(st.just("move"), PATHS, PATHS),
    st.tuples(st.just("delete"), PATHS),
    st.tuples(st.just("undelete"), st.integers(0, 9)),
    st.tuples(st.just("restore_version"), st.integers(0, 50)),
    st.tuples(st.just("snapshot_restore"), st.integers(0, 9), st.sampled_from(["rename", "overwrite", "skip"])),
    st.tuples(st.just("purge"), PATHS),
)


def apply(made, operation) -> None:
    tenant, user = made.tenant, made.user
    kind = operation[0]
    if kind == "write":
        write(made, operation[1], operation[2])
    elif kind == "mkdir":
        services.folder_create(tenant=tenant, path=operation[1], acting_user=user)
    elif kind == "rename":
        services.node_rename(tenant=tenant, path=operation[1], new_name=operation[2], acting_user=user)
    elif kind == "move":
        services.node_move(tenant=tenant, from_path=operation[1], to_path=operation[2], acting_user=user)
    elif kind == "delete":
        services.node_delete(tenant=tenant, path=operation[1], acting_user=user)
    elif kind == "undelete":
        deleted = list(NodeVersion.objects.for_tenant(tenant).filter(in_trash=True).order_by("pk"))
        if deleted:
            services.trash_restore(tenant=tenant, version_id=deleted[operation[1] % len(deleted)].pk, acting_user=user)
    elif kind == "restore_version":
        earlier = list(
            NodeVersion.objects.for_tenant(tenant).filter(kind="file", valid_to__isnull=False).order_by("pk")
        )
        if earlier:
            version = earlier[operation[1] % len(earlier)]
            services.version_restore(tenant=tenant, version_id=version.pk, acting_user=user)
    elif kind == "snapshot_restore":
        seq = selectors.clock_now(tenant=tenant)
        moment = Change.objects.for_tenant(tenant).filter(seq=max(1, seq - operation[1])).first()
        if moment is None:
            return
        request = services.RestoreRequest(at=moment.at, conflict=operation[2])
        job = services.restore_start(tenant=tenant, request=request, acting_user=user)
        services.restore_run(tenant=tenant, job_id=job.pk)  # in this thread: the test's data is not committed
    elif kind == "purge":
        services.node_purge(tenant=tenant, path=operation[1], acting_user=user, reason="hypothesis")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(operations=st.lists(OPERATIONS, min_size=1, max_size=25))
def test_random_operation_sequences_through_the_services_leave_the_store_clean(operations, make_tenant):
    made = make_tenant(hub="uk")
    for operation in operations:
        try:
            apply(made, operation)
        except StoreError:
            pass  # a refusal (name taken, not found, ...) changes nothing
        result = store_check(hub_code="uk", tenant_id=made.tenant.pk)
        assert result.ok, (operation, result.problems)
