"""Listing results for bulk users: pages resumed by continuation tokens, every filter,
strict parameters, and tokens that this API did not issue (garbled, forged, another
query's) refused with a code. Over in-memory documents contract-tested against the
Cosmos DB emulator (tests/integration/test_documents_contract.py)."""

from __future__ import annotations

import base64
import json
from typing import Any, cast

import pytest

from prism.errors import ErrorCode, PermanentError
from prism.http_contract import ListParameters
from prism.queries import (
    MAX_LIST_LIMIT,
    ResultFilter,
    decode_continuation,
    encode_continuation,
    list_results,
)
from prism.storage import RESULTS_INDEXED_FIELDS, DocumentContainer
from tests.fakes import FakeDocuments


def document(n: int, **fields: Any) -> dict[str, Any]:
    """Three documents per second, so times tie and the id orders them."""
    rejected = n % 4 == 0
    return {
        "id": f"{n:064x}",
        "created_at": f"2026-11-30T12:{n // 180:02d}:{n // 3 % 60:02d}.000Z",
        "modality": ("image", "text", "audio")[n % 3] if not rejected else "unrouted",
        "status": "rejected" if rejected else "ok",
        "error": {"code": ("corrupt", "empty")[n % 8 // 4], "message": "x"} if rejected else None,
        "source": {"kind": "blob", "blob": f"batch{n % 2}/file-{n}.txt", "name": "x", "size": 1},
        **fields,
    }


@pytest.fixture
def results() -> DocumentContainer:
    store = FakeDocuments()
    for n in range(50):
        store.upsert(document(n))
    return cast(DocumentContainer, store)


def numbers(page: list[dict[str, Any]]) -> list[int]:
    return [int(d["id"], 16) for d in page]


def every_page(
    results: DocumentContainer, filters: ResultFilter | None, limit: int
) -> list[list[int]]:
    pages, token = [], None
    while True:
        page = list_results(results, filters, limit, token)
        pages.append(numbers(page.results))
        if page.continuation is None:
            return pages
        token = page.continuation


def test_pages_follow_their_continuation_tokens_through_every_result_once(
    results: DocumentContainer,
) -> None:
    pages = every_page(results, None, 7)
    assert [len(p) for p in pages] == [7] * 7 + [1]
    assert [n for page in pages for n in page] == list(range(49, -1, -1))


def test_the_last_page_has_no_continuation_even_when_it_is_full(
    results: DocumentContainer,
) -> None:
    pages = every_page(results, None, 10)
    assert [len(p) for p in pages] == [10] * 5  # no empty sixth page


@pytest.mark.parametrize(
    ("params", "keeps"),
    [
        ({"modality": "text"}, lambda d: d["modality"] == "text"),
        ({"modality": "unrouted"}, lambda d: d["modality"] == "unrouted"),
        ({"status": "rejected"}, lambda d: d["status"] == "rejected"),
        ({"status": "ok"}, lambda d: d["status"] == "ok"),
        ({"error_code": "empty"}, lambda d: (d["error"] or {}).get("code") == "empty"),
        ({"since": "2026-11-30T12:00:10Z"}, lambda d: d["created_at"] >= "2026-11-30T12:00:10"),
        ({"until": "2026-11-30T12:00:03Z"}, lambda d: d["created_at"] < "2026-11-30T12:00:03"),
        ({"since": "2026-11-30T12:00:05Z", "until": "2026-11-30T12:00:06Z"},
         lambda d: d["created_at"].startswith("2026-11-30T12:00:05")),
        ({"blob": "batch1/file-7.txt"}, lambda d: d["source"]["blob"] == "batch1/file-7.txt"),
        ({"prefix": "batch0/file-1"}, lambda d: d["source"]["blob"].startswith("batch0/file-1")),
        ({"modality": "image", "status": "ok", "prefix": "batch1/"},
         lambda d: d["modality"] == "image" and d["source"]["blob"].startswith("batch1/")),
    ],
)  # fmt: skip
def test_every_filter_keeps_exactly_the_results_that_meet_it_across_pages(
    results: DocumentContainer, params: dict[str, str], keeps: Any
) -> None:
    expected = [n for n in range(49, -1, -1) if keeps(document(n))]
    assert expected, "a filter that keeps nothing proves nothing"
    filters = ListParameters.from_params(params).result_filter()
    assert [n for page in every_page(results, filters, 4) for n in page] == expected


def test_every_filter_runs_on_an_indexed_field() -> None:
    # The container indexes RESULTS_INDEXED_FIELDS only (real Cosmos DB refuses a filter on an
    # excluded path): a filter on anything else must fail here first.
    everything = ResultFilter(modality="text", status="ok", error_code="corrupt",
                              since="2026-11-30T00:00:00.000Z", until="2026-12-01T00:00:00.000Z",
                              blob="a")  # fmt: skip
    prefix = ResultFilter(prefix="a")
    paths = {c.path for f in (everything, prefix) for c in f.conditions()}
    assert paths == set(RESULTS_INDEXED_FIELDS)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"modality": "hologram"}, "modality: must be one of image, audio, text, document, "
         "video, unrouted"),
        ({"status": "OK"}, "status: must be one of ok, rejected"),
        ({"error_code": "nope"}, "error_code: must be one of unsupported_type"),
        ({"since": "yesterday"}, "since: must be an RFC 3339 date or date-time"),
        ({"until": "2026-02-30"}, "until: is not a real date"),
        ({"blob": ""}, "blob: String should have at least 1 character"),
        ({"prefix": "a\nb"}, "prefix: must not contain control characters"),
        ({"limit": "0"}, "limit: Input should be greater than or equal to 1"),
        ({"limit": f"{MAX_LIST_LIMIT + 1}"}, "limit: Input should be less than or equal to 500"),
        ({"limit": "1e2"}, "limit: must be a whole number written in digits 0-9"),
        ({"continuation": "a.b"}, "continuation: must be letters, digits, - and _"),
    ],
)  # fmt: skip
def test_a_malformed_parameter_is_a_bad_request_that_says_which(
    params: dict[str, str], message: str
) -> None:
    with pytest.raises(PermanentError, match=message) as info:
        ListParameters.from_params(params)
    assert info.value.code is ErrorCode.BAD_REQUEST and info.value.http_status == 400


