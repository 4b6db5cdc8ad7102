"""The body of an upload, read by one rule for the page and the API.

- With ``Content-Length``, exactly that many bytes are read; fewer is an
  incomplete upload and nothing is stored.
- Without it, when the WSGI server marks where the body ends
  (``wsgi.input_terminated``, as gunicorn does for a chunked body), the body is
  read to its end; the store stops it at the tenant's file size limit.
- Otherwise nothing says where the body ends, and reading it as empty would
  store an empty file in place of the one sent: 411, send a Content-Length.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from hubs.errors import DomainError
from snapshots.errors import IncompleteUpload


class LengthRequired(DomainError):
    code = "length_required"
    title = "Length required"


class InvalidContentLength(DomainError):
    code = "invalid_content_length"
    title = "Invalid Content-Length"


class UploadStream:
    """The request body as the store reads it. A client that goes away mid-body
    makes the server's read fail; that is an incomplete upload, not our error."""

    def __init__(self, source: Any) -> None:
        self._source = source

    def read(self, size: int = -1) -> bytes:
        try:
            return self._source.read(size)
        except OSError as exc:
            raise IncompleteUpload("The connection closed before the whole file arrived. Nothing was stored.") from exc


def upload_body(request: HttpRequest) -> tuple[UploadStream, int | None]:
    """The stream to hand the store and its length (None: read to the end)."""
    raw = request.META.get("CONTENT_LENGTH")
    if raw in (None, ""):
        if request.META.get("wsgi.input_terminated"):
            # Django reads a body without a length as empty; the server's own
            # stream ends where the body does.
            return UploadStream(request.META["wsgi.input"]), None
        raise LengthRequired(
            "Send the file with a Content-Length header: without one, this server cannot tell where the file ends."
        )
    try:
        length = int(raw)
    except ValueError:
        length = -1
    if length < 0:
        raise InvalidContentLength("Content-Length must be a whole number of bytes.")
    return UploadStream(request), length
