"""One behaviour list, two implementations of the document operations the pipeline's
unit tests fake: the Cosmos DB emulator through the real SDK, and ``FakeDocuments``."""

from __future__ import annotations

from typing import Any

import pytest

from prism.storage import (
    RESULTS_INDEXING_POLICY,
    CosmosConnection,
    DocumentContainer,
    Keyset,
    Where,
    cosmos_client,
)
from tests.fakes import FakeDocuments


@pytest.fixture(params=[pytest.param("emulator", marks=pytest.mark.integration), "fake"])
def documents(request: pytest.FixtureRequest, unique_name: str) -> Any:
    """A container partitioned on a field other than the id."""
    if request.param == "fake":
        return FakeDocuments(partition_key_field="modality")
    connection: CosmosConnection = request.getfixturevalue("cosmos_settings")
    return DocumentContainer(
        lambda: cosmos_client(connection), unique_name, "contract", "/modality",
        create_if_missing=True,
    )  # fmt: skip


@pytest.fixture(params=[pytest.param("emulator", marks=pytest.mark.integration), "fake"])
def results(request: pytest.FixtureRequest, unique_name: str) -> Any:
    """A container with the results' layout: partitioned on the id, with their index."""
    if request.param == "fake":
        return FakeDocuments()
    connection: CosmosConnection = request.getfixturevalue("cosmos_settings")
    return DocumentContainer(
        lambda: cosmos_client(connection), unique_name, "results", "/id",
        create_if_missing=True, indexing_policy=RESULTS_INDEXING_POLICY,
    )  # fmt: skip


def test_a_missing_document_reads_as_none(documents: Any) -> None:
    assert documents.read("absent", "text") is None


def test_create_stores_once_and_refuses_the_same_id_in_the_same_partition(
    documents: Any,
) -> None:
    assert documents.create({"id": "a", "modality": "text", "n": 1}) is not None
    assert documents.create({"id": "a", "modality": "text", "n": 2}) is None
    stored = documents.read("a", "text")
    assert stored is not None and stored["n"] == 1


def test_the_same_id_in_another_partition_is_another_document(documents: Any) -> None:
    documents.create({"id": "b", "modality": "text", "n": 1})
    assert documents.create({"id": "b", "modality": "image", "n": 2}) is not None
    assert documents.read("b", "audio") is None


def test_upsert_overwrites(documents: Any) -> None:
    documents.upsert({"id": "c", "modality": "text", "n": 1})
    documents.upsert({"id": "c", "modality": "text", "n": 2})
    stored = documents.read("c", "text")
    assert stored is not None and stored["n"] == 2


# ---- pages across partitions ----------------------------------------------------------


def result(n: int, **fields: Any) -> dict[str, Any]:
    """Two documents per second, so created_at ties and the id must break them."""
    return {
        "id": f"{n:064x}",
        "created_at": f"2026-11-30T12:00:{n // 2:02d}.000Z",
        "modality": ("image", "text", "audio")[n % 3],
        "status": "rejected" if n % 4 == 0 else "ok",
        "error": {"code": "corrupt"} if n % 4 == 0 else None,
        "source": {"blob": f"dir{n % 2}/file-{n}.txt"},
        **fields,
    }


def ids(page: list[dict[str, Any]]) -> list[int]:
    return [int(d["id"], 16) for d in page]


@pytest.fixture
def filled(results: Any) -> Any:
    for n in range(25):
        results.upsert(result(n))
    return results


def test_a_page_is_ordered_by_the_field_then_the_id_both_descending(filled: Any) -> None:
    assert ids(filled.page(order_by="created_at", limit=5)) == [24, 23, 22, 21, 20]


def test_pages_resumed_after_their_last_document_cover_everything_once(filled: Any) -> None:
    seen: list[int] = []
    after = None
    while page := filled.page(order_by="created_at", limit=4, after=after):
        seen += ids(page)
        after = Keyset(page[-1]["created_at"], page[-1]["id"])
    assert seen == list(range(24, -1, -1))


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ([Where("modality", "=", "text")], [n for n in range(25) if n % 3 == 1]),
        ([Where("error.code", "=", "corrupt")], [n for n in range(25) if n % 4 == 0]),
        ([Where("status", "=", "ok"), Where("modality", "=", "image")],
         [n for n in range(25) if n % 4 and n % 3 == 0]),
        ([Where("source.blob", "=", "dir1/file-7.txt")], [7]),
        ([Where("source.blob", "startswith", "dir1/file-1")], [1, 11, 13, 15, 17, 19]),
        ([Where("created_at", ">=", "2026-11-30T12:00:10.000Z"),
          Where("created_at", "<", "2026-11-30T12:00:11.000Z")], [20, 21]),
        ([Where("created_at", ">", "2026-11-30T12:00:10.000Z")], [22, 23, 24]),
        ([Where("created_at", "<=", "2026-11-30T12:00:00.000Z")], [0, 1]),
        ([Where("modality", "=", "video")], []),
    ],
)  # fmt: skip
def test_a_page_holds_exactly_the_documents_meeting_every_condition(
    filled: Any, conditions: list[Where], expected: list[int]
) -> None:
    page = filled.page(conditions, order_by="created_at", limit=100)
    assert ids(page) == sorted(expected, reverse=True)


def test_a_missing_or_null_field_or_another_type_never_matches(results: Any) -> None:
    results.upsert({"id": "a", "created_at": "1", "n": 5, "error": None})
    results.upsert({"id": "b", "created_at": "2", "n": "5"})
    results.upsert({"id": "c", "created_at": "3"})

    assert [d["id"] for d in results.page([Where("n", "=", 5)], order_by="created_at",
                                          limit=10)] == ["a"]  # fmt: skip
    assert results.page([Where("error.code", "=", "x")], order_by="created_at", limit=10) == []
    assert [d["id"] for d in results.page([Where("n", ">=", "0")], order_by="created_at",
                                          limit=10)] == ["b"]  # fmt: skip


def test_pages_by_id_walk_every_partition_in_id_order_whatever_the_index(
    documents: Any,
) -> None:
    # A container with no index of its own (as the v1 results container has none for
    # the listing's order), documents in several partitions, none with a created_at.
    for n, modality in enumerate(["text", "image", "audio", "text", "image", "audio", "text"]):
        documents.upsert({"id": f"doc-{n}", "modality": modality, "n": n})
    walked: list[str] = []
    after: str | None = None
    while page := documents.page_by_id(limit=3, after_id=after):
        assert len(page) <= 3
        walked += [d["id"] for d in page]
        after = page[-1]["id"]
    assert walked == [f"doc-{n}" for n in range(7)]
    assert [d["id"] for d in documents.page_by_id(limit=2, after_id="doc-4")] == ["doc-5", "doc-6"]
    with pytest.raises(ValueError, match="limit"):
        documents.page_by_id(limit=0)
