"""The Cosmos DB layout the code relies on is the one the Bicep deploys: the partition
keys every point read names, and the index every results query needs — real Cosmos DB
refuses a filter on a path excluded from indexing and an ORDER BY on two fields that no
composite index serves, and the local emulator checks neither the first nor the exact
policy. The emulator creates its containers from the same constants (prism.storage)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prism.search import VECTOR_EMBEDDING_POLICY, VECTOR_INDEXES
from prism.storage import (
    CACHE_PARTITION_KEY,
    RESULTS_INDEXING_POLICY,
    RESULTS_ORDER_BY,
    RESULTS_PARTITION_KEY,
)
from prism_tools.cost.cosmos import load_ru_table, results_indexing_policy

from .bicep_checks import (
    BicepFile,
    container_resources,
    cosmos_container_problems,
    literal_value,
    property_node,
)
from .conftest import ROOT, replace_once

COSMOS = ROOT / "bicep" / "modules" / "cosmos.bicep"


def deployed(path: Path = COSMOS) -> dict[str, dict[str, Any]]:
    """Each container's partition key and indexing policy, as data."""
    bicep = BicepFile.read(path)
    return {
        name: {
            key: literal_value(bicep, property_node(resource, key))
            for key in ("partitionKey", "indexingPolicy", "vectorEmbeddingPolicy")
        }
        for name, resource in container_resources(bicep).items()
    }


def test_both_containers_are_partitioned_on_the_key_every_point_read_names() -> None:
    layouts = deployed()
    assert layouts["results"]["partitionKey"] == {"paths": [RESULTS_PARTITION_KEY], "kind": "Hash"}
    assert layouts["cache"]["partitionKey"] == {"paths": [CACHE_PARTITION_KEY], "kind": "Hash"}


def test_the_deployed_results_index_is_the_one_the_emulator_gets_and_the_vector_index() -> None:
    # The emulator has no vector search: it gets the policy without vectorIndexes.
    deployed_policy = deployed()["results"]["indexingPolicy"]
    assert deployed_policy == {**RESULTS_INDEXING_POLICY, "vectorIndexes": VECTOR_INDEXES}


def test_the_write_ru_allowance_counts_the_deployed_results_index() -> None:
    # Microsoft's RU table was measured with indexing off: prism_tools.cost.model adds an allowance
    # per term of the index the Bicep deploys (five paths, a composite index of two, a
    # vector index), and none for the cache, which indexes nothing.
    allowance = load_ru_table().index_allowance
    assert allowance is not None
    layouts = deployed()
    assert results_indexing_policy() == layouts["results"]["indexingPolicy"]
    assert allowance.terms(layouts["results"]["indexingPolicy"]) == {
        "included_paths": 5, "composite_paths": 2, "vector_indexes": 1,
    }  # fmt: skip
    assert allowance.write_ru(layouts["cache"]["indexingPolicy"]) == 0


def test_the_results_vector_policy_is_the_one_search_writes_and_queries() -> None:
    layouts = deployed()
    assert layouts["results"]["vectorEmbeddingPolicy"] == VECTOR_EMBEDDING_POLICY
    assert layouts["cache"]["vectorEmbeddingPolicy"] is None
    # The vector path is not range-indexed (every '/*' path is excluded, so it is not).
    included = {entry["path"] for entry in RESULTS_INDEXING_POLICY["includedPaths"]}
    assert not any(path.startswith("/search") for path in included)


def test_the_results_pages_order_is_served_by_a_composite_index() -> None:
    # DocumentContainer.page sorts by (order field DESC, id DESC).
    assert [
        {"path": f"/{RESULTS_ORDER_BY}", "order": "descending"},
        {"path": "/id", "order": "descending"},
    ] in RESULTS_INDEXING_POLICY["compositeIndexes"]


