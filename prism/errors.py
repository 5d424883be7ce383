"""One error hierarchy for the whole pipeline, keyed by what the caller should do.

* :class:`PermanentError` — the input itself is bad (corrupt, too large, unsupported).
  Retrying cannot help: record a rejected result and never retry.
* :class:`TransientError` — something around the input failed (storage, database,
  a timeout). Raise it so the queue redelivers the message.
* :class:`StorageError` — a storage condition (a blob or document that is not there, a
  request the service refused). It is never a verdict on a file: a caller either
  handles the condition it expects (a blob deleted mid-run is "gone") or lets it
  propagate, and the message is retried and, if it keeps failing, poisoned for an
  operator — it never becomes a rejected result.

Every error carries a stable, machine-readable ``code`` and a message a user can act on.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Stable codes that appear in results, HTTP bodies and metrics."""

    UNSUPPORTED_TYPE = "unsupported_type"
    TOO_LARGE = "too_large"
    EMPTY = "empty"
    CORRUPT = "corrupt"
    DECOMPRESSION_BOMB = "decompression_bomb"
    INVALID_ENCODING = "invalid_encoding"
    TOO_LONG = "too_long"
    # A document protected by a password Prism does not have.
    ENCRYPTED = "encrypted"
    # Processing the file would take more memory than an instance has for files
    # (prism.budget): send a smaller file.
    OVER_BUDGET = "over_budget"
    BAD_REQUEST = "bad_request"
    # A continuation token that this API did not issue for these filters (garbled,
    # forged, truncated, or another query's): start the listing again.
    INVALID_CONTINUATION = "invalid_continuation"
    NOT_FOUND = "not_found"
    UNAUTHORIZED = "unauthorized"
    MODEL_UNAVAILABLE = "model_unavailable"
    DEPENDENCY_UNAVAILABLE = "dependency_unavailable"
    # The instance's memory for files is all reserved right now: try again shortly.
    BUSY = "busy"
    INTERNAL = "internal"


# HTTP status a client should see for a rejected input (anything else is 422).
_HTTP_STATUS = {
    ErrorCode.TOO_LARGE: 413,
    ErrorCode.OVER_BUDGET: 413,
    ErrorCode.UNSUPPORTED_TYPE: 415,
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.INVALID_CONTINUATION: 400,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.NOT_FOUND: 404,
}


class PrismError(Exception):
    """Base of every error Prism raises on purpose."""

    retryable: bool = False

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(f"{code.value}: {message}")
        self.code = code
        self.message = message

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code.value, "message": self.message}


class PermanentError(PrismError):
    """Bad input: reject it with its code, never retry."""

    retryable = False

    @property
    def http_status(self) -> int:
        return _HTTP_STATUS.get(self.code, 422)


class TransientError(PrismError):
    """A fault outside the input: retry (the queue redelivers)."""

    retryable = True

    def __init__(self, message: str, code: ErrorCode = ErrorCode.DEPENDENCY_UNAVAILABLE) -> None:
        super().__init__(code, message)


class StorageError(PrismError):
    """A storage condition, not bad input: handle it where it is expected, otherwise
    let it propagate (the message is retried, then poisoned; never rejected)."""

    retryable = True


class ConfigurationError(PrismError):
    """A setting is missing or malformed: fix the configuration, then restart."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.BAD_REQUEST, message)
