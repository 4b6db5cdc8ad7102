"""Bringing back one item: from Recently deleted, or an earlier version of a file."""

from __future__ import annotations

import hashlib
import io

import pytest

from conftest import all_databases
from snapshots import selectors, services
from snapshots.errors import (
    NotFound,
    QuotaExceeded,
)
from snapshots.models import Blob

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
