"""The cost model behind ``prism cost``: dollars per million files, per modality, from
what the benchmarks measured on this machine and a dated price table.

Per file, on Flex Consumption with instances of ``instance_mb`` (1 core per 2048 MB):

* compute (GB-s) = instance GB × (CPU seconds of inference ÷ the instance's cores
  + I/O seconds of routing, download and write ÷ ``io_overlap``) — inference keeps a core
  busy; I/O waits overlap across the concurrent invocations of an instance;
* executions = 2 (the ingest router and the modality's inference function);
* Cosmos DB request units = the done-check (a point read of a document not there yet)
  and the result document's write; where the modality uses the shared cache, also the
  entry's lookup, on a hit the read of the result document it names, and on a miss the
  entry's write. RUs per operation come from the document's size by the table Microsoft
  publishes, measured with indexing off (:mod:`prism_tools.cost.cosmos`); a result write adds
  the table's allowance for the results container's index (its paths, composite index
  and vector index: not measured, flagged unverified in ``cosmos_ru.json``); sizes from
  ``bench/results/documents.json``;
* storage = the raw input's storage, operations and early-deletion charges over a year,
  from the lifecycle simulator on the example workload's stream for that modality.

CPU seconds per file come from the batching benchmark (items/s at concurrency 32 on
this machine's cores, batching on or off); fp32 adds the measured fp32 − int8 model
time at batch 1 on one thread (for audio also Whisper's on the benchmark's recording,
``bench/results/speech.json``); a cache hit skips the inference. Documents and videos
do not batch: their CPU seconds per file, int8 and fp32, are the process's own on one
thread for a one-page scanned PDF and a minute of video with speech
(``bench/results/media.json``), and so are their stored sizes.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from prism.errors import ConfigurationError
from prism_tools.cost.cosmos import RuTable, load_ru_table

PRICES_PATH = Path(__file__).resolve().parent / "prices.json"
BENCH_DIR = Path(__file__).resolve().parents[2] / "bench" / "results"
MODALITIES = ("image", "audio", "text", "document", "video")
# Measured per file by bench.media (a one-page scanned PDF; a minute of video with
# speech), not by the batching benchmark: neither batches.
MEDIA_MODALITIES = ("document", "video")
EXECUTIONS_PER_FILE = 2
# What the batching benchmark ran on, when its results do not say (older runs): the
# sample recording (7.5 s) and its sentences (about 100 characters).
DEFAULT_BENCH_INPUTS = {"audio_seconds": 7.5, "text_characters": 100.0}
MEASURED_CORES = 2  # the benchmark machine
MB_PER_CORE = 2048  # Flex Consumption: 2048 MB instances have one core


@dataclass(frozen=True)
class Scenario:
    label: str
    int8: bool = True
    batching: bool = True
    cache_hit_rate: float = 0.0
    lifecycle: bool = True


@dataclass(frozen=True)
class Measured:
    """What the benchmarks measured for one modality."""

    cpu_s_batched: float
    cpu_s_unbatched: float
    fp32_extra_cpu_s: float
    io_s: float
    document_kb: float  # the stored result document
    storage_per_file_policy: float
    storage_per_file_hot: float
    entry_kb: float = 0.4  # the stored shared-cache entry (it names the result document)


@dataclass(frozen=True)
class CostLine:
    modality: str
    scenario: str
    compute: float
    executions: float
    cosmos: float
    storage: float

    @property
    def total(self) -> float:
        return self.compute + self.executions + self.cosmos + self.storage


def read_bench_file(path: Path) -> dict[str, Any]:
    """A results file ``make bench`` wrote (a configuration error if it has not run)."""
    if not path.is_file():
        raise ConfigurationError(f"{path} is missing: run `make bench` first")
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def measured_from_bench(
    bench_dir: Path, storage: dict[str, tuple[float, float]]
) -> dict[str, Measured]:
    batching = read_bench_file(bench_dir / "batching.json")["comparison"]
    models = read_bench_file(bench_dir / "models.json")["comparison"]
    pipeline = read_bench_file(bench_dir / "pipeline.json")["end_to_end"]
    # Stored sizes of real documents (bench.documents); else the end-to-end run's.
    documents_path = bench_dir / "documents.json"
    stored = read_bench_file(documents_path)["per_modality"] if documents_path.is_file() else {}
    io_ms = sum(pipeline["stage_mean_ms"].get(s, 0.0) for s in ("route", "download", "write"))
    measured = {}
    media = read_bench_file(bench_dir / "media.json")["per_file"]
    for modality in MEDIA_MODALITIES:
        policy_cost, hot_cost = storage[modality]
        row = media[modality]
        measured[modality] = Measured(
            cpu_s_batched=float(row["int8_cpu_s"]),
            cpu_s_unbatched=float(row["int8_cpu_s"]),
            fp32_extra_cpu_s=max(0.0, float(row["fp32_cpu_s"]) - float(row["int8_cpu_s"])),
            io_s=io_ms / 1000,
            document_kb=float(row["result_kb"]),
            storage_per_file_policy=policy_cost,
            storage_per_file_hot=hot_cost,
            entry_kb=float(row["entry_kb"]),
        )
    for modality in (m for m in MODALITIES if m not in MEDIA_MODALITIES):
        # The configured policy at concurrency 32 (host.json lets up to 24 run at once).
        row = next(
            r
            for r in batching
            if r["modality"] == modality and r["concurrency"] == 32 and r["default"]
        )
        single = next(
            (r for r in models if r["model"] == modality and r["threads"] == 1 and r["batch"] == 1),
            None,
        )
        fp32_extra = 0.0 if single is None else (single["fp32_ms"] - single["int8_ms"]) / 1000
        if modality == "audio":
            fp32_extra += _fp32_transcription_extra_s(bench_dir)
        policy_cost, hot_cost = storage[modality]
        measured[modality] = Measured(
            cpu_s_batched=MEASURED_CORES / row["on_items_per_s"],
            cpu_s_unbatched=MEASURED_CORES / row["off_items_per_s"],
            fp32_extra_cpu_s=max(0.0, fp32_extra),
            io_s=io_ms / 1000,
            document_kb=float(
                stored.get(modality, {}).get("result_kb_after")
                or pipeline["document_kb"].get(modality, 2.0)
            ),
            storage_per_file_policy=policy_cost,
            storage_per_file_hot=hot_cost,
            entry_kb=float(stored.get(modality, {}).get("entry_kb_after") or 0.4),
        )
    return measured


def _fp32_transcription_extra_s(bench_dir: Path) -> float:
    """What Whisper fp32 costs over int8 on the benchmark's recording, as the pipeline
    transcribes it (``bench/results/speech.json``; 0 where it has not run)."""
    path = bench_dir / "speech.json"
    if not path.is_file():
        return 0.0
    results = read_bench_file(path)["results"]
    fp32, int8 = results["fp32"]["recording"], results["int8"]["recording"]
    return (float(fp32["cpu_ms"]) - float(int8["cpu_ms"])) / 1000


def storage_per_file(days: int = 365) -> dict[str, tuple[float, float]]:
    """(policy, all-hot) storage cost per file of each modality's workload stream."""
    from prism.lifecycle import (
        compare_with_all_hot,
        load_policy,
        load_prices,
        load_workload,
        workload_cohorts,
    )
    from prism.lifecycle.validation import DEFAULT_POLICY_PATH

    workload_path = DEFAULT_POLICY_PATH.parent / "workload.example.json"
    workload = load_workload(workload_path)
    policy = load_policy(DEFAULT_POLICY_PATH)
    prices = load_prices(None)
    result = {}
    for stream in workload["streams"]:
        single = {**workload, "streams": [stream]}
        cohorts = workload_cohorts(single, days)
        files = sum(c.count for c in cohorts)
        comparison = compare_with_all_hot(cohorts, policy, prices, days)
        result[stream["name"]] = (
            comparison.policy.totals()["total"] / files,
            comparison.baseline.totals()["total"] / files,
        )
    return result


