from __future__ import annotations

import pytest

from prism.errors import PermanentError
from prism.params import is_ascii_number, parse_bounded_int


@pytest.mark.parametrize("raw", ["²", "１０", "١٠", "1_0", " 10", "10 ", "+1", "-1", "", "1e3",
                                 "0x10", "9" * 19])  # fmt: skip
def test_only_ascii_digits_are_numbers(raw: str) -> None:
    assert not is_ascii_number(raw)
    with pytest.raises(PermanentError) as info:
        parse_bounded_int(raw, "limit", 1, 100)
    assert info.value.http_status == 400


def test_a_number_outside_its_bounds_is_a_bad_request() -> None:
    assert parse_bounded_int("100", "limit", 1, 100) == 100
    with pytest.raises(PermanentError, match="between 1 and 100"):
        parse_bounded_int("101", "limit", 1, 100)
    with pytest.raises(PermanentError, match="between 1 and 100"):
        parse_bounded_int("0", "limit", 1, 100)
