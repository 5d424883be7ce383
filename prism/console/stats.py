"""Counters per modality from the newest result documents, and the queue depths.

The Cosmos DB emulator has no GROUP BY, DISTINCT or OFFSET, and a serverless account
bills every RU an aggregate over the whole container spends: so this reads a bounded
number of the newest documents of each modality (one indexed TOP query each, ordered by
the results' composite index) and counts them here. The counters describe that recent
window, which is what a console watches.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from prism.modality import RESULT_MODALITIES
from prism.settings import Settings
from prism.storage import (
    RESULTS_ORDER_BY,
    DocumentContainer,
    MessageQueues,
    NotFoundError,
    Where,
    poison_queue_name,
)

RECENT_PER_PARTITION = 200


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile: always a value that was observed, never interpolated."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def modality_counters(documents: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Processed (every result), rejected, cache hits, and the p50/p95 inference
    latency of the results that ran a model (a cache hit ran none)."""
    processed = rejected = cache_hits = 0
    latencies: list[float] = []
    for document in documents:
        processed += 1
        if document.get("status") == "rejected":
            rejected += 1
        if document.get("cache") == "hit":
            cache_hits += 1
            continue
        inference = (document.get("timings_ms") or {}).get("inference")
        if isinstance(inference, int | float):
            latencies.append(float(inference))
    return {
        "processed": processed,
        "rejected": rejected,
        "cache_hits": cache_hits,
        "p50_ms": percentile(latencies, 0.50),
        "p95_ms": percentile(latencies, 0.95),
    }


def _depth(queues: MessageQueues, queue: str) -> int:
    try:
        return queues.approximate_count(queue)
    except NotFoundError:  # not created yet: a read must not create it, and it is empty
        return 0


def collect_stats(
    settings: Settings,
    results: DocumentContainer,
    queues: MessageQueues,
    window: int = RECENT_PER_PARTITION,
) -> dict[str, Any]:
    return {
        "window": window,
        "modalities": {
            modality: modality_counters(
                results.page(
                    [Where("modality", "=", modality)], order_by=RESULTS_ORDER_BY, limit=window
                )
            )
            for modality in RESULT_MODALITIES
        },
        "queues": [
            {
                "modality": modality,
                "queue": queue,
                "depth": _depth(queues, queue),
                "poison_queue": poison_queue_name(queue),
                "poison_depth": _depth(queues, poison_queue_name(queue)),
            }
            for modality, queue in settings.modality_queues.items()
        ],
    }
