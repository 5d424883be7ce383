"""Counters from result documents: what counts as processed, rejected, a cache hit,
and which latencies go into the percentiles."""

from __future__ import annotations

from typing import Any

import pytest

from prism.console.stats import modality_counters, percentile


def document(
    status: str = "ok", cache: str | None = "miss", inference: float | None = 10.0
) -> dict[str, Any]:
    timings = {} if inference is None else {"inference": inference, "write": 3.0}
    return {"status": status, "cache": cache, "timings_ms": timings}


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        ([5.0], 0.5, 5.0),
        ([1.0, 2.0, 3.0, 4.0], 0.5, 2.0),
        ([4.0, 1.0, 3.0, 2.0], 0.95, 4.0),
        ([float(v) for v in range(1, 101)], 0.95, 95.0),
        ([float(v) for v in range(1, 101)], 0.5, 50.0),
    ],
)
def test_percentiles_are_nearest_rank_observed_values(
    values: list[float], fraction: float, expected: float
) -> None:
    assert percentile(values, fraction) == expected


def test_no_latencies_have_no_percentile() -> None:
    assert percentile([], 0.5) is None


def test_every_document_is_processed_and_rejections_are_counted_apart() -> None:
    counters = modality_counters(
        [document(), document(status="rejected", cache=None), document(status="rejected")]
    )
    assert counters["processed"] == 3
    assert counters["rejected"] == 2


def test_cache_hits_are_counted_and_kept_out_of_the_model_latency() -> None:
    counters = modality_counters(
        [document(inference=100.0), document(inference=200.0), document(cache="hit", inference=0.1)]
    )
    assert counters["cache_hits"] == 1
    assert counters["p50_ms"] == 100.0
    assert counters["p95_ms"] == 200.0


def test_documents_rejected_before_inference_add_no_latency() -> None:
    counters = modality_counters([document(status="rejected", cache=None, inference=None)])
    assert counters == {
        "processed": 1, "rejected": 1, "cache_hits": 0, "p50_ms": None, "p95_ms": None,
    }  # fmt: skip
