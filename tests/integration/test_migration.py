"""``prism migrate-results`` against the Cosmos DB emulator through the real SDK: a v1
container (partitioned on /modality, without the listing's composite index) copied into
a container with the results' layout, where the listing and the search find what was
copied; a second run writes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from prism.queries import list_results
from prism.results import public_view
from prism.search import SearchRequest, search_stored
from prism.storage import (
    RESULTS_INDEXING_POLICY,
    CosmosConnection,
    DocumentContainer,
    cosmos_client,
)
from prism_tools.migration import migrate_results
from tests.unit.test_migration import Embedder, audio_v1, image_v1, text_v1

pytestmark = pytest.mark.integration

# The v1 container's index, as the Bicep of before declared it: no composite index.
V1_INDEXING_POLICY: dict[str, Any] = {
    "indexingMode": "consistent",
    "includedPaths": [{"path": "/modality/?"}, {"path": "/status/?"}, {"path": "/created_at/?"}],
    "excludedPaths": [{"path": "/*"}],
}


def test_a_v1_container_is_copied_into_the_results_container_once(
    cosmos_settings: CosmosConnection, unique_name: str
) -> None:
    def client() -> Any:
        return cosmos_client(cosmos_settings)

    source = DocumentContainer(
        client, unique_name, "results", "/modality",
        create_if_missing=True, indexing_policy=V1_INDEXING_POLICY,
    )  # fmt: skip
    target = DocumentContainer(
        client, unique_name, "results-v2", "/id",
        create_if_missing=True, indexing_policy=RESULTS_INDEXING_POLICY,
    )  # fmt: skip
    originals = [text_v1(), image_v1(), audio_v1(), audio_v1("silence.wav", "")]
    for document in originals:
        source.upsert(public_view(document))

    report = migrate_results(source, target, Embedder())
    assert report.finished and report.read == report.upgraded == 4, report.to_dict()

    listed = list_results(target, limit=10).results
    assert sorted(d["id"] for d in listed) == sorted(d["id"] for d in originals)
    assert {d["schema_version"] for d in listed} == {2}
    found = search_stored(target, SearchRequest("tiger cat, tabby"), Embedder(), backend="scan")
    assert found["results"][0]["id"] == originals[1]["id"]
    assert found["count"] == 3  # the silent recording has nothing to be found by

    again = migrate_results(source, target, Embedder())
    assert again.finished and again.upgraded == 0 and again.already_current == 4
