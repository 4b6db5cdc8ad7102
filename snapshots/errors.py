"""Errors of the versioned store. Each carries the HTTP status an edge should
answer with and a message a person can act on; messages name paths the
requester gave, never another tenant's anything."""

from __future__ import annotations


class StoreError(Exception):
    status = 400
    title = "Bad request"
    code = "bad-request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidPath(StoreError):
    title = "Invalid path or name"
    code = "invalid-path"


class NotFound(StoreError):
    status = 404
    title = "Not found"
    code = "not-found"


class NameConflict(StoreError):
    status = 409
    title = "Name already taken"
    code = "name-conflict"


class WrongKind(StoreError):
    status = 409
    title = "Wrong kind of item"
    code = "wrong-kind"


class InvalidMove(StoreError):
    title = "Invalid move"
    code = "invalid-move"


class PreconditionFailed(StoreError):
    status = 412
    title = "The file changed meanwhile"
    code = "precondition-failed"


class FileTooLarge(StoreError):
    status = 413
    title = "File too large"
    code = "file-too-large"


class QuotaExceeded(StoreError):
    status = 507
    title = "Storage quota exceeded"
    code = "quota-exceeded"


class IncompleteUpload(StoreError):
    title = "Incomplete upload"
    code = "incomplete-upload"


class FacilityUnavailable(StoreError):
    status = 503
    title = "Storage temporarily unavailable"
    code = "storage-unavailable"


class NotRestorable(StoreError):
    status = 409
    title = "Cannot be restored"
    code = "not-restorable"


class RestoreRefused(StoreError):
    status = 400
    title = "Restore refused"
    code = "restore-refused"


class RestoreFinished(StoreError):
    status = 409
    title = "The restore already ended"
    code = "restore-finished"


class OutsideRetention(StoreError):
    status = 422
    title = "Outside the retention period"
    code = "outside-retention"
