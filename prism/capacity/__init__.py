"""``prism plan``: what a daily volume of files needs, from what the benchmarks measured.

For a rate and a mix of modalities, at the peak (``peak_factor`` × the average rate):

* **instances per function** — an inference instance serves at most ``cores / cpu_s``
  items a second (its cores kept busy by the model) and at most
  ``concurrency / (cpu_s + io_s)`` (host.json's queue settings: ``batchSize`` +
  ``newBatchThreshold`` invocations at once), whichever is lower; ingest is I/O-bound at
  host.json's ``blobs.maxDegreeOfParallelism`` invocations at once;
* **Cosmos DB** — request units per file (:func:`prism.cost.request_units`: done-check,
  result write, the shared cache where it is on), the RU/s that makes at the average and
  the peak, storage growth (stored document sizes, an allowance for the index, the
  results' TTL) and the steady state it reaches;
* **blob storage by tier** — the lifecycle simulator on the example workload's file sizes
  and access pattern, scaled to the volume;
* **which limit binds first** — each demand as a share of its Azure limit
  (``limits.json``: source and date of each); the highest share binds first, and any
  over 100 % must change before that volume runs;
* **the scale preset** the Bicep takes (``scalePreset``): ``small`` (serverless Cosmos
  DB) while its storage and RU/s limits hold with a margin, ``large`` (autoscale
  provisioned throughput, with the maximum RU/s to set) beyond;
* **monthly cost** — compute, executions, Cosmos DB throughput and storage, blob
  storage, Event Grid operations.

Transcription: the audio function's CPU seconds per file are the batching benchmark's
(its recording, with the seconds of speech the VAD found in it); for audio files with
more or less speech (``speech_minutes_per_audio_file``), Whisper's share of them is
swapped: the recording's transcription out, the given speech's in, both by the windows
model of :mod:`prism.cost.speech` (measured in ``bench/results/speech.json``).

Stated assumptions (not measured): the peak factor; without a figure for it, that audio
files hold as much speech as the benchmark's recording; autoscale bills each hour's highest
RU/s, taken as 1.5 × the average; an index allowance per document; one Event Grid
BlobCreated event is about 1.2 KB; storage requests per file as counted in
:data:`STORAGE_REQUESTS_PER_FILE`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prism.cost import MB_PER_CORE, MODALITIES, Measured, request_units
from prism.cost.cosmos import load_ru_table
from prism.cost.speech import SpeechMeasured
from prism.errors import ConfigurationError
from prism.settings import PROJECT_ROOT

if TYPE_CHECKING:
    from prism.devhost.config import HostConfig

LIMITS_PATH = Path(__file__).resolve().parent / "limits.json"
DAYS_PER_MONTH = 30.4167
SECONDS_PER_DAY = 86_400
# The mix of the benchmark's mixed files (bench/pipeline.py): 40 % photos, 10 % speech.
DEFAULT_MIX = {"image": 0.35, "audio": 0.1, "text": 0.4, "document": 0.1, "video": 0.05}
DEFAULT_PEAK_FACTOR = 10.0
# The app's host.json: how many invocations one instance runs at once.
HOST_JSON = PROJECT_ROOT / "host.json"
TARGET_UTILISATION = 0.8  # headroom: plan instances for 80 % busy cores
INDEX_BYTES_PER_DOCUMENT = 200  # five short indexed paths: an allowance, not measured
EVENT_KB = 1.2  # one BlobCreated event as Event Grid delivers it
AUTOSCALE_HOURLY_PEAK = 1.5  # autoscale bills each hour's highest RU/s
SERVERLESS_MARGIN = 0.8  # stay serverless only while under 80 % of its limits
# Requests one file makes to the storage account: the upload, ingest's ranged read, the
# queue message's send, receive (up to 16 a call: 1/16) and delete, the download; a
# rejected file's copy, tag and delete are rare and left out.
STORAGE_REQUESTS_PER_FILE = 1 + 1 + 1 + 1 / 16 + 1 + 1
REJECTED_SHARE = 50 / 5350  # quarantined share of the example workload
# The Bicep's scalePreset values (tests/iac/test_scale_preset.py holds them equal).
PRESETS = ("small", "large")


@dataclass(frozen=True)
class Limit:
    name: str
    value: Any
    what: str
    source: str
    url: str
    recorded: str
    verified: bool


@cache
def load_limits(path: Path = LIMITS_PATH) -> dict[str, Limit]:
    document = json.loads(path.read_text(encoding="utf-8"))
    return {name: Limit(name=name, **entry) for name, entry in document["limits"].items()}


def parse_mix(raw: str) -> dict[str, float]:
    """``image=0.4,audio=0.1,text=0.5`` → shares; modalities left out get none; shares
    must be numbers from 0 to 1 that add up to 1."""
    mix = dict.fromkeys(MODALITIES, 0.0)
    for part in raw.split(","):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or name not in MODALITIES:
            raise ConfigurationError(f"mix is modality=share,… over {', '.join(MODALITIES)}")
        try:
            share = float(value)
        except ValueError:
            raise ConfigurationError(f"mix share of {name} is not a number: {value!r}") from None
        if not 0 <= share <= 1 or not math.isfinite(share):
            raise ConfigurationError(f"mix share of {name} must be from 0 to 1: {value}")
        mix[name] = share
    if abs(sum(mix.values()) - 1) > 1e-6:
        raise ConfigurationError(f"mix shares must add up to 1, not {sum(mix.values()):g}")
    return mix


def serverless_max_ru_s(storage_gb: float) -> float:
    """The RU/s a serverless container can reach at ``storage_gb`` (limits.json)."""
    rule = load_limits()["cosmos_serverless_ru_s"].value
    more = max(0, math.ceil((storage_gb - rule["up_to_gb"]) / rule["per_more_gb"]))
    return float(rule["base_ru_s"] + more * rule["more_ru_s"])


def project_host_config() -> HostConfig:
    """The app's host.json, as the local host reads it (one parser for both)."""
    from prism.devhost.config import HostConfig

    return HostConfig.from_file(HOST_JSON)


