"""The prediction cache: the same content, model and preprocessing give the same result,
so it is computed once.

Key: ``sha256(content)`` + model name + model version + preprocessing version + a digest
of the settings that shape the result — a new model, preprocessing or configuration
misses by construction. Lookups go to a size-bounded
in-process LRU first, then to a Cosmos DB container by point read (partition ``/id``,
~1 RU), which every instance shares. Only successful results are cached: a rejection
can depend on configurable limits (``too_large``), and rejecting again is cheap.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import asdict
from typing import Any

from prism.errors import StorageError, TransientError
from prism.onnx.registry import ModelRef
from prism.results import utc_now
from prism.storage import DocumentContainer, deterministic_id

logger = logging.getLogger("prism.cache")


def cache_key(content_sha256: str, model: ModelRef) -> str:
    return deterministic_id("prediction", content_sha256, *model.key_parts())


class PredictionCache:
    def __init__(self, store: DocumentContainer | None, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"cache capacity must be at least 1, got {capacity}")
        self.store = store
        self.capacity = capacity
        self._entries: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, key: str, result: dict[str, Any]) -> None:
        """Keep ``result`` in this process (cheap, cannot fail)."""
        with self._lock:
            self._entries[key] = result
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def get(self, key: str) -> dict[str, Any] | None:
        """The cached result, or None (a miss). The cache is an optimisation: when the
        shared store cannot answer, that is a miss, never a failed job."""
        with self._lock:
            result = self._entries.get(key)
            if result is not None:
                self._entries.move_to_end(key)
                return result
        if self.store is None:
            return None
        try:
            document = self.store.read(key, key)
        except (TransientError, StorageError) as error:
            logger.warning("prediction cache lookup failed; treated as a miss: %s", error)
            return None
        if document is None:
            return None
        cached: dict[str, Any] = document["result"]
        self.remember(key, cached)
        return cached

    def share(self, key: str, result: dict[str, Any], model: ModelRef) -> None:
        """Offer ``result`` to every instance through the shared store; a failure only
        costs a later miss, so it is logged and never fails the job."""
        if self.store is None:
            return
        try:
            self.store.upsert(
                {"id": key, "model": asdict(model), "result": result, "created_at": utc_now()}
            )
        except (TransientError, StorageError) as error:
            logger.warning("prediction cache write failed; later lookups will miss: %s", error)

    def put(self, key: str, result: dict[str, Any], model: ModelRef) -> None:
        """:meth:`remember`, then :meth:`share`."""
        self.remember(key, result)
        self.share(key, result, model)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
