"""What a download that did not verify leaves behind, before any worker runs:
the copy is marked bad in the hub, the next request (whole or a range) reads
the other facility, and a marked copy is still read when it is the only one."""

from __future__ import annotations

import io
import os
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from django.test import Client

from conftest import all_databases
from hubs.storage import facility_storage
from portal.tokens import api_token_create
from snapshots.blobs import BlobCopyMismatch, blob_open
from snapshots.models import ScrubFinding
from snapshots.services import file_write

pytestmark = all_databases
SIZE = 300 * 1024


@pytest.fixture
def rotten(make_tenant):
    """A file whose serving copy has one bit flipped; no worker runs (the repair
    is queued after a commit that, in these tests, never comes)."""
    made = make_tenant(hub="uk")
    _, token = api_token_create(user=made.user, tenant=made.tenant, name="marks")
    content = os.urandom(SIZE)
    blob = file_write(
        tenant=made.tenant, path="/f.bin", stream=io.BytesIO(content), content_length=SIZE, acting_user=made.user
    ).blob
    primary = Path(facility_storage("uk", "primary").path(blob.storage_key))
    damaged = bytearray(content)
    damaged[5] ^= 0x01
    primary.write_bytes(bytes(damaged))
    return SimpleNamespace(
        tenant=made.tenant, client=Client(HTTP_AUTHORIZATION=f"Bearer {token}"), content=content, blob=blob,
        primary=primary,
    )  # fmt: skip


def get(made, **headers):
    return made.client.get(f"/api/v1/files/content?{urlencode({'path': '/f.bin'})}", **headers)


def test_the_next_request_reads_the_other_facility_until_the_copy_is_repaired(rotten):
    response = get(rotten)
    assert response.status_code == 200 and response["Content-Length"] == str(SIZE)
    with pytest.raises(BlobCopyMismatch):
        b"".join(response.streaming_content)
    [mark] = ScrubFinding.objects.for_tenant(rotten.tenant)
    assert (mark.facility, mark.kind, mark.found_by, mark.repaired_at) == ("primary", "corrupt", "download", None)
    again = get(rotten)
    assert b"".join(again.streaming_content) == rotten.content, "read from the alternate facility"
    part = get(rotten, HTTP_RANGE="bytes=0-99")
    assert part.status_code == 206 and b"".join(part.streaming_content) == rotten.content[:100]
    assert ScrubFinding.objects.for_tenant(rotten.tenant).count() == 1, "one mark, not one per download"
    assert rotten.primary.read_bytes() != rotten.content, "nothing repaired it yet"


def test_a_range_is_not_verified_but_a_whole_read_of_the_same_copy_is(rotten):
    part = get(rotten, HTTP_RANGE="bytes=0-99")
    assert part.status_code == 206
    assert b"".join(part.streaming_content) != rotten.content[:100], "a range cannot be checked on its own"
    assert not ScrubFinding.objects.for_tenant(rotten.tenant).exists()


def test_a_marked_copy_is_still_read_when_no_other_copy_opens(rotten):
    rotten.primary.write_bytes(rotten.content)  # the bytes are right again, but the mark is still open
    ScrubFinding.objects.for_tenant(rotten.tenant).create(
        blob_id=rotten.blob.pk, sha256=rotten.blob.sha256, facility="primary", kind="corrupt",
        found_by="download", pass_started_at=rotten.blob.created_at, found_at=rotten.blob.created_at,
    )  # fmt: skip
    Path(facility_storage("uk", "alternate").path(rotten.blob.storage_key)).unlink()
    with blob_open(tenant=rotten.tenant, blob=rotten.blob) as handle:
        assert handle.facility_role == "primary"
        assert handle.read() == rotten.content


def test_every_short_or_long_copy_fails_the_whole_read(rotten):
    for wrong in (rotten.content[:-1], rotten.content + b"x", b""):
        rotten.primary.write_bytes(wrong)
        handle = blob_open(tenant=rotten.tenant, blob=rotten.blob)
        with pytest.raises(BlobCopyMismatch), handle:
            while handle.read(64 * 1024):
                pass
    rotten.primary.write_bytes(rotten.content)
    with blob_open(tenant=rotten.tenant, blob=rotten.blob) as handle:
        assert handle.read() == rotten.content
