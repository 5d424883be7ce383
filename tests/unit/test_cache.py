"""Prediction cache keys, invalidation, the in-process LRU, and shared entries that name
the result document holding the payload (stored once)."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from typing import Any, cast

import pytest

from prism.cache import PredictionCache, cache_key
from prism.onnx.registry import ModelRef
from prism.storage import DocumentContainer
from tests.fakes import FakeDocuments, RecordingDocuments

MODEL = ModelRef("efficientnet-lite0", "1.0.0", "1")
SHA = "ab" * 32
KEY = cache_key(SHA, MODEL)
RESULT = {"labels": [{"label": "tabby cat", "probability": 0.4}], "embedding": "x" * 600}


def test_the_key_is_stable_for_the_same_content_and_model() -> None:
    assert cache_key(SHA, MODEL) == cache_key(SHA, ModelRef("efficientnet-lite0", "1.0.0", "1"))


def test_a_new_model_version_or_preprocessing_version_misses() -> None:
    keys = {
        cache_key(SHA, MODEL),
        cache_key(SHA, ModelRef("efficientnet-lite0", "1.0.1", "1")),
        cache_key(SHA, ModelRef("efficientnet-lite0", "1.0.0", "2")),
        cache_key(SHA, ModelRef("other-model", "1.0.0", "1")),
        cache_key("cd" * 32, MODEL),
    }
    assert len(keys) == 5


def test_a_remembered_result_is_returned_unchanged() -> None:
    cache = PredictionCache(None, capacity=4)
    cache.remember("k", RESULT)
    assert cache.get("k") == RESULT
    assert cache.get("missing") is None


def test_the_lru_keeps_at_most_its_capacity_and_drops_the_least_recent() -> None:
    cache = PredictionCache(None, capacity=2)
    cache.remember("a", {"n": 1})
    cache.remember("b", {"n": 2})
    assert cache.get("a") == {"n": 1}  # a is now the most recent
    cache.remember("c", {"n": 3})
    assert len(cache) == 2
    assert cache.get("b") is None
    assert cache.get("a") == {"n": 1} and cache.get("c") == {"n": 3}


# ---- the shared store ------------------------------------------------------------------


def document(**changes: Any) -> dict[str, Any]:
    return {"id": "1" * 64, "status": "ok", "content_sha256": SHA, "model": asdict(MODEL),
            "result": RESULT, **changes}  # fmt: skip


class Shared:
    """A cache over in-memory stores, and a second instance's view of the same stores."""

    def __init__(self) -> None:
        self.store = FakeDocuments()
        self.results = FakeDocuments()

    def cache(self) -> PredictionCache:
        return PredictionCache(
            cast(DocumentContainer, self.store), 4, results=cast(DocumentContainer, self.results)
        )


def test_a_result_shared_by_one_instance_is_a_hit_for_another() -> None:
    shared = Shared()
    shared.results.upsert(document())
    shared.cache().share(KEY, document())
    assert shared.cache().get(KEY) == RESULT


def test_a_shared_entry_names_the_result_document_and_holds_no_payload() -> None:
    shared = Shared()
    shared.cache().share(KEY, document())
    (entry,) = shared.store.documents.values()
    assert entry["result_id"] == "1" * 64
    assert "result" not in entry and len(json.dumps(entry)) < 300


@pytest.mark.parametrize(
    "stored",
    [
        None,  # the document is gone (the results' TTL, or deleted)
        document(content_sha256="cd" * 32),  # another content
        document(model=asdict(replace(MODEL, version="2.0.0"))),  # another model
        document(model={"name": "x"}),  # not a model reference
        document(status="rejected", result=None),
    ],
)
def test_an_entry_whose_document_does_not_answer_the_key_is_a_miss(
    stored: dict[str, Any] | None,
) -> None:
    shared = Shared()
    if stored is not None:
        shared.results.upsert(stored)
    shared.store.upsert({"id": KEY, "result_id": "1" * 64})
    assert shared.cache().get(KEY) is None


@pytest.mark.parametrize("result_id", [None, 7, "../x", "A" * 64])
def test_an_entry_that_names_no_result_id_is_a_miss(result_id: object) -> None:
    shared = Shared()
    shared.store.upsert({"id": KEY, "result_id": result_id})
    assert shared.cache().get(KEY) is None


def test_a_rejection_or_a_document_for_another_key_is_never_shared() -> None:
    shared = Shared()
    shared.cache().share(KEY, document(status="rejected", result=None))
    shared.cache().share(KEY, document(content_sha256="cd" * 32))
    assert shared.store.documents == {}


def test_a_lookup_that_skips_the_shared_store_reads_nothing_from_it() -> None:
    store = RecordingDocuments()
    cache = PredictionCache(
        cast(DocumentContainer, store), 4, results=cast(DocumentContainer, FakeDocuments())
    )
    assert cache.get(KEY, shared=False) is None
    assert len(store.asked) == 0
    cache.get(KEY)
    assert len(store.asked) == 1


def test_a_shared_store_without_the_results_it_names_is_refused() -> None:
    with pytest.raises(ValueError, match="results container"):
        PredictionCache(cast(DocumentContainer, FakeDocuments()), 4)
