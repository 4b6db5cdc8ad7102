"""Reads of the store: listings and their cursors, the trash filter."""

from __future__ import annotations

import io

import pytest

from conftest import all_databases
from snapshots import selectors, services
from snapshots.errors import (
    InvalidPath,
)

pytestmark = all_databases


def write(tenant, user, path, content: bytes, **kwargs):
    return services.file_write(
        tenant=tenant, path=path, stream=io.BytesIO(content), content_length=len(content), acting_user=user, **kwargs
    )


def test_listing_pages_with_a_cursor_and_refuses_a_malformed_one(make_tenant):
    made = make_tenant(hub="uk")
    for i in range(7):
        write(made.tenant, made.user, f"/d/f{i}", b"x" * i)
    folder = selectors.node_at_path(tenant=made.tenant, path="/d")
    seen, cursor = [], None
    while True:
        page = selectors.folder_children(tenant=made.tenant, folder=folder, order="-size", cursor=cursor, limit=3)
        seen += [v.name for v in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [f"f{i}" for i in reversed(range(7))]
    for bad in ["garbage", "eyJ2IjpbMV0sImlkIjoxfQ", "e30"]:
        with pytest.raises(selectors.InvalidCursor):
            selectors.folder_children(tenant=made.tenant, folder=folder, cursor=bad)


@pytest.mark.parametrize("cursor_values", [{"id": True}, {"id": 2**64}, {"id": -(2**64)}])
def test_cursor_numbers_out_of_range_are_invalid(cursor_values):
    with pytest.raises(selectors.InvalidCursor):
        selectors.decode_cursor(selectors.encode_cursor(cursor_values), keys=("id",))


def test_nul_in_a_cursor_or_the_trash_filter_is_a_clear_error(make_tenant):
    made = make_tenant(hub="uk")
    with pytest.raises(selectors.InvalidCursor):
        selectors.decode_cursor(selectors.encode_cursor({"at": "2026\x00", "id": 1}), keys=("at", "id"))
    with pytest.raises(InvalidPath, match="NUL"):
        selectors.trash_items(tenant=made.tenant, query="a\x00b")