@dataclass(frozen=True)
class Inputs:
    """What the plan needs beside the volume: the measured figures and the settings."""

    measured: dict[str, Measured]
    ingest_s: float  # one file's ingest (ranged read, routing, queue send), wall seconds
    prices: dict[str, Any]
    storage_month: dict[str, dict[str, float]]  # per modality, per file a day: see below
    storage_tiers: dict[str, dict[str, dict[str, float]]]
    shared_cache: frozenset[str] = frozenset({"audio"})
    instance_mb: int = 2048
    io_overlap: int = 8
    speech: SpeechMeasured | None = None  # int8 transcription (bench/results/speech.json)
    # Concurrency per instance: queue triggers' batchSize + newBatchThreshold, the blob
    # trigger's maxDegreeOfParallelism.
    host: HostConfig = field(default_factory=project_host_config)


def audio_cpu_s(inputs: Inputs, speech_s: float | None) -> float:
    """CPU seconds of one audio file holding ``speech_s`` of speech (None: as much as
    the benchmark's recording, the measured figure unchanged)."""
    measured = inputs.measured["audio"].cpu_s_batched
    if speech_s is None or inputs.speech is None:
        return measured
    if speech_s < 0 or not math.isfinite(speech_s):
        raise ConfigurationError(f"speech per audio file must be 0 or more: {speech_s}")
    recorded = inputs.speech.transcription_cpu_s(inputs.speech.recording_speech_s)
    return max(0.0, measured - recorded + inputs.speech.transcription_cpu_s(speech_s))


def speech_figures(
    files_per_day: int, mix: dict[str, float], inputs: Inputs, speech_s: float | None
) -> dict[str, Any] | None:
    """The speech the plan transcribes and what its transcription costs in compute."""
    if inputs.speech is None:
        return None
    seconds = inputs.speech.recording_speech_s if speech_s is None else speech_s
    cpu_s = inputs.speech.transcription_cpu_s(seconds)
    audio_files = files_per_day * mix["audio"]
    cores = inputs.instance_mb / MB_PER_CORE
    gb_s = audio_files * inputs.instance_mb / 1024 * cpu_s / cores
    return {
        "minutes_per_audio_file": seconds / 60,
        "assumed": speech_s is None,
        "minutes_per_day": audio_files * seconds / 60,
        "transcription_cpu_s_per_audio_file": cpu_s,
        "audio_cpu_s_per_file": audio_cpu_s(inputs, speech_s),
        "transcription_compute_per_month": gb_s
        * DAYS_PER_MONTH
        * inputs.prices["flex_on_demand_per_gb_s"],
    }


