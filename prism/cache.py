"""The prediction cache: the same content, model and preprocessing give the same result,
so it is computed once.

Key: ``sha256(content)`` + model name + model version + preprocessing version — a new
model or preprocessing version misses by construction. Lookups go to a size-bounded
in-process LRU first, then to a Cosmos DB container by point read (partition ``/id``,
~1 RU), which every instance shares. Only successful results are cached: a rejection
can depend on configurable limits (``too_large``), and rejecting again is cheap.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from prism.modalities.base import ModelRef
from prism.results import utc_now
from prism.storage import DocumentContainer, deterministic_id


def cache_key(content_sha256: str, model: ModelRef) -> str:
    return deterministic_id(
        "prediction", content_sha256, model.name, model.version, model.preprocessing_version
    )


class PredictionCache:
    def __init__(self, store: DocumentContainer | None, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"cache capacity must be at least 1, got {capacity}")
        self.store = store
        self.capacity = capacity
        self._entries: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def _remember(self, key: str, result: dict[str, Any]) -> None:
        with self._lock:
            self._entries[key] = result
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def get(self, key: str) -> dict[str, Any] | None:
        """The cached result, or None (a miss)."""
        with self._lock:
            result = self._entries.get(key)
            if result is not None:
                self._entries.move_to_end(key)
                return result
        if self.store is None:
            return None
        document = self.store.read(key, key)
        if document is None:
            return None
        cached: dict[str, Any] = document["result"]
        self._remember(key, cached)
        return cached

    def put(self, key: str, result: dict[str, Any], model: ModelRef) -> None:
        self._remember(key, result)
        if self.store is not None:
            self.store.upsert(
                {
                    "id": key,
                    "model": {"name": model.name, "version": model.version,
                              "preprocessing_version": model.preprocessing_version},
                    "result": result,
                    "created_at": utc_now(),
                }
            )  # fmt: skip

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
