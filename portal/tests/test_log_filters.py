import logging
import sys

from django.db import IntegrityError

from portal.log_filters import WithholdCustomerNames, redact_paths


def _record(name: str, msg: str, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = None
    if exc is not None:
        try:
            raise exc
        except BaseException:  # noqa: BLE001
            exc_info = sys.exc_info()
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, (), exc_info)


def test_database_errors_lose_their_row_values():
    record = _record(
        "django.request",
        "Internal Server Error: /files/Board minutes/",
        IntegrityError("Key (tenant_id, parent_id, name)=(7, 12, salaries.xlsx) already exists."),
    )
    assert WithholdCustomerNames().filter(record)
    text = logging.Formatter().format(record)
    assert "salaries" not in text and "Board minutes" not in text
    assert "IntegrityError" in text and "withheld" in text


def test_request_lines_lose_their_paths():
    record = _record("django.server", '"GET /api/v1/files/content?path=/HR/salaries.xlsx HTTP/1.1" 200 12')
    WithholdCustomerNames().filter(record)
    assert "salaries" not in record.getMessage()
    assert redact_paths("/files/a/b?x=1") == "/files/[withheld]?x=1"
    assert redact_paths("/api/v1/files/?path=/x&order=name") == "/api/v1/files/?path=[withheld]&order=name"
    # WebDAV: the workspace's slug stays, the path after it goes.
    line = '127.0.0.1 "PROPFIND /dav/acme/HR/salaries.xlsx HTTP/1.1" 207'
    assert redact_paths(line) == '127.0.0.1 "PROPFIND /dav/acme/[withheld] HTTP/1.1" 207'


def test_other_records_pass_unchanged():
    record = _record("snapshots.expiry", "Expiry in hub %s removed %s")
    assert WithholdCustomerNames().filter(record)
    assert record.msg == "Expiry in hub %s removed %s"
