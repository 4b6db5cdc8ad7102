"""Blob bytes in the facilities: reads that fall back to the other facility,
and stale temporary objects swept."""

from __future__ import annotations

import io
from pathlib import Path

from conftest import all_databases
from hubs.storage import facility_storage
from snapshots import services

pytestmark = all_databases


def write(tenant, user, path, content: bytes, **kwargs):
    return services.file_write(
        tenant=tenant, path=path, stream=io.BytesIO(content), content_length=len(content), acting_user=user, **kwargs
    )


def facility_files(hub: str, role: str) -> list[Path]:
    root = Path(facility_storage(hub, role).location)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def services_open(made, version):
    from snapshots.blobs import blob_open

    return blob_open(tenant=made.tenant, blob=version.blob)


def test_read_falls_back_to_the_other_facility(make_tenant):
    made = make_tenant(hub="uk")
    version = write(made.tenant, made.user, "/x.bin", b"payload")
    for path in facility_files("uk", "primary"):
        path.unlink()
    with services_open(made, version) as handle:
        assert handle.read() == b"payload"


def test_temporaries_nobody_claims_are_swept_and_claimed_ones_kept(make_tenant):
    import os
    import time
    from datetime import timedelta

    from snapshots.blobs import spool_directory, temporaries_sweep, temporary_claim

    left = spool_directory() / "upload-left"
    left.write_bytes(b"half an upload")
    facility_tmp = Path(facility_storage("uk", "alternate").path("tmp/abandoned"))
    facility_tmp.parent.mkdir(parents=True, exist_ok=True)
    facility_tmp.write_bytes(b"half a copy")
    claimed, claim = temporary_claim(Path(facility_storage("uk", "primary").path("tmp")), "upload-")
    claimed.write_bytes(b"a slow upload, still going")
    two_hours_ago = time.time() - 7200
    for path in (left, facility_tmp, claimed):
        os.utime(path, (two_hours_ago, two_hours_ago))
    fresh = spool_directory() / "upload-fresh"
    fresh.write_bytes(b"nobody's, but young")
    try:
        # older_than spares the young one; the claimed one stays, however old.
        assert temporaries_sweep(hub_code="uk", older_than=timedelta(hours=1)) == 2
        assert not left.exists() and not facility_tmp.exists()
        assert claimed.exists() and fresh.exists()
        assert temporaries_sweep(hub_code="uk") == 1
        assert not fresh.exists() and claimed.exists()
    finally:
        os.close(claim)
    # Its process let go (as a killed one does): now it is nobody's.
    assert temporaries_sweep(hub_code="uk") == 1
    assert not claimed.exists()
