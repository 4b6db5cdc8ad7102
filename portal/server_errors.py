"""The web server's own refusals as problem details.

gunicorn answers a few requests before Django sees them: a request line over
8,190 bytes (414), too many or too large header fields (431), a malformed
request or a request-smuggling shape (400). Its stock answer is an HTML page;
an API client, and the schema that documents these statuses, expect the same
application/problem+json as every other refusal. gunicorn.conf.py hands
gunicorn this writer. The detail is fixed per status: gunicorn's own message
can quote the request line, and with it a customer's file names.
"""

from __future__ import annotations

import json

from portal.problems import PROBLEM_CONTENT_TYPE, problem_body

CODE_BY_SERVER_STATUS = {
    400: "malformed_request",
    403: "forbidden",
    414: "request_line_too_long",
    417: "expectation_failed",
    431: "header_fields_too_large",
    500: "internal_error",
    501: "not_implemented",
}
DETAIL_BY_SERVER_STATUS = {
    400: "The request is not valid HTTP/1.1, or has a shape the server refuses "
    "(two Content-Lengths, or Content-Length with chunked Transfer-Encoding).",
    414: "The request line (method, path and query string) is longer than the server accepts, 8,190 bytes. "
    "A path in a query string can be at most 4,096 characters.",
    431: "The request has too many header fields (at most 100), or one larger than 8,190 bytes.",
}


def server_problem_bytes(status: int, reason: str) -> bytes:
    """The whole HTTP response for one of gunicorn's refusals."""
    code = CODE_BY_SERVER_STATUS.get(status, f"http_{status}")
    body = problem_body(code=code, title=reason, detail=DETAIL_BY_SERVER_STATUS.get(status, reason), status=status)
    content = json.dumps(body).encode("utf-8")
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: {PROBLEM_CONTENT_TYPE}\r\n"
        f"Content-Length: {len(content)}\r\n\r\n"
    )
    return head.encode("latin-1") + content
