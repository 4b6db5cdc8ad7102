"""Purging an item from all history (support)."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from conftest import all_databases
from hubs.storage import facility_storage
from snapshots import selectors, services
from snapshots.errors import (
    InvalidPath,
    NotFound,
)
from snapshots.models import Blob, Change

pytestmark = all_databases


def write(tenant, user, path, content: bytes, **kwargs):
    return services.file_write(
        tenant=tenant, path=path, stream=io.BytesIO(content), content_length=len(content), acting_user=user, **kwargs
    )


def facility_files(hub: str, role: str) -> list[Path]:
    root = Path(facility_storage(hub, role).location)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_purge_removes_an_item_from_all_history_and_its_bytes_at_once(make_tenant):
    from snapshots import services

    made = make_tenant(hub="uk")
    write(made.tenant, made.user, "/keep.txt", b"shared bytes")
    write(made.tenant, made.user, "/Secret/passwords.txt", b"hunter2")
    write(made.tenant, made.user, "/Secret/passwords.txt", b"hunter3")
    write(made.tenant, made.user, "/Secret/copy.txt", b"shared bytes")
    snapshot = services.snapshot_create(tenant=made.tenant)

    result = services.node_purge(
        tenant=made.tenant, path="/Secret", acting_user=made.user, reason="Customer uploaded passwords by mistake"
    )

    assert result.versions == 4 and result.blobs == 2  # the shared blob stays: /keep.txt uses it
    assert selectors.tree_as_of(tenant=made.tenant) == {"/keep.txt": hashlib.sha256(b"shared bytes").hexdigest()}
    assert selectors.tree_as_of(tenant=made.tenant, seq=snapshot.seq) == selectors.tree_as_of(tenant=made.tenant)
    assert selectors.live_usage(tenant=made.tenant).live_bytes == len(b"shared bytes")
    remaining = {p.read_bytes() for role in ("primary", "alternate") for p in facility_files("uk", role)}
    assert remaining == {b"shared bytes"}
    log = [(c.action, c.path) for c in selectors.activity(tenant=made.tenant).items]
    assert not any("passwords" in path for _, path in log)
    purge = Change.objects.for_tenant(made.tenant).get(pk=result.change_id)
    assert (purge.action, purge.path, purge.by_support) == (Change.Action.PURGE, "/Secret", True)
    assert purge.detail == "Customer uploaded passwords by mistake"


def test_purge_finds_a_deleted_item_and_needs_a_reason(make_tenant):
    made = make_tenant(hub="uk")
    write(made.tenant, made.user, "/gone.txt", b"x")
    services.node_delete(tenant=made.tenant, path="/gone.txt", acting_user=made.user)
    with pytest.raises(InvalidPath, match="reason"):
        services.node_purge(tenant=made.tenant, path="/gone.txt", acting_user=made.user, reason="  ")
    services.node_purge(tenant=made.tenant, path="/gone.txt", acting_user=made.user, reason="erasure request")
    assert selectors.trash_items(tenant=made.tenant).items == []
    assert Blob.objects.for_tenant(made.tenant).count() == 0
    with pytest.raises(NotFound):
        services.node_purge(tenant=made.tenant, path="/gone.txt", acting_user=made.user, reason="again")


def test_purging_a_folder_takes_what_was_deleted_from_it_but_not_what_moved_out(make_tenant):
    made = make_tenant(hub="uk")
    write(made.tenant, made.user, "/secret/passwords.txt", b"hunter2")
    write(made.tenant, made.user, "/secret/moved.txt", b"moved out")
    services.node_delete(tenant=made.tenant, path="/secret/passwords.txt", acting_user=made.user)
    services.node_move(tenant=made.tenant, from_path="/secret/moved.txt", to_path="/moved.txt", acting_user=made.user)

    result = services.node_purge(tenant=made.tenant, path="/secret", acting_user=made.user, reason="erasure")

    assert result.blobs == 1
    remaining = {p.read_bytes() for role in ("primary", "alternate") for p in facility_files("uk", role)}
    assert remaining == {b"moved out"}
    assert selectors.tree_as_of(tenant=made.tenant) == {"/moved.txt": hashlib.sha256(b"moved out").hexdigest()}
    paths = [c.path for c in Change.objects.for_tenant(made.tenant).exclude(action=Change.Action.PURGE)]
    assert not any("passwords" in p for p in paths)
    assert "/moved.txt" in paths
