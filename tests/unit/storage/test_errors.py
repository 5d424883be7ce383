from __future__ import annotations

import pytest
from azure.core.exceptions import (
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from prism.errors import PermanentError, PrismError, TransientError
from prism.storage import (
    ConditionFailedError,
    ContainerNotFoundError,
    NotFoundError,
    StorageRequestError,
)
from prism.storage.errors import translated


class Response:
    """Just what azure-core reads from a response to build an HttpResponseError."""

    def __init__(self, status: int) -> None:
        self.status_code = status
        self.reason = "reason"
        self.headers: dict[str, str] = {}
        self.request = None

    def text(self) -> str:
        return ""


def raised(exc: Exception) -> PrismError:
    with pytest.raises(PrismError) as info, translated("op"):
        raise exc
    assert info.value.__cause__ is exc  # the SDK error stays reachable for logs
    return info.value


@pytest.mark.parametrize("status", [500, 502, 503, 408, 429, 401, 403])
def test_service_side_statuses_are_transient(status: int) -> None:
    assert isinstance(raised(HttpResponseError(response=Response(status))), TransientError)


@pytest.mark.parametrize("status", [400, 409, 413, 416])
def test_refused_requests_are_storage_conditions_never_verdicts_on_a_file(status: int) -> None:
    error = raised(HttpResponseError(response=Response(status)))
    assert isinstance(error, StorageRequestError)
    assert not isinstance(error, PermanentError)  # never recorded as a rejected input
    assert "op: HTTP" in error.message


def test_precondition_failed_is_a_retryable_condition_failure() -> None:
    error = raised(HttpResponseError(response=Response(412)))
    assert isinstance(error, ConditionFailedError)
    assert error.retryable


def test_not_found_is_a_storage_condition_not_bad_input() -> None:
    error = raised(ResourceNotFoundError("gone"))
    assert isinstance(error, NotFoundError)
    assert not isinstance(error, PermanentError)


def test_a_missing_container_is_not_a_missing_blob() -> None:
    exc = ResourceNotFoundError("no container")
    exc.error_code = "ContainerNotFound"  # type: ignore[attr-defined]
    error = raised(exc)
    assert isinstance(error, ContainerNotFoundError)
    assert not isinstance(error, NotFoundError)  # "gone" handlers must not swallow it


@pytest.mark.parametrize(
    "exc", [ServiceRequestError("connection refused"), ServiceResponseError("reset")]
)
def test_unreachable_service_is_transient(exc: Exception) -> None:
    assert isinstance(raised(exc), TransientError)


def test_other_exceptions_pass_through_untouched() -> None:
    with pytest.raises(ValueError, match="mine"), translated("op"):
        raise ValueError("mine")
