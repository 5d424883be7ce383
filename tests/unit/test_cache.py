"""Prediction cache keys, invalidation and the in-process LRU."""

from __future__ import annotations

from prism.cache import PredictionCache, cache_key
from prism.onnx.registry import ModelRef

MODEL = ModelRef("efficientnet-lite0", "1.0.0", "1")
SHA = "ab" * 32


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


def test_a_put_result_is_returned_unchanged() -> None:
    cache = PredictionCache(None, capacity=4)
    result = {"labels": [{"label": "tabby cat", "probability": 0.4}]}
    cache.put("k", result, MODEL)
    assert cache.get("k") == result
    assert cache.get("missing") is None


def test_the_lru_keeps_at_most_its_capacity_and_drops_the_least_recent() -> None:
    cache = PredictionCache(None, capacity=2)
    cache.put("a", {"n": 1}, MODEL)
    cache.put("b", {"n": 2}, MODEL)
    assert cache.get("a") == {"n": 1}  # a is now the most recent
    cache.put("c", {"n": 3}, MODEL)
    assert len(cache) == 2
    assert cache.get("b") is None
    assert cache.get("a") == {"n": 1} and cache.get("c") == {"n": 3}
