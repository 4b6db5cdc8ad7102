"""The API's one JSON parser: DRF's, bounded in size and in depth.

A JSON body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is refused with 413 before a
byte of it is read (``body_too_large``); one nested deeper than ``MAX_JSON_DEPTH`` (no request of
this API needs more than three levels) with 400, whether the nesting would
have overflowed the decoder or not. Uploads do not come through here: file
content is ``application/octet-stream`` and streams to disk (portal.uploads).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser

from hubs.display import bytes_label

MAX_JSON_DEPTH = 32


class BodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "body_too_large"


def body_too_large() -> BodyTooLarge:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
    return BodyTooLarge(
        f"A JSON body can be at most {bytes_label(limit)} ({limit} bytes); "
        "file content is sent as application/octet-stream to /api/v1/files/content."
    )


def json_depth(value: Any) -> int:
    """How deeply ``value`` nests lists and objects (a scalar is 0), without recursion."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        pending.extend((child, depth) for child in children)
    return deepest


def _too_deep() -> exceptions.ParseError:
    return exceptions.ParseError(f"JSON nested too deep: at most {MAX_JSON_DEPTH} levels of lists and objects.")


class BoundedJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        # DRF reads the body (request.body) before it calls a JSON parser, so
        # Django has refused an oversized one already, from its Content-Length
        # and before reading it: RequestDataTooBig, which the exception handler
        # answers with body_too_large().
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise _too_deep() from None
        if json_depth(data) > MAX_JSON_DEPTH:
            raise _too_deep()
        return data
