"""One behaviour list, two implementations of the document operations the pipeline's
unit tests fake: the Cosmos DB emulator through the real SDK, and ``FakeDocuments``."""

from __future__ import annotations

from typing import Any

import pytest

from prism.storage import CosmosConnection, DocumentContainer, cosmos_client
from tests.fakes import FakeDocuments


@pytest.fixture(params=[pytest.param("emulator", marks=pytest.mark.integration), "fake"])
def documents(request: pytest.FixtureRequest, unique_name: str) -> Any:
    if request.param == "fake":
        return FakeDocuments()
    connection: CosmosConnection = request.getfixturevalue("cosmos_settings")
    return DocumentContainer(
        lambda: cosmos_client(connection), unique_name, "contract", "/modality",
        create_if_missing=True,
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
