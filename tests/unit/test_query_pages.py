"""A listing's pages and their continuation tokens, at their edges: the page size
bounds, what one page reads, a token's exact form, and why a token is refused."""

from __future__ import annotations

import base64
import json
from typing import Any, cast

import pytest

from prism.errors import ErrorCode, PermanentError
from prism.queries import (
    MAX_LIST_LIMIT,
    MAX_TOKEN_CHARS,
    ResultFilter,
    decode_continuation,
    encode_continuation,
    find_result,
    list_results,
)
from prism.storage import DocumentContainer
from prism.storage.documents import Keyset, Where
from tests.fakes import FakeDocuments

LAST = {"id": "f" * 64, "created_at": "2026-11-30T12:00:01.000Z"}
TEXT = ResultFilter(modality="text")


class AskedLimits(FakeDocuments):
    """Records how many documents each page asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.limits: list[int] = []

    def page(
        self,
        conditions: Any = (),
        *,
        order_by: str,
        limit: int,
        after: Keyset | None = None,
    ) -> list[dict[str, object]]:
        self.limits.append(limit)
        return super().page(conditions, order_by=order_by, limit=limit, after=after)


def stored(count: int) -> AskedLimits:
    store = AskedLimits()
    for n in range(count):
        store.upsert({"id": f"{n:064x}", "created_at": f"2026-11-30T12:00:{n:02d}.000Z",
                      "modality": "text", "_ts": n})  # fmt: skip
    return store


def token_of(payload: dict[str, Any], width: int = 0) -> str:
    """A token for ``payload``, its JSON padded with spaces to ``width`` bytes."""
    raw = json.dumps(payload, separators=(",", ":")).encode().ljust(width)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_a_token_issued_for_a_query_is_always_the_same_string() -> None:
    # A client may hold a token across a restart or a deploy of this token version: the
    # same position and query must give the same token, and it must still resume there.
    issued = encode_continuation(LAST, TEXT)
    assert issued == (
        "eyJ2IjoxLCJ0IjoiMjAyNi0xMS0zMFQxMjowMDowMS4wMDBaIiwiaSI6ImZmZmZmZmZmZmZmZmZmZmZmZmZm"
        "ZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmYiLCJmIjoiOTlmYWUyYmY0YzE1"
        "YjU0NiJ9"
    )
    assert decode_continuation(issued, TEXT) == Keyset(LAST["created_at"], LAST["id"])


def test_tokens_up_to_the_length_limit_are_read_longer_ones_are_refused() -> None:
    payload = {"v": 1, "t": LAST["created_at"], "i": LAST["id"], "f": TEXT.digest()}
    longest = token_of(payload, MAX_TOKEN_CHARS * 3 // 4)
    assert len(longest) == MAX_TOKEN_CHARS
    assert decode_continuation(longest, TEXT) == Keyset(LAST["created_at"], LAST["id"])
    with pytest.raises(PermanentError, match="not a token"):
        decode_continuation(token_of(payload, MAX_TOKEN_CHARS * 3 // 4 + 3), TEXT)


GOOD = {"v": 1, "t": LAST["created_at"], "i": LAST["id"], "f": TEXT.digest()}


@pytest.mark.parametrize(
    ("continuation", "why"),
    [
        ("", "not a token"),
        ("a.b", "not a token"),
        (token_of(GOOD)[:-1], "not a token"),
        (token_of({"v": 1}), "not a token"),
        (token_of({**GOOD, "v": 2}), "a token of another version"),
        (token_of({**GOOD, "t": "yesterday"}), "not a position"),
        (token_of({**GOOD, "i": "A" * 64}), "not a position"),
        (token_of({**GOOD, "f": ResultFilter().digest()}), "issued for other filters"),
    ],
    ids=["empty", "alphabet", "cut", "fields", "version", "time", "id", "query"],
)
def test_a_refused_token_says_why_and_what_to_do(continuation: str, why: str) -> None:
    with pytest.raises(PermanentError) as caught:
        decode_continuation(continuation, TEXT)
    assert caught.value.code is ErrorCode.INVALID_CONTINUATION
    assert caught.value.message == (
        f"the continuation token is not one this API issued for these filters ({why}); "
        "list again without it"
    )


@pytest.mark.parametrize("limit", [1, MAX_LIST_LIMIT])
def test_a_page_of_any_size_from_one_to_the_limit_is_served(limit: int) -> None:
    page = list_results(cast(DocumentContainer, stored(3)), None, limit)
    assert len(page.results) == min(limit, 3)
    assert (page.continuation is None) == (limit >= 3)


@pytest.mark.parametrize("limit", [0, MAX_LIST_LIMIT + 1])
def test_a_page_size_out_of_bounds_is_a_bad_request_that_says_the_bounds(limit: int) -> None:
    with pytest.raises(PermanentError) as caught:
        list_results(cast(DocumentContainer, stored(3)), None, limit)
    assert caught.value.code is ErrorCode.BAD_REQUEST
    assert caught.value.message == f"limit must be between 1 and {MAX_LIST_LIMIT}: {limit}"


def test_a_page_reads_one_document_more_than_it_returns_and_no_more() -> None:
    store = stored(10)
    page = list_results(cast(DocumentContainer, store), None, 4)
    assert store.limits == [5]  # the one more tells that another page follows
    assert len(page.results) == 4 and page.continuation is not None
    assert all(not key.startswith("_") for document in page.results for key in document)


def test_a_result_found_by_id_is_its_document_without_system_properties() -> None:
    store = stored(2)
    found = find_result(cast(DocumentContainer, store), f"{1:064x}")
    assert found == {"id": f"{1:064x}", "created_at": "2026-11-30T12:00:01.000Z",
                     "modality": "text"}  # fmt: skip
    assert find_result(cast(DocumentContainer, store), f"{7:064x}") is None


def test_a_range_that_holds_no_time_lists_nothing() -> None:
    store = stored(5)
    at = "2026-11-30T12:00:02.000Z"
    empty = ResultFilter(since=at, until=at)
    assert list_results(cast(DocumentContainer, store), empty, 10).results == []
    one = ResultFilter(since=at, until="2026-11-30T12:00:03.000Z")  # since in, until out
    found = list_results(cast(DocumentContainer, store), one, 10).results
    assert [d["created_at"] for d in found] == [at]
    assert Where("created_at", ">=", at) in one.conditions()
