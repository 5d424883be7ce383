from __future__ import annotations

import pytest

from prism.settings import load_settings
from prism.storage import (
    ConditionFailedError,
    CosmosConnection,
    DocumentContainer,
    cosmos_client,
    deterministic_id,
    results_container,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def results(cosmos_settings: CosmosConnection, unique_name: str) -> DocumentContainer:
    return DocumentContainer(
        cosmos_client(cosmos_settings),
        unique_name,
        "results",
        "/modality",
        create_if_missing=True,
    )


def doc(identifier: str, modality: str = "image", **fields: object) -> dict[str, object]:
    return {"id": identifier, "modality": modality, **fields}


def test_results_container_is_created_on_first_use_from_settings(
    cosmos_settings: CosmosConnection, unique_name: str
) -> None:
    container = results_container(cosmos_settings, load_settings({}, cosmos_database=unique_name))

    container.upsert(doc("a"))

    stored = container.read("a", "a")  # partitioned on its own id
    assert stored is not None
    assert stored["modality"] == "image"


def test_the_results_container_is_created_with_the_index_its_pages_are_ordered_by(
    cosmos_settings: CosmosConnection, unique_name: str
) -> None:
    # The emulator, like Cosmos DB, refuses an ORDER BY on two fields that no composite
    # index serves: a container created without the results' policy fails here.
    container = results_container(cosmos_settings, load_settings({}, cosmos_database=unique_name))
    for n in range(3):
        container.upsert(doc(f"r{n}", created_at="2026-11-30T12:00:00.000Z"))

    page = container.page(order_by="created_at", limit=2)

    assert [d["id"] for d in page] == ["r2", "r1"]


def test_upsert_with_a_deterministic_id_keeps_one_document(results: DocumentContainer) -> None:
    identifier = deterministic_id("incoming/cat.jpg", '"0x1"')

    results.upsert(doc(identifier, status="ok", attempt=1))
    results.upsert(doc(identifier, status="ok", attempt=2))

    stored = results.query("image")
    assert [(d["id"], d["attempt"]) for d in stored] == [(identifier, 2)]


def test_create_returns_none_when_the_id_exists(results: DocumentContainer) -> None:
    assert results.create(doc("a", attempt=1)) is not None
    assert results.create(doc("a", attempt=2)) is None
    assert results.read("a", "image")["attempt"] == 1  # type: ignore[index]


def test_point_read_of_a_missing_id_or_wrong_partition_is_none(
    results: DocumentContainer,
) -> None:
    results.upsert(doc("a"))

    assert results.read("missing", "image") is None
    assert results.read("a", "text") is None


def test_replace_with_a_stale_etag_fails_with_condition_failed(
    results: DocumentContainer,
) -> None:
    first = results.upsert(doc("a", version=1))
    results.replace(doc("a", version=2), if_match=first["_etag"])

    with pytest.raises(ConditionFailedError):
        results.replace(doc("a", version=3), if_match=first["_etag"])
    assert results.read("a", "image")["version"] == 2  # type: ignore[index]


def test_query_stays_in_its_partition_and_orders_and_limits(results: DocumentContainer) -> None:
    for n in range(5):
        results.upsert(doc(f"i{n}", "image", created=n))
    results.upsert(doc("t0", "text", created=99))

    newest = results.query("image", order_by="created", limit=2)
    filtered = results.query("image", where="c.created >= @from", parameters={"@from": 3})

    assert [d["id"] for d in newest] == ["i4", "i3"]
    assert sorted(d["id"] for d in filtered) == ["i3", "i4"]


def test_delete_reports_whether_the_document_existed(results: DocumentContainer) -> None:
    results.upsert(doc("a"))
    assert results.delete("a", "image")
    assert not results.delete("a", "image")