@dataclass
class Plan:
    files_per_day: int
    mix: dict[str, float]
    peak_factor: float
    figures: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"files_per_day": self.files_per_day, "mix": self.mix,
                "peak_factor": self.peak_factor, **self.figures}  # fmt: skip


def plan(
    files_per_day: int,
    inputs: Inputs,
    *,
    mix: dict[str, float] | None = None,
    peak_factor: float = DEFAULT_PEAK_FACTOR,
    results_ttl_days: int = 365,
    cache_ttl_days: int = 30,
    cache_hit_rate: float = 0.0,
    speech_minutes_per_audio_file: float | None = None,
) -> Plan:
    if files_per_day < 1:
        raise ConfigurationError(f"files per day must be at least 1: {files_per_day}")
    if peak_factor < 1:
        raise ConfigurationError(f"the peak factor is at least 1: {peak_factor}")
    mix = dict(mix or DEFAULT_MIX)
    average = files_per_day / SECONDS_PER_DAY
    peak = average * peak_factor
    result = Plan(files_per_day, mix, peak_factor)
    figures = result.figures
    by_modality = {m: peak * mix[m] for m in MODALITIES}
    figures["rate"] = {"average_per_s": average, "peak_per_s": peak,
                       "peak_per_s_by_modality": by_modality}  # fmt: skip
    speech_s = None if speech_minutes_per_audio_file is None else speech_minutes_per_audio_file * 60
    instances, gb_s_per_day = _instances(files_per_day, peak, mix, inputs, cache_hit_rate,
                                         speech_s=speech_s)  # fmt: skip
    figures["instances"] = instances
    figures["speech"] = speech_figures(files_per_day, mix, inputs, speech_s)
    figures["cosmos"] = _cosmos(files_per_day, peak, mix, inputs, cache_hit_rate,
                                ttl_days=(results_ttl_days, cache_ttl_days))  # fmt: skip
    figures["blob_storage_gb"] = {
        day: _sum_tiers(
            (_daily(files_per_day, mix, stream), inputs.storage_tiers[stream][day])
            for stream in STREAMS
        )
        for day in ("day 30", "day 180", "day 365")
    }
    checks = _limit_checks(peak, mix, inputs, instances["total"], figures["cosmos"])
    figures["limits"] = checks
    figures["binds_first"] = checks[0]["limit"]
    figures["exceeded"] = [check["limit"] for check in checks if check["share"] > 1]
    figures["monthly_cost"] = _monthly_cost(files_per_day, mix, inputs, gb_s_per_day,
                                            figures["cosmos"])  # fmt: skip
    return result


STREAMS = (*MODALITIES, "quarantined")


def _instances(
    files_per_day: int,
    peak: float,
    mix: dict[str, float],
    inputs: Inputs,
    cache_hit_rate: float,
    *,
    speech_s: float | None = None,
) -> tuple[dict[str, Any], float]:
    """Instances per function at the peak, and the day's GB-seconds of compute
    (``speech_s``: seconds of speech in each audio file, see :func:`audio_cpu_s`)."""
    cores = inputs.instance_mb / MB_PER_CORE
    instance_gb = inputs.instance_mb / 1024
    per_function: dict[str, int] = {}
    gb_s_per_day = 0.0
    for modality in MODALITIES:
        measured = inputs.measured[modality]
        per_file = audio_cpu_s(inputs, speech_s) if modality == "audio" else measured.cpu_s_batched
        cpu_s = per_file * (1 - cache_hit_rate)
        by_cpu = cores * TARGET_UTILISATION / max(cpu_s, 1e-9)
        by_concurrency = inputs.host.queues.max_concurrency / (cpu_s + measured.io_s)
        per_instance = min(by_cpu, by_concurrency)
        per_function[f"infer_{modality}"] = math.ceil(peak * mix[modality] / per_instance)
        daily = files_per_day * mix[modality]
        gb_s_per_day += daily * instance_gb * (cpu_s / cores + measured.io_s / inputs.io_overlap)
    ingest_concurrency = inputs.host.blobs.max_degree_of_parallelism
    per_function["ingest"] = math.ceil(peak * inputs.ingest_s / ingest_concurrency)
    gb_s_per_day += files_per_day * instance_gb * inputs.ingest_s / inputs.io_overlap
    instances = {"per_function": per_function, "total": sum(per_function.values()),
                 "instance_mb": inputs.instance_mb}  # fmt: skip
    return instances, gb_s_per_day


