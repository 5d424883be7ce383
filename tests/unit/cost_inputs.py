"""What the cost and capacity tests feed the models: plan inputs over every modality,
and the bench results files ``make bench`` writes, with figures chosen by each test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prism_tools.capacity.plan import Inputs
from prism_tools.cost.model import MODALITIES, Measured

STREAMS = (*MODALITIES, "quarantined")
# Round prices for the plan's tests (the shipped table is prism_tools/cost/prices.json).
PRICES = {
    "currency": "USD",
    "flex_on_demand_per_gb_s": 0.00002,
    "flex_per_million_executions": 0.4,
    "flex_always_ready_baseline_per_gb_s": 0.000004,
    "cosmos_serverless_per_million_ru": 0.25,
    "cosmos_autoscale_per_100_ru_s_hour": 0.012,
    "cosmos_storage_per_gb_month": 0.25,
    "event_grid_per_million_operations": 0.6,
}


def plan_inputs(measured: Measured, prices: dict[str, Any], **extra: Any) -> Inputs:
    """Every modality measured as ``measured``; every stream's storage the same."""
    return Inputs(
        measured=dict.fromkeys(MODALITIES, measured),
        ingest_s=0.008,
        prices=prices,
        storage_month={s: {"policy": 0.001, "hot": 0.002} for s in STREAMS},
        storage_tiers={s: {f"day {d}": {"Hot": 0.001, "Cool": 0.0, "Cold": 0.0, "Archive": 0.0}
                           for d in (30, 180, 365)} for s in STREAMS},
        shared_cache=frozenset(),
        **extra,
    )  # fmt: skip


def only(modality: str) -> dict[str, float]:
    """A mix of ``modality`` alone."""
    return {**dict.fromkeys(MODALITIES, 0.0), modality: 1.0}


def write_bench_files(
    directory: Path,
    *,
    batching_rows: list[dict[str, Any]],
    models_rows: list[dict[str, Any]],
    pipeline: dict[str, Any],
) -> None:
    """batching.json, models.json, pipeline.json and media.json (a document and a video
    of 2.5 CPU s at int8 and 3.5 at fp32) in ``directory``."""
    media = {"per_file": {m: {"int8_cpu_s": 2.5, "fp32_cpu_s": 3.5, "result_kb": 9.0,
                              "entry_kb": 0.4} for m in ("document", "video")}}  # fmt: skip
    files = {
        "batching": {"comparison": batching_rows},
        "models": {"comparison": models_rows},
        "pipeline": {"end_to_end": pipeline},
        "media": media,
    }
    for name, document in files.items():
        (directory / f"{name}.json").write_text(json.dumps(document))
