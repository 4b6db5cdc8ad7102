"""Many files as one zip, streamed: entries are read from the hub's storage as
the client takes the archive, never spooled to a temporary file or held in
memory. Stored, not deflated (the bytes are usually compressed formats
already, and the size is known before the first byte, so the response has a
Content-Length and a browser shows real progress); zipstream-ng switches to
zip64 by itself past 4 GiB or 65,535 entries. Each file's bytes are checked
against its SHA-256 as they are sent: a mismatch ends the stream with an
error instead of a zip that unpacks to wrong bytes."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from django.http import StreamingHttpResponse
from zipstream import ZipStream

from portal.downloads import DOWNLOAD_CHUNK_BYTES, content_disposition
from snapshots.blobs import blob_open
from snapshots.models import Node
from snapshots.selectors.subtrees import zip_subtrees

if TYPE_CHECKING:
    from hubs.models import Tenant
    from snapshots.models import NodeVersion

logger = logging.getLogger(__name__)


class ZipEntryCorrupt(Exception):
    """A file's bytes did not match its hash while the zip was being sent."""


def _verified_chunks(tenant: Tenant, version: NodeVersion) -> Iterator[bytes]:
    assert version.blob is not None
    digest = hashlib.sha256()
    with blob_open(tenant=tenant, blob=version.blob) as handle:
        while chunk := handle.read(DOWNLOAD_CHUNK_BYTES):
            digest.update(chunk)
            yield chunk
    if digest.hexdigest() != version.blob.sha256:
        logger.error("Blob %s of tenant %s did not verify inside a zip download", version.blob.pk, tenant.pk)
        raise ZipEntryCorrupt(f"blob {version.blob.pk}")


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