def request_units(
    measured: Measured, *, shared_cache: bool, cache_hit_rate: float, table: RuTable
) -> float:
    """Cosmos DB RUs one file costs (see the module docstring): the result write
    includes the table's index allowance (:meth:`RuTable.result_write_ru`), the cache
    entry's write none (its container indexes nothing)."""
    ru = table.read_ru(0) + table.result_write_ru(measured.document_kb)  # done-check, result
    if shared_cache:
        ru += table.read_ru(measured.entry_kb)  # the entry's lookup
        ru += cache_hit_rate * table.read_ru(measured.document_kb)  # a hit: the document
        ru += (1 - cache_hit_rate) * table.write_ru(measured.entry_kb)  # a miss: the entry
    return ru


def cost_line(
    modality: str,
    scenario: Scenario,
    *,
    measured: Measured,
    prices: dict[str, Any],
    instance_mb: int,
    io_overlap: int,
    shared_cache: bool = True,
    ru_table: RuTable | None = None,
) -> CostLine:
    per_million = 1_000_000
    cores = instance_mb / MB_PER_CORE
    cpu_s = measured.cpu_s_batched if scenario.batching else measured.cpu_s_unbatched
    if not scenario.int8:
        cpu_s += measured.fp32_extra_cpu_s
    cpu_s *= 1 - scenario.cache_hit_rate  # a hit skips the inference
    gb_s = instance_mb / 1024 * (cpu_s / cores + measured.io_s / io_overlap)
    ru = request_units(
        measured,
        shared_cache=shared_cache,
        cache_hit_rate=scenario.cache_hit_rate,
        table=ru_table or load_ru_table(),
    )
    storage = (
        measured.storage_per_file_policy if scenario.lifecycle else measured.storage_per_file_hot
    )
    return CostLine(
        modality=modality,
        scenario=scenario.label,
        compute=gb_s * prices["flex_on_demand_per_gb_s"] * per_million,
        executions=EXECUTIONS_PER_FILE * prices["flex_per_million_executions"],
        cosmos=ru * prices["cosmos_serverless_per_million_ru"],
        storage=storage * per_million,
    )