def token(payload: object) -> str:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


NONE = ResultFilter()
GOOD = {"v": 1, "t": "2026-11-30T12:00:01.000Z", "i": "0" * 63 + "a", "f": NONE.digest()}


@pytest.mark.parametrize(
    "continuation",
    [
        "",
        "!!!",
        "a" * 513,
        token(GOOD) + "=",  # padding is not part of a token
        "ünïcode",
        token(b"\xff\xfe not utf-8"),
        token(b"not json"),
        token([1, 2]),
        token({**GOOD, "extra": 1}),
        token({k: v for k, v in GOOD.items() if k != "f"}),
        token({**GOOD, "v": 2}),
        token({**GOOD, "v": True}),
        token({**GOOD, "t": "2026-11-30"}),
        token({**GOOD, "t": "' OR 1=1 --"}),
        token({**GOOD, "t": 5}),
        token({**GOOD, "i": "../" + "0" * 61}),
        token({**GOOD, "i": "A" * 64}),
        token({**GOOD, "i": None}),
        token({**GOOD, "f": ResultFilter(modality="text").digest()}),  # another query's
    ],
)
def test_a_continuation_token_this_api_did_not_issue_is_refused_with_its_code(
    results: DocumentContainer, continuation: str
) -> None:
    with pytest.raises(PermanentError) as info:
        list_results(results, NONE, 5, continuation)
    assert info.value.code is ErrorCode.INVALID_CONTINUATION
    assert info.value.http_status == 400


def test_a_token_resumes_only_the_query_it_was_issued_for(results: DocumentContainer) -> None:
    text = ResultFilter(modality="text")
    first = list_results(results, text, 2)
    assert first.continuation is not None
    with pytest.raises(PermanentError) as info:
        list_results(results, ResultFilter(modality="image"), 2, first.continuation)
    assert info.value.code is ErrorCode.INVALID_CONTINUATION
    again = list_results(results, ListParameters(modality="text").result_filter(), 2,
                         first.continuation)  # fmt: skip
    assert set(numbers(again.results)).isdisjoint(numbers(first.results))


def test_a_token_holds_a_position_and_its_query_and_nothing_else() -> None:
    last = {"id": "f" * 64, "created_at": "2026-11-30T12:00:01.000Z"}
    issued = encode_continuation(last, NONE)
    assert set(issued) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    position = decode_continuation(issued, NONE)
    assert (position.value, position.id) == (last["created_at"], last["id"])
