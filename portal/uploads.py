"""The body of an upload, read the same way by the page and the API."""

from __future__ import annotations

from typing import Any

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

    def __init__(self, request: Any) -> None:
        self._request = request

    def read(self, size: int = -1) -> bytes:
        try:
            return self._request.read(size)
        except OSError as exc:
            raise IncompleteUpload("The connection closed before the whole file arrived. Nothing was stored.") from exc


def request_content_length(request: Any) -> int:
    raw = request.META.get("CONTENT_LENGTH")
    if raw in (None, ""):
        if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            raise LengthRequired("Send the file with a Content-Length header; chunked uploads are not accepted.")
        return 0
    try:
        length = int(raw)
    except ValueError:
        length = -1
    if length < 0:
        raise InvalidContentLength("Content-Length must be a whole number of bytes.")
    return length
