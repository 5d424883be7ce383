from __future__ import annotations

import pytest

from prism.errors import PermanentError
from prism.params import (
    is_ascii_number,
    parse_bounded_int,
    parse_choice,
    parse_text,
    parse_timestamp,
)


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


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("2026-11-30", "2026-11-30T00:00:00.000Z"),
        ("2026-11-30T16:08Z", "2026-11-30T16:08:00.000Z"),
        ("2026-11-30T16:08:55Z", "2026-11-30T16:08:55.000Z"),
        ("2026-11-30T16:08:55.123456+00:00", "2026-11-30T16:08:55.123Z"),
    ],
)
def test_a_utc_time_is_stored_in_the_form_results_carry(raw: str, stored: str) -> None:
    assert parse_timestamp(raw, "since") == stored


@pytest.mark.parametrize(
    "raw",
    ["", "2026-11-31", "2026-13-01", "2026-11-30T25:00Z", "2026-11-30T16:08:55",
     "2026-11-30T16:08:55+01:00", "2026-11-30 16:08:55Z", "２０２６-11-30", "1764518935",
     "2026-11-30T16:08:55.1234567Z", "2026-W48", "yesterday", "2026-11-30Z"],
)  # fmt: skip
def test_anything_but_a_utc_date_or_time_is_a_bad_request(raw: str) -> None:
    with pytest.raises(PermanentError) as info:
        parse_timestamp(raw, "since")
    assert info.value.http_status == 400 and "since" in info.value.message


def test_a_choice_is_exactly_one_of_its_values() -> None:
    assert parse_choice("ok", "status", ("ok", "rejected")) == "ok"
    for raw in ("OK", " ok", "ok ", "", "okay"):
        with pytest.raises(PermanentError, match="status must be one of ok, rejected"):
            parse_choice(raw, "status", ("ok", "rejected"))


@pytest.mark.parametrize("raw", ["", "x" * 1025, "a\nb", "a\x00b", "a\u2028b", "a\x1b[31mb"])
def test_free_text_is_short_and_holds_no_control_character(raw: str) -> None:
    with pytest.raises(PermanentError) as info:
        parse_text(raw, "blob", 1024)
    assert info.value.http_status == 400


def test_free_text_keeps_any_printable_character() -> None:
    name = "dir/ünïcödé 名前 (1) \u202egpj.exe"  # a bidi override is text, escaped in logs
    assert parse_text(name, "blob", 1024) == name