def _cosmos(
    files_per_day: int,
    peak: float,
    mix: dict[str, float],
    inputs: Inputs,
    cache_hit_rate: float,
    *,
    ttl_days: tuple[int, int],
) -> dict[str, Any]:
    """Request units, storage, partitions and the preset Cosmos DB needs; ``ttl_days``
    is how long results and cache entries live."""
    results_ttl_days, cache_ttl_days = ttl_days
    limits = load_limits()
    table = load_ru_table()
    ru_per_file = {
        m: request_units(inputs.measured[m], shared_cache=m in inputs.shared_cache,
                         cache_hit_rate=cache_hit_rate, table=table)
        for m in MODALITIES
    }  # fmt: skip
    ru_per_file_mix = sum(mix[m] * ru_per_file[m] for m in MODALITIES)
    document_bytes = {
        m: inputs.measured[m].document_kb * 1024 + INDEX_BYTES_PER_DOCUMENT for m in MODALITIES
    }
    results_gb_per_day = sum(files_per_day * mix[m] * document_bytes[m] for m in MODALITIES) / 1e9
    entry_gb_per_day = (
        sum(
            files_per_day * mix[m] * (1 - cache_hit_rate) * inputs.measured[m].entry_kb * 1024
            for m in MODALITIES
            if m in inputs.shared_cache
        )
        / 1e9
    )
    results_steady_gb = results_gb_per_day * results_ttl_days
    peak_ru_s = peak * ru_per_file_mix
    serverless_gb = float(limits["cosmos_serverless_container_gb"].value)
    serverless_ru_s = serverless_max_ru_s(results_steady_gb)
    partitions = max(
        1,
        math.ceil(results_steady_gb / limits["cosmos_physical_partition_gb"].value),
        math.ceil(peak_ru_s / limits["cosmos_physical_partition_ru_s"].value),
    )
    fits_serverless = (
        results_steady_gb <= SERVERLESS_MARGIN * serverless_gb
        and peak_ru_s <= SERVERLESS_MARGIN * serverless_ru_s
    )
    autoscale_max = max(
        int(limits["cosmos_autoscale_min_max_ru_s"].value),
        1000 * math.ceil(peak_ru_s * 1.2 / 1000),
    )
    return {
        "ru_per_file": ru_per_file,
        "ru_per_file_mix": ru_per_file_mix,
        "average_ru_s": files_per_day / SECONDS_PER_DAY * ru_per_file_mix,
        "peak_ru_s": peak_ru_s,
        "results_gb_per_day": results_gb_per_day,
        "results_gb_steady": results_steady_gb,
        "results_ttl_days": results_ttl_days,
        "cache_gb_steady": entry_gb_per_day * cache_ttl_days,
        "days_to_serverless_limit": serverless_gb / results_gb_per_day,
        "serverless_max_ru_s_at_steady_state": serverless_ru_s,
        "physical_partitions": partitions,
        "peak_ru_s_per_physical_partition": peak_ru_s / partitions,
        "largest_logical_partition_kb": max(m.document_kb for m in inputs.measured.values()),
        "preset": PRESETS[0] if fits_serverless else PRESETS[1],
        "autoscale_max_ru_s": None if fits_serverless else autoscale_max,
    }


def _sum_tiers(parts: Any) -> dict[str, float]:
    total: dict[str, float] = {}
    for files_a_day, per_file in parts:
        for tier, gb in per_file.items():
            total[tier] = total.get(tier, 0.0) + files_a_day * gb
    return total