def scenarios(cache_hit_rate: float) -> list[Scenario]:
    default = Scenario("int8, batching, lifecycle")
    return [
        default,
        replace(default, label="fp32", int8=False),
        replace(default, label="no batching", batching=False),
        replace(default, label=f"cache hits {cache_hit_rate:.0%}", cache_hit_rate=cache_hit_rate),
        replace(default, label="all hot storage", lifecycle=False),
    ]


def load_compute_prices(path: Path | None = None) -> dict[str, Any]:
    prices: dict[str, Any] = json.loads((path or PRICES_PATH).read_text(encoding="utf-8"))
    return prices


def estimate(
    measured: dict[str, Measured],
    prices: dict[str, Any],
    *,
    instance_mb: int,
    io_overlap: int,
    cache_hit_rate: float,
    shared_cache: frozenset[str] = frozenset(MODALITIES),
) -> list[CostLine]:
    if not 0 <= cache_hit_rate < 1:
        raise ConfigurationError(f"cache hit rate must be in [0, 1): {cache_hit_rate}")
    if instance_mb not in (512, 2048, 4096):
        raise ConfigurationError(
            f"Flex Consumption instances are 512, 2048 or 4096 MB: {instance_mb}"
        )
    return [
        cost_line(
            modality,
            scenario,
            measured=measured[modality],
            prices=prices,
            instance_mb=instance_mb,
            io_overlap=io_overlap,
            shared_cache=modality in shared_cache,
        )
        for modality in MODALITIES
        for scenario in scenarios(cache_hit_rate)
    ]


def as_dict(line: CostLine) -> dict[str, Any]:
    return {**asdict(line), "total": line.total}
