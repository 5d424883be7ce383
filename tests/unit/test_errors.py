"""The error hierarchy says what to do: reject (permanent) or retry (transient)."""

from __future__ import annotations

import pytest

from prism.errors import ErrorCode, PermanentError, TransientError


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (ErrorCode.TOO_LARGE, 413),
        (ErrorCode.UNSUPPORTED_TYPE, 415),
        (ErrorCode.BAD_REQUEST, 400),
        (ErrorCode.CORRUPT, 422),
        (ErrorCode.DECOMPRESSION_BOMB, 422),
        (ErrorCode.EMPTY, 422),
    ],
)
def test_permanent_errors_map_to_the_http_status_a_client_expects(
    code: ErrorCode, status: int
) -> None:
    assert PermanentError(code, "x").http_status == status


def test_permanent_errors_are_never_retried_and_transient_ones_are() -> None:
    assert not PermanentError(ErrorCode.CORRUPT, "x").retryable
    assert TransientError("database unavailable").retryable


def test_error_body_carries_code_and_message() -> None:
    error = PermanentError(ErrorCode.EMPTY, "the file is empty")
    assert error.to_dict() == {"code": "empty", "message": "the file is empty"}
    assert str(error) == "empty: the file is empty"
