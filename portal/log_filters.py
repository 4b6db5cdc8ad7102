"""Logging filters that keep customers' file names out of log lines.

Log lines carry ids, never file names or content (the residency rule). Two
places would break it on their own: a database error's text can quote a row
("Key (tenant_id, parent_id, name)=(7, 12, salaries.xlsx) already exists"),
and request lines carry paths ("GET /files/Board%20minutes/ ...").
"""

from __future__ import annotations

import logging
import re

from django.db import DatabaseError

# Folder pages put the path in the URL; the API and other pages pass it as a
# query parameter. Everything after these markers is withheld.
_PATH_IN_URL = re.compile(r"((?<!\w)/files/)[^\s\"'?]*")
# WebDAV puts the path after the workspace's slug: /dav/<slug>/<path>.
_PATH_IN_DAV = re.compile(r"((?<!\w)/dav/[^\s\"'?/]+/)[^\s\"'?]*")
_PATH_IN_QUERY = re.compile(r"([?&](?:path|paths|q|to|from|target)=)[^\s\"'&]*")


def redact_paths(text: str) -> str:
    text = _PATH_IN_DAV.sub(r"\1[withheld]", _PATH_IN_URL.sub(r"\1[withheld]", text))
    return _PATH_IN_QUERY.sub(r"\1[withheld]", text)


class WithholdCustomerNames(logging.Filter):
    """Strip row values from database errors and file paths from request lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        exception = record.exc_info[1] if record.exc_info else None
        chain = [exception, getattr(exception, "__cause__", None), getattr(exception, "__context__", None)]
        if any(isinstance(error, DatabaseError) for error in chain):
            assert exception is not None
            sqlstate = getattr(exception.__cause__, "sqlstate", None)
            detail = type(exception).__name__ + (f" SQLSTATE {sqlstate}" if sqlstate else "")
            record.msg = f"{redact_paths(record.getMessage())} [{detail}; row values withheld]"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
            return True
        # Every other line: any logger may quote a request line or a URL
        # (gunicorn's access log, Django's request warnings, a task's arguments).
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True  # a malformed call; the handler reports it as logging does
        redacted = redact_paths(message)
        if redacted != message:
            record.msg = redacted
            record.args = ()
        return True
