"""Errors of the versioned store. Each carries a stable code and a message a
person can act on, never an HTTP status (the edges map codes to statuses:
``portal.problems.STATUS_BY_CODE``); messages name paths the requester gave,
never another tenant's anything."""

from __future__ import annotations

from hubs.errors import DomainError


class StoreError(DomainError):
    """Any refusal of the store."""


class InvalidPath(StoreError):
    title = "Invalid path or name"
    code = "invalid_path"


class NotFound(StoreError):
    title = "Not found"
    code = "not_found"


class InvalidCursor(InvalidPath):
    title = "Invalid cursor"
    code = "invalid_cursor"


class NameConflict(StoreError):
    title = "Name already taken"
    code = "name_taken"


class WrongKind(StoreError):
    title = "Wrong kind of item"
    code = "wrong_kind"


class InvalidMove(StoreError):
    title = "Invalid move"
    code = "invalid_move"


class Locked(StoreError):
    """A WebDAV client holds a lock on the item (RFC 4918): the pages and the
    API, which cannot present its token, leave it alone until it ends."""

    title = "Locked by a WebDAV client"
    code = "locked"


class PreconditionFailed(StoreError):
    title = "The file changed meanwhile"
    code = "precondition_failed"


class FileTooLarge(StoreError):
    title = "File too large"
    code = "file_too_large"


class ZipTooLarge(StoreError):
    title = "Too much for one zip"
    code = "zip_too_large"


class QuotaExceeded(StoreError):
    title = "Storage quota exceeded"
    code = "quota_exceeded"


class InvalidArchive(StoreError):
    title = "Not a readable tar stream"
    code = "invalid_archive"


class BatchTooLarge(StoreError):
    title = "Too much for one batch"
    code = "batch_too_large"


class IncompleteUpload(StoreError):
    title = "Incomplete upload"
    code = "incomplete_upload"


class FacilityUnavailable(StoreError):
    title = "Storage temporarily unavailable"
    code = "storage_unavailable"


class NotRestorable(StoreError):
    title = "Cannot be restored"
    code = "not_restorable"


# ---------------------------------------------------------------- restores


class RestoreRefused(StoreError):
    title = "Restore refused"
    code = "restore_refused"


class RestoreFinished(StoreError):
    title = "The restore already ended"
    code = "restore_finished"


class OutsideRetention(StoreError):
    title = "Outside the retention period"
    code = "outside_retention"


# ---------------------------------------------------------------- search


class InvalidSearch(StoreError):
    title = "Invalid search"
    code = "invalid_search"
