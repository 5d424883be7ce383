"""Each route's parameters, parsed by its model (prism.http_contract): what each kind of
parameter takes, and the coded 400 that names every one that is wrong."""

from __future__ import annotations

import pytest

from prism.errors import PermanentError
from prism.http_contract import (
    FileParameters,
    InferParameters,
    ListParameters,
    SearchParameters,
    UploadParameters,
    query_words,
)
from prism.params import is_ascii_number


def refused(model: type[ListParameters] | type[SearchParameters], **params: str) -> str:
    with pytest.raises(PermanentError) as info:
        model.from_params(params)
    assert info.value.http_status == 400 and info.value.code.value == "bad_request"
    return info.value.message


@pytest.mark.parametrize("raw", ["²", "１０", "١٠", "1_0", " 10", "10 ", "+1", "-1", "", "1e3",
                                 "0x10", "9" * 19])  # fmt: skip
def test_only_ascii_digits_are_numbers(raw: str) -> None:
    assert not is_ascii_number(raw)
    assert refused(ListParameters, limit=raw).startswith("limit: ")


def test_a_number_outside_its_bounds_is_refused_with_the_bound() -> None:
    assert ListParameters.from_params({"limit": "500"}).limit == 500
    assert "less than or equal to 500" in refused(ListParameters, limit="501")
    assert "greater than or equal to 1" in refused(ListParameters, limit="0")
    assert "less than or equal to 50" in refused(SearchParameters, q="cat", limit="51")


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("2026-11-30", "2026-11-30T00:00:00.000Z"),
        ("2026-11-30T16:08:55Z", "2026-11-30T16:08:55.000Z"),
        ("2026-11-30T16:08:55.123456+00:00", "2026-11-30T16:08:55.123Z"),
        ("2026-11-30T16:08:55.1234567Z", "2026-11-30T16:08:55.123Z"),
        ("2026-11-30T17:08:55+01:00", "2026-11-30T16:08:55.000Z"),
        ("2026-11-30t16:08:55z", "2026-11-30T16:08:55.000Z"),
        ("2026-12-01T00:30:00+00:30", "2026-12-01T00:00:00.000Z"),
    ],
)
def test_an_rfc_3339_time_is_stored_in_the_utc_form_results_carry(raw: str, stored: str) -> None:
    assert ListParameters.from_params({"since": raw}).since == stored


@pytest.mark.parametrize(
    "raw",
    ["", "2026-11-31", "2026-13-01", "2026-11-30T25:00:00Z", "2026-11-30T16:08:55",
     "2026-11-30T16:08Z", "2026-11-30 16:08:55Z", "２０２６-11-30", "1764518935",
     "2026-W48", "yesterday", "2026-11-30Z", "2026-11-30T16:08:55+24:00",
     # Real times, but a year out of range once in UTC (an OverflowError, so a 500, once).
     "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"],
)  # fmt: skip
def test_anything_but_an_rfc_3339_date_or_date_time_is_refused(raw: str) -> None:
    assert refused(ListParameters, since=raw).startswith("since: ")


def test_a_choice_is_exactly_one_of_its_values_and_names_them_all() -> None:
    assert ListParameters.from_params({"status": "ok"}).status == "ok"
    for raw in ("OK", " ok", "ok ", "", "okay"):
        assert refused(ListParameters, status=raw) == "status: must be one of ok, rejected"
    # What a modality filter takes depends on the route, and its message says exactly that.
    assert "unrouted" in refused(ListParameters, modality="x")
    assert "unrouted" not in refused(SearchParameters, q="cat", modality="x")
    with pytest.raises(PermanentError) as infer:
        InferParameters.from_params({"modality": "unrouted"})
    assert infer.value.message.endswith("image, audio, text, document, video")


@pytest.mark.parametrize("raw", ["", "x" * 1025, "a\nb", "a\x00b", "a\u2028b", "a\x1b[31mb"])
def test_a_name_is_short_and_holds_no_control_character(raw: str) -> None:
    assert refused(ListParameters, blob=raw).startswith("blob: ")
    with pytest.raises(PermanentError):
        FileParameters.from_params({"name": raw})


def test_a_name_keeps_any_printable_character() -> None:
    name = "dir/ünïcödé 名前 (1) \u202egpj.exe"  # a bidi override is text, escaped in logs
    assert ListParameters.from_params({"blob": name}).blob == name


def test_a_posted_file_name_longer_than_the_contract_says_is_refused() -> None:
    # Both once took any length: the document said 1,024.
    for model in (InferParameters, UploadParameters):
        assert model.from_params({"name": "x" * 1024}).name == "x" * 1024
        with pytest.raises(PermanentError, match="name: String should have at most 1024"):
            model.from_params({"name": "x" * 1025})


def test_the_function_key_is_taken_beside_any_route_parameters() -> None:
    assert ListParameters.from_params({"code": "k", "limit": "5"}).limit == 5


def test_an_unknown_parameter_is_named_with_what_the_route_takes() -> None:
    message = refused(SearchParameters, q="cat", prefix="a")
    assert (
        message == "unknown parameter 'prefix'; this route takes q, modality, since, until, limit"
    )


def test_every_wrong_parameter_is_named_at_once() -> None:
    message = refused(ListParameters, limit="x", status="y", since="z")
    assert [part.split(":")[0] for part in message.split("; ")] == ["status", "since", "limit"]


@pytest.mark.parametrize("words", ["\u200b", "   ", "?!", "_", "\u200b\u200c"])
def test_a_query_without_a_letter_or_digit_is_refused_by_the_name_its_caller_uses(
    words: str,
) -> None:
    with pytest.raises(PermanentError) as info:
        query_words(words, "QUERY")
    assert info.value.message.startswith("QUERY: ")