def _limit_checks(
    peak: float, mix: dict[str, float], inputs: Inputs, instances: int, cosmos: dict[str, Any]
) -> list[dict[str, Any]]:
    """Each demand as a share of its limit, the highest share first."""
    limits = load_limits()
    demands = {
        "flex_max_instances_per_app": instances,
        "flex_regional_memory_quota_mb": instances * inputs.instance_mb,
        "cosmos_logical_partition_gb": cosmos["largest_logical_partition_kb"] / 1e6,
        "cosmos_physical_partition_ru_s": cosmos["peak_ru_s_per_physical_partition"],
        "storage_account_requests_per_s": peak * STORAGE_REQUESTS_PER_FILE,
        "storage_queue_messages_per_s": peak * max(mix.values()),
        "event_grid_topic_events_per_s": peak,
        "event_grid_topic_mb_per_s": peak * EVENT_KB / 1000,
    }
    if cosmos["preset"] == PRESETS[0]:
        demands["cosmos_serverless_container_gb"] = cosmos["results_gb_steady"]
        demands["cosmos_serverless_ru_s"] = cosmos["peak_ru_s"]
    else:
        demands["cosmos_container_max_ru_s"] = cosmos["autoscale_max_ru_s"]
    checks = []
    for name, demand in demands.items():
        limit = limits[name]
        value = (
            cosmos["serverless_max_ru_s_at_steady_state"]
            if name == "cosmos_serverless_ru_s"
            else float(limit.value)
        )
        checks.append({"limit": name, "what": limit.what, "demand": demand, "limit_value": value,
                       "share": demand / value, "verified": limit.verified,
                       "source": limit.url, "recorded": limit.recorded})  # fmt: skip
    checks.sort(key=lambda check: check["share"], reverse=True)
    return checks


def _monthly_cost(
    files_per_day: int,
    mix: dict[str, float],
    inputs: Inputs,
    gb_s_per_day: float,
    cosmos: dict[str, Any],
) -> dict[str, float]:
    prices, days = inputs.prices, DAYS_PER_MONTH
    if cosmos["preset"] == PRESETS[0]:
        throughput = (
            cosmos["average_ru_s"]
            * SECONDS_PER_DAY
            * days
            * (prices["cosmos_serverless_per_million_ru"] / 1e6)
        )
    else:
        billed = max(0.1 * cosmos["autoscale_max_ru_s"],
                     cosmos["average_ru_s"] * AUTOSCALE_HOURLY_PEAK)  # fmt: skip
        throughput = billed / 100 * 24 * days * prices["cosmos_autoscale_per_100_ru_s_hour"]
    costs = {
        "compute": gb_s_per_day * days * prices["flex_on_demand_per_gb_s"],
        "executions": 2 * files_per_day * days / 1e6 * prices["flex_per_million_executions"],
        "cosmos_throughput": throughput,
        "cosmos_storage": (cosmos["results_gb_steady"] + cosmos["cache_gb_steady"])
        * prices["cosmos_storage_per_gb_month"],
        "blob_storage": sum(
            _daily(files_per_day, mix, stream) * inputs.storage_month[stream]["policy"]
            for stream in STREAMS
        ),
        "event_grid": files_per_day * days / 1e6 * prices["event_grid_per_million_operations"],
    }
    costs["total"] = sum(costs.values())
    return costs


def _daily(files_per_day: int, mix: dict[str, float], stream: str) -> float:
    """Files a day of a workload stream (the quarantined stream: the rejected share)."""
    if stream == "quarantined":
        return files_per_day * REJECTED_SHARE
    return files_per_day * mix[stream] * (1 - REJECTED_SHARE)


def blob_storage_per_file(days: int = 395) -> tuple[dict[str, Any], dict[str, Any]]:
    """Per stream of the example workload, per file a day: the steady-state monthly cost
    of its blobs under the lifecycle policy and all hot (the last 30 days of ``days``),
    and the GB per tier after 30, 180 and 365 days."""
    from prism.lifecycle import (
        Tier,
        compare_with_all_hot,
        load_policy,
        load_prices,
        load_workload,
        workload_cohorts,
    )
    from prism.lifecycle.validation import DEFAULT_POLICY_PATH

    workload = load_workload(DEFAULT_POLICY_PATH.parent / "workload.example.json")
    policy = load_policy(DEFAULT_POLICY_PATH)
    prices = load_prices(None)
    month: dict[str, Any] = {}
    tiers: dict[str, Any] = {}
    for stream in workload["streams"]:
        per_day = float(stream["blobs_per_day"])
        single = {**workload, "streams": [stream]}
        comparison = compare_with_all_hot(workload_cohorts(single, days), policy, prices, days)
        last = slice(days - 30, days)
        month[stream["name"]] = {
            name: float(sum(costs[last].sum() for costs in result.costs.values()))
            / 30
            * DAYS_PER_MONTH
            / per_day
            for name, result in (("policy", comparison.policy), ("hot", comparison.baseline))
        }
        tiers[stream["name"]] = {
            f"day {day}": {
                tier.label: float(comparison.policy.gigabytes[day - 1, tier]) / per_day
                for tier in Tier
            }
            for day in (30, 180, 365)
        }
    return month, tiers