def test_a_results_index_that_drifts_from_the_code_is_seen(broken: Path) -> None:
    cosmos = broken / "modules" / "cosmos.bicep"
    replace_once(cosmos, "path: '/source/blob/?'", "path: '/source/name/?'")
    replace_once(cosmos, "dataType: 'int8'", "dataType: 'float32'")
    layout = deployed(cosmos)["results"]
    assert layout["indexingPolicy"] != {**RESULTS_INDEXING_POLICY, "vectorIndexes": VECTOR_INDEXES}
    assert layout["vectorEmbeddingPolicy"] != VECTOR_EMBEDDING_POLICY


def test_a_composite_index_of_one_path_or_an_unknown_order_is_reported(broken: Path) -> None:
    cosmos = broken / "modules" / "cosmos.bicep"
    replace_once(
        cosmos,
        """            {
              path: '/id'
              order: 'descending'
            }
""",
        "",
    )
    replace_once(cosmos, "order: 'descending'", "order: 'desc'")
    problems = cosmos_container_problems(BicepFile.read(cosmos))
    assert any("a composite index takes two or more paths" in p for p in problems)
    assert any("composite index order 'desc' is not ascending or descending" in p
               for p in problems)  # fmt: skip


# Cosmos DB's published vector rules (Microsoft's "Vector search in Azure Cosmos DB for
# NoSQL" and "Vector indexing policies"): the data types and distance functions a
# vector embedding policy takes, and the most dimensions each index type indexes.
VECTOR_DATA_TYPES = ("float32", "float16", "int8", "uint8")
VECTOR_DISTANCES = ("cosine", "dotproduct", "euclidean")
VECTOR_INDEX_MAX_DIMENSIONS = {"flat": 505, "quantizedFlat": 4096, "diskANN": 4096}


def vector_problems(layout: dict[str, Any]) -> list[str]:
    """What Cosmos DB would refuse in a container's vector policy and vector indexes."""
    policy = layout.get("vectorEmbeddingPolicy") or {"vectorEmbeddings": []}
    indexing = layout.get("indexingPolicy") or {}
    embeddings = {entry["path"]: entry for entry in policy["vectorEmbeddings"]}
    problems = []
    for path, entry in embeddings.items():
        if entry.get("dataType") not in VECTOR_DATA_TYPES:
            problems.append(f"{path}: dataType {entry.get('dataType')!r}")
        if entry.get("distanceFunction") not in VECTOR_DISTANCES:
            problems.append(f"{path}: distanceFunction {entry.get('distanceFunction')!r}")
        included = [p["path"] for p in indexing.get("includedPaths", [])]
        if any(p.startswith(path) or p == "/*" for p in included):
            problems.append(f"{path}: a vector path must not be range-indexed")
    for index in indexing.get("vectorIndexes", []):
        entry = embeddings.get(index["path"])
        if entry is None:
            problems.append(f"{index['path']}: a vector index needs the path in the policy")
            continue
        most = VECTOR_INDEX_MAX_DIMENSIONS.get(index["type"])
        if most is None:
            problems.append(f"{index['path']}: vector index type {index['type']!r}")
        elif not 1 <= entry["dimensions"] <= most:
            problems.append(f"{index['path']}: {index['type']} indexes up to {most} dimensions")
    return problems


def test_the_results_vector_policy_keeps_cosmos_dbs_rules() -> None:
    assert vector_problems(deployed()["results"]) == []


def test_a_vector_index_cosmos_db_would_refuse_is_reported(broken: Path) -> None:
    cosmos = broken / "modules" / "cosmos.bicep"
    replace_once(cosmos, "type: 'diskANN'", "type: 'flat'")  # flat: up to 505 dimensions
    replace_once(cosmos, "dimensions: 384", "dimensions: 1536")
    replace_once(cosmos, "distanceFunction: 'cosine'", "distanceFunction: 'angular'")
    problems = vector_problems(deployed(cosmos)["results"])
    assert problems == [
        "/search/vector: distanceFunction 'angular'",
        "/search/vector: flat indexes up to 505 dimensions",
    ]
