"""Many files as one zip, streamed: entries are read from the hub's storage as
the client takes the archive, never spooled to a temporary file or held in
memory. Stored, not deflated (the bytes are usually compressed formats
already, and the size is known before the first byte, so the response has a
Content-Length and a browser shows real progress); zipstream-ng switches to
zip64 by itself past 4 GiB or 65,535 entries. Each file is read through
``blob_open``, which checks its bytes against their SHA-256 as they are sent:
a mismatch ends the stream short of its length (never a zip that unpacks to
wrong bytes), marks that copy bad and queues its repair, as a download does."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from django.http import StreamingHttpResponse
from zipstream import ZipStream

from portal.downloads import DOWNLOAD_CHUNK_BYTES, content_disposition
from snapshots.blob_repairs import blob_copy_bad
from snapshots.blobs import blob_open
from snapshots.models import Blob, Node
from snapshots.selectors.subtrees import zip_subtrees

if TYPE_CHECKING:
    from hubs.models import Tenant
    from snapshots.models import NodeVersion


def _verified_chunks(tenant: Tenant, version: NodeVersion) -> Iterator[bytes]:
    """A file's bytes, opened only when the zip reaches it."""
    assert version.blob is not None

    def on_mismatch(blob: Blob, facility_role: str) -> None:
        blob_copy_bad(tenant=tenant, blob=blob, facility_role=facility_role)

    handle = blob_open(tenant=tenant, blob=version.blob, on_mismatch=on_mismatch)
    try:
        while chunk := handle.read(DOWNLOAD_CHUNK_BYTES):
            yield chunk
    finally:
        handle.close()


def zip_response(*, tenant: Tenant, paths: Sequence[str], archive_name: str) -> StreamingHttpResponse:
    """The chosen items of the live tree, and all they hold, as ``archive_name``
    (refused past ``HUBPORT_ZIP_MAX_BYTES`` before any byte is sent)."""
    subtree = zip_subtrees(tenant=tenant, paths=paths)
    archive = ZipStream(sized=True)
    for entry in subtree.entries:
        arcname = "/".join(entry.relative)
        if entry.version.kind == Node.Kind.FOLDER:
            archive.add(None, arcname + "/")
        else:
            archive.add(_verified_chunks(tenant, entry.version), arcname, size=entry.version.size)
    response = StreamingHttpResponse(archive, content_type="application/zip")
    response["Content-Length"] = str(len(archive))
    response["Content-Disposition"] = content_disposition(archive_name)
    response["Cache-Control"] = "private, no-store"
    return response
