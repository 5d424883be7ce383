from __future__ import annotations

from typing import Any

import pytest

from prism.storage import DocumentContainer, deterministic_id


def test_deterministic_ids_depend_on_every_part_and_its_boundaries() -> None:
    assert deterministic_id("a", "b") == deterministic_id("a", "b")
    assert deterministic_id("ab", "c") != deterministic_id("a", "bc")
    assert len(deterministic_id("x")) == 64


def container(path: str = "/modality") -> DocumentContainer:
    client: Any = None  # never reached: validation happens before any call
    return DocumentContainer(client, "db", "results", path, create_if_missing=True)


@pytest.mark.parametrize("path", ["modality", "/a/b", "/1x", "/"])
def test_partition_key_must_be_one_top_level_field(path: str) -> None:
    with pytest.raises(ValueError, match="partition key"):
        container(path)


@pytest.mark.parametrize(
    "document",
    [{"id": "a"}, {"id": "a/b", "modality": "image"}, {"id": 7, "modality": "image"}],
)
def test_documents_need_their_partition_key_and_a_valid_id(document: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"partition key|document id"):
        container().upsert(document)


def test_query_parameters_cannot_replace_the_partition_predicate() -> None:
    with pytest.raises(ValueError, match="@partition"):
        container().query("image", where="c.x = @partition", parameters={"@partition": "text"})
