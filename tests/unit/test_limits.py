"""The upload size limit: a declared length over it is refused before the body is read."""

from __future__ import annotations

import pytest

from prism.errors import PermanentError
from prism.limits import read_within_limit


class Body:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.reads = 0

    def read(self) -> bytes:
        self.reads += 1
        return self.data


def test_a_declared_length_over_the_limit_is_refused_without_reading() -> None:
    body = Body(b"x" * 10)
    with pytest.raises(PermanentError) as raised:
        read_within_limit("11", body.read, limit=10)
    assert raised.value.code.value == "too_large" and raised.value.http_status == 413
    assert body.reads == 0


def test_an_undeclared_body_over_the_limit_is_refused_after_reading() -> None:
    with pytest.raises(PermanentError) as raised:
        read_within_limit(None, Body(b"x" * 11).read, limit=10)
    assert raised.value.code.value == "too_large"


def test_a_body_at_the_limit_is_returned_whole() -> None:
    assert read_within_limit("10", Body(b"x" * 10).read, limit=10) == b"x" * 10
