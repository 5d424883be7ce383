"""The prediction cache: the same content, model and preprocessing give the same result,
so it is computed once.

Key: ``sha256(content)`` + model name + model version + preprocessing version + a digest
of the settings that shape the result + the result schema version — a new model,
preprocessing, configuration or stored format misses by construction. Lookups go to a
size-bounded in-process LRU first, then to a Cosmos DB container that every instance
shares (partition ``/id``).

A shared entry holds no result: it names the result document that holds it
(``result_id``), so the large payload (a text embedding, a list of labels) is stored
once, in that document. A shared hit is two point reads (the entry, ~0.3 KB, then the
document, 1–2 KB: ~2 RU); a miss writes one small entry (the write RU floor). The
document must answer exactly this key (same content, same model and configuration) or
the entry is a miss; so is an entry whose document is gone (the results' TTL, or a
deleted document). Only successful results are cached: a rejection can depend on
configurable limits (``too_large``), and rejecting again is cheap.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from prism.errors import StorageError, TransientError
from prism.onnx.registry import ModelRef
from prism.results import RESULT_ID, SCHEMA_VERSION, read_result, utc_now
from prism.storage import DocumentContainer, deterministic_id

logger = logging.getLogger("prism.cache")


def cache_key(content_sha256: str, model: ModelRef) -> str:
    return deterministic_id(
        "prediction", content_sha256, *model.key_parts(), f"schema-{SCHEMA_VERSION}"
    )


def _model_of(document: Mapping[str, Any]) -> ModelRef | None:
    model = document.get("model")
    if not isinstance(model, Mapping):
        return None
    try:
        return ModelRef(**model)
    except TypeError:  # not the fields of a ModelRef
        return None


def answers(document: Mapping[str, Any], key: str) -> bool:
    """Whether ``document`` holds the successful result ``key`` names."""
    model = _model_of(document)
    sha = document.get("content_sha256")
    return (
        document.get("status") == "ok"
        and isinstance(document.get("result"), Mapping)
        and isinstance(sha, str)
        and model is not None
        and cache_key(sha, model) == key
    )


class PredictionCache:
    def __init__(
        self,
        store: DocumentContainer | None,
        capacity: int,
        *,
        results: DocumentContainer | None = None,
    ) -> None:
        if capacity < 1:
            raise ValueError(f"cache capacity must be at least 1, got {capacity}")
        if store is not None and results is None:
            raise ValueError("a shared cache needs the results container its entries name")
        self.store = store
        self.results = results
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

    def recall(self, key: str) -> dict[str, Any] | None:
        """The result this process remembers for ``key``, or None."""
        with self._lock:
            result = self._entries.get(key)
            if result is not None:
                self._entries.move_to_end(key)
            return result

    def get(self, key: str, *, shared: bool = True) -> dict[str, Any] | None:
        """The cached result, or None (a miss): this process's first, then (if
        ``shared``) the shared store's. The cache is an optimisation: when the shared
        store cannot answer, that is a miss, never a failed job."""
        result = self.recall(key)
        if result is not None or not shared or self.store is None or self.results is None:
            return result
        try:
            entry = self.store.read(key, key)
            result_id = None if entry is None else entry.get("result_id")
            if not isinstance(result_id, str) or not RESULT_ID.match(result_id):
                return None
            document = read_result(self.results, result_id)
        except (TransientError, StorageError) as error:
            logger.warning("prediction cache lookup failed; treated as a miss: %s", error)
            return None
        if document is None or not answers(document, key):
            return None
        cached: dict[str, Any] = dict(document["result"])
        self.remember(key, cached)
        return cached

    def share(self, key: str, document: Mapping[str, Any]) -> None:
        """Offer the result ``document`` holds to every instance: an entry naming it. A
        failure only costs a later miss, so it is logged and never fails the job."""
        if self.store is None or not answers(document, key):
            return
        entry = {"id": key, "result_id": document["id"], "created_at": utc_now()}
        try:
            self.store.upsert(entry)
        except (TransientError, StorageError) as error:
            logger.warning("prediction cache write failed; later lookups will miss: %s", error)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
