"""Streaming a file's bytes: ETag, conditional requests, single byte ranges,
and an RFC 6266 Content-Disposition. The bytes are read from the hub's storage
in chunks as the client takes them, never whole into memory.

A whole file is verified as it streams (``snapshots.blobs.VerifiedRead``): the
read that would hand out its last bytes raises instead when the SHA-256 is not
the blob's, so the server ends the transfer short of its Content-Length and
the client sees a broken download, never a complete-looking wrong file; the
copy is marked bad (the next request reads the other facility) and queued for
repair (``snapshots.blob_repairs``). A range cannot be verified on its own: it
is read from a copy not known bad, and the scheduled scrub checks the rest."""

from __future__ import annotations

import mimetypes
import re
import unicodedata
from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import quote

from django.http import HttpRequest, HttpResponseNotModified, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.http import http_date

from portal.problems import problem_response
from snapshots.blob_repairs import blob_copy_bad
from snapshots.blobs import VerifiedRead, blob_open
from snapshots.paths import without_refused_characters

if TYPE_CHECKING:
    from hubs.models import Tenant
    from snapshots.models import Blob, NodeVersion

# 256 KiB: few enough iterations that a 1 GiB download costs 4,096 Python
# loop turns, small enough that memory per download stays flat.
DOWNLOAD_CHUNK_BYTES = 256 * 1024
RANGE_PATTERN = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


class RangeNotSatisfiable(Exception):
    pass


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive (first, last) byte of a single ``bytes=`` range, or None
    to send the whole file (no header, several ranges, or a header we do not
    understand: RFC 9110 lets a server ignore Range). Raises RangeNotSatisfiable."""
    if not header:
        return None
    match = RANGE_PATTERN.match(header)
    if match is None:
        return None
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable
        return max(size - suffix, 0), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        raise RangeNotSatisfiable
    return start, min(end, size - 1)


def entity_tags(header: str) -> list[str]:
    """The entity tags of an If-Match / If-None-Match list, quotes kept, "*" as is."""
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback ``filename`` and the exact UTF-8 name
    in ``filename*`` (RFC 6266 section 4.3, RFC 8187 encoding). A name stored
    before the name rule refused bidi and invisible characters loses them here."""
    name = without_refused_characters(name)
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    ascii_name = re.sub(r'[^\x20-\x7e]|["\\%]', "_", ascii_name).strip() or "download"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def _chunks(handle: VerifiedRead, start: int, length: int) -> Iterator[bytes]:
    try:
        handle.seek(start)
        remaining = length
        while remaining > 0:
            chunk = handle.read(min(DOWNLOAD_CHUNK_BYTES, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk
    finally:
        handle.close()


def file_download_response(
    request: HttpRequest, *, tenant: Tenant, version: NodeVersion, content_type: str | None = None
) -> HttpResponseBase:
    sha256 = version.blob.sha256 if version.blob is not None else ""
    etag = f'"{sha256}"'
    size = version.size
    validators = {
        "ETag": etag,
        "Last-Modified": http_date(version.changed_at.timestamp()),
        "Cache-Control": "private, no-cache",
    }
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        tags = entity_tags(if_none_match)
        # Weak comparison, as RFC 9110 asks for If-None-Match.
        if "*" in tags or etag in {tag.removeprefix("W/") for tag in tags}:
            not_modified = HttpResponseNotModified()
            for header, value in validators.items():
                not_modified[header] = value
            return not_modified

    byte_range = None
    if_range = request.headers.get("If-Range")
    if if_range is None or if_range.strip() == etag:
        try:
            byte_range = parse_range(request.headers.get("Range"), size)
        except RangeNotSatisfiable:
            not_satisfiable = problem_response(
                code="range_not_satisfiable",
                title="Range not satisfiable",
                detail=f"The file is {size:,} bytes; the requested range lies outside it.",
            )
            not_satisfiable["Content-Range"] = f"bytes */{size}"
            return not_satisfiable

    assert version.blob is not None  # only file versions are downloaded, and a file has its blob

    def on_mismatch(blob: Blob, facility_role: str) -> None:
        blob_copy_bad(tenant=tenant, blob=blob, facility_role=facility_role)

    handle = blob_open(tenant=tenant, blob=version.blob, on_mismatch=on_mismatch)
    # The pages let the browser know the kind of file from its name; the API
    # passes application/octet-stream, what its schema promises: the bytes as stored.
    content_type = content_type or mimetypes.guess_type(version.name)[0] or "application/octet-stream"
    first, last = byte_range if byte_range is not None else (0, size - 1)
    response = StreamingHttpResponse(
        _chunks(handle, first, last - first + 1),
        status=200 if byte_range is None else 206,
        content_type=content_type,
    )
    # A generator that never started does not run its finally clause.
    response._resource_closers.append(handle.close)  # type: ignore[attr-defined]  # private; not in django-stubs
    response["Content-Length"] = str(last - first + 1)
    if byte_range is not None:
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
    for header, value in validators.items():
        response[header] = value
    response["Accept-Ranges"] = "bytes"
    response["Content-Disposition"] = content_disposition(version.name)
    # Whatever the bytes are, a browser opening this URL must not run them as a page of this site.
    response["Content-Security-Policy"] = "sandbox"
    return response
