from __future__ import annotations

from typing import Any

import pytest

from prism.storage import DocumentContainer, Where, deterministic_id
from prism.storage.documents import field_reference


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


@pytest.mark.parametrize("path", ["", "a..b", "a.b c", "a.b)", "1a", "x OR 1=1", "a/b", "c['x']"])
def test_a_field_path_that_is_not_dot_separated_names_never_reaches_the_sql(path: str) -> None:
    with pytest.raises(ValueError, match="field path"):
        field_reference(path)
    with pytest.raises(ValueError, match="field path"):
        Where(path, "=", "x")


def test_a_nested_field_path_names_the_nested_property() -> None:
    assert field_reference("error.code") == "c.error.code"


def test_a_condition_takes_only_the_operators_the_adapter_translates() -> None:
    with pytest.raises(ValueError, match="operator"):
        Where("status", "!=", "ok")
    with pytest.raises(ValueError, match="startswith takes a string"):
        Where("status", "startswith", 1)


@pytest.mark.parametrize("limit", [0, 1001])
def test_a_page_is_between_one_and_a_thousand_documents(limit: int) -> None:
    with pytest.raises(ValueError, match="limit"):
        container().page(order_by="created_at", limit=limit)
