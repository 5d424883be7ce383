"""SDK errors become Prism errors at this boundary, keyed by what the caller should do.

* the blob, queue or document is not there (404) → :class:`NotFoundError`, and the
  service refused the request (400, 409 outside a conditional create, 413) →
  :class:`StorageRequestError`: storage conditions, never verdicts on a file (so
  never recorded as a rejected result); callers handle the ones they expect;
* the service is unreachable, slow, throttling or failing (connection errors, timeouts,
  408, 429, 5xx), or refuses our credentials (401/403: a deployment fault the operator
  fixes, after which the poisoned messages can be replayed) → :class:`TransientError`.

Callers see only :mod:`prism.errors` types; the SDK exception stays in ``__cause__``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError

from prism.errors import ErrorCode, StorageError, TransientError

_RETRYABLE_STATUS = frozenset({401, 403, 408, 429})


class NotFoundError(StorageError):
    """The blob, container, queue message or document does not exist."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.NOT_FOUND, message)


class StorageRequestError(StorageError):
    """The service refused the request itself (HTTP 400, 409, 413…): a fault in the
    request or the deployment, which an operator looks at in the poison queue."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.DEPENDENCY_UNAVAILABLE, message)


class ContainerNotFoundError(StorageRequestError):
    """A container the operation needs does not exist: a deployment fault (or a local
    stack not yet prepared), never "the blob is gone"."""


class ConditionFailedError(TransientError):
    """An etag-conditioned write lost a race (HTTP 412): re-read, then try again."""


class LeaseLostError(TransientError):
    """A queue message's pop receipt is stale (its lease expired and someone else
    received it) or the message is gone: it is no longer ours to delete or release."""


@contextmanager
def translated(operation: str) -> Iterator[None]:
    """Run an SDK call, re-raising its errors as Prism errors that name ``operation``."""
    try:
        yield
    except ResourceNotFoundError as exc:
        if getattr(exc, "error_code", None) == "ContainerNotFound":
            raise ContainerNotFoundError(f"{operation}: the container does not exist") from exc
        raise NotFoundError(f"{operation}: not found") from exc
    except HttpResponseError as exc:
        status = exc.status_code or 0
        detail = f"{operation}: HTTP {status} {exc.reason or ''}".rstrip()
        if status == 412:
            raise ConditionFailedError(f"{detail} (changed concurrently)") from exc
        if status >= 500 or status in _RETRYABLE_STATUS:
            raise TransientError(detail) from exc
        raise StorageRequestError(detail) from exc
    except AzureError as exc:  # connection refused, timeouts, broken responses
        raise TransientError(f"{operation}: {type(exc).__name__}: {exc.message}") from exc
