"""``prism plan``: what a daily volume of files needs, from what the benchmarks measured.

For a rate and a mix of modalities, at the peak (``peak_factor`` × the average rate):

* **instances per function** — an inference instance serves at most ``cores / cpu_s``
  items a second (its cores kept busy by the model) and at most
  ``concurrency / (cpu_s + io_s)`` (host.json's queue settings: ``batchSize`` +
  ``newBatchThreshold`` invocations at once), whichever is lower; ingest is I/O-bound at
  host.json's ``blobs.maxDegreeOfParallelism`` invocations at once;
* **Cosmos DB** — request units per file (:func:`prism_tools.cost.model.request_units`: done-check,
  result write, the shared cache where it is on; Microsoft's size-to-RU table, measured
  with indexing off, plus an unverified allowance per result write for the results
  container's index), the RU/s that makes at the average and the peak, storage growth
  (stored document sizes, an allowance for the index, the results' TTL) and the steady
  state it reaches;
* **blob storage by tier** — the lifecycle simulator on the example workload's file sizes
  and access pattern, scaled to the volume;
* **which limit binds first** — each demand as a share of its Azure limit
  (``limits.json``: source and date of each); the highest share binds first, and any
  over 100 % must change before that volume runs;
* **the scale preset** the Bicep takes (``scalePreset``): ``small`` (serverless Cosmos
  DB) while its storage and RU/s limits hold with a margin, ``large`` (autoscale
  provisioned throughput, with the maximum RU/s to set) beyond. The maximum is the
  highest of what the peak needs (× 1.2, rounded up to a thousand), Cosmos DB's floor of
  1,000 and its storage minimum (10 RU/s per GB at the steady state): Cosmos DB raises a
  lower maximum by itself as the container grows, and a later deployment that sets the
  lower value again is refused. The plan says when the Bicep's default
  (``resultsMaxThroughput``, and the cache container's fixed 1,000) is below it;
* **Event Grid** — the storage account's system topic publishes a BlobCreated event for
  every blob written in the account: the upload, a rejected file's copy to quarantine
  and, while ``AzureWebJobsStorage`` shares the account (the Bicep's layout), the
  Functions host's blob receipts (:data:`RECEIPT_EVENTS_PER_FILE`). The subscription's
  subject filter (the incoming container, complete writes) delivers only the upload's,
  but every published event counts against the topic's publish rate; billing counts
  each publish and each delivery (:func:`event_grid_figures`);
* **monthly cost** — compute, executions, always-ready instances (their baseline is
  billed all month, with no free grant), Cosmos DB throughput (on the large preset each
  container bills at least 10 % of its autoscale maximum every hour) and storage, blob
  storage, Event Grid operations.

Transcription: the audio function's CPU seconds per file are the batching benchmark's
(its recording, with the seconds of speech the VAD found in it); for audio files with
more or less speech (``speech_minutes_per_audio_file``), Whisper's share of them is
swapped: the recording's transcription out, the given speech's in, both by the windows
model of :mod:`prism_tools.cost.speech` (measured in ``bench/results/speech.json``).

Stated assumptions (not measured): the peak factor; without a figure for it, that audio
files hold as much speech as the benchmark's recording; autoscale bills each hour's highest
RU/s, taken as 1.5 × the average; an index allowance per document (storage) and per
result write (RU, ``prism_tools/cost/cosmos_ru.json``); one Event Grid BlobCreated event is
about 1.2 KB; the host's blob receipts per file; that Event Grid bills a publish even
when no subscription matches the event (an upper bound: not checked); storage requests
per file as counted in :data:`STORAGE_REQUESTS_PER_FILE`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prism.errors import ConfigurationError
from prism.settings import PROJECT_ROOT
from prism_tools.cost.cosmos import RuTable, load_ru_table, results_indexing_policy
from prism_tools.cost.model import MB_PER_CORE, MODALITIES, Measured, request_units
from prism_tools.cost.speech import SpeechMeasured

if TYPE_CHECKING:
    from prism_local.devhost.config import HostConfig

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
# The Bicep's defaults the plan costs and checks against Azure's rules
# (tests/iac/test_scale_preset.py holds them equal to bicep/): the results container's
# autoscale maximum on the large preset (resultsMaxThroughput), the cache container's
# fixed one, and the always-ready instances of the HTTP group (alwaysReadyHttpInstances).
BICEP_RESULTS_MAX_THROUGHPUT = 10_000
BICEP_CACHE_MAX_THROUGHPUT = 1_000
BICEP_ALWAYS_READY_INSTANCES = 1
AUTOSCALE_STEP_RU_S = 1000  # autoscale maxima are planned in whole thousands
AUTOSCALE_HEADROOM = 1.2  # the maximum covers the peak's RU/s with 20 % to spare
AUTOSCALE_MIN_SHARE = 0.1  # autoscale bills at least 10 % of the maximum every hour
# Event Grid: BlobCreated events the storage account's system topic publishes per file
# besides the upload's own. While AzureWebJobsStorage shares the account (the Bicep's
# layout), the Functions host writes blob receipts there for every file the blob trigger
# runs on: about three BlobCreated events a file, which the subscription's subject filter
# keeps from the function but the topic still publishes (an estimate, not measured here).
RECEIPT_EVENTS_PER_FILE = 3
# Billing counts each publish and each delivery attempt: Microsoft's example of blob
# events delivered to a function bills 2 operations per event delivered.
OPERATIONS_PER_DELIVERED_EVENT = 2


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
    from prism_local.devhost.config import HostConfig

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
    # Always-ready instances (billed all month at the baseline rate, no free grant).
    always_ready_instances: int = BICEP_ALWAYS_READY_INSTANCES
    # AzureWebJobsStorage in an account of its own: the host's receipts then publish no
    # event on the inputs' system topic (the Bicep: one shared account).
    separate_host_storage: bool = False
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
    figures["event_grid"] = event_grid_figures(peak, inputs)
    figures["always_ready"] = always_ready_figures(inputs)
    checks = _limit_checks(peak, mix, inputs, instances["total"], figures["cosmos"],
                           event_grid=figures["event_grid"])  # fmt: skip
    figures["limits"] = checks
    figures["binds_first"] = checks[0]["limit"]
    figures["exceeded"] = [check["limit"] for check in checks if check["share"] > 1]
    figures["monthly_cost"] = _monthly_cost(files_per_day, mix, inputs, gb_s_per_day,
                                            figures)  # fmt: skip
    figures["notes"] = _notes(result)
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


def _thousands(ru_s: float) -> int:
    """``ru_s`` rounded up to a whole thousand (how autoscale maxima are planned)."""
    return AUTOSCALE_STEP_RU_S * math.ceil(ru_s / AUTOSCALE_STEP_RU_S - 1e-9)


def autoscale_minimum(storage_gb: float) -> float:
    """The lowest autoscale maximum RU/s Cosmos DB accepts for a container storing
    ``storage_gb`` that never had a higher one: max(1,000, 10 RU/s per GB). (A tenth of
    the highest maximum it ever had is the third term; a plan has no history.)"""
    limits = load_limits()
    return max(
        float(limits["cosmos_autoscale_min_max_ru_s"].value),
        float(limits["cosmos_min_ru_s_per_gb_stored"].value) * storage_gb,
    )


def autoscale_maximum(peak_ru_s: float, storage_gb: float) -> dict[str, int]:
    """The autoscale maximum to set, and what each rule asks for: the peak's RU/s with
    headroom, Cosmos DB's floor, and its storage minimum (each rounded up to a thousand)."""
    limits = load_limits()
    by = {
        "peak": _thousands(peak_ru_s * AUTOSCALE_HEADROOM),
        "floor": int(limits["cosmos_autoscale_min_max_ru_s"].value),
        "storage": _thousands(autoscale_minimum(storage_gb)),
    }
    return {"max_ru_s": max(by.values()), **{f"by_{rule}": value for rule, value in by.items()}}


def _cosmos_gb_per_day(
    files_per_day: int, mix: dict[str, float], inputs: Inputs, cache_hit_rate: float
) -> tuple[float, float]:
    """GB a day of result documents (with the index's allowance) and of shared cache
    entries (only misses write one)."""
    document_bytes = {
        m: inputs.measured[m].document_kb * 1024 + INDEX_BYTES_PER_DOCUMENT for m in MODALITIES
    }
    results = sum(files_per_day * mix[m] * document_bytes[m] for m in MODALITIES)
    entries = sum(
        files_per_day * mix[m] * (1 - cache_hit_rate) * inputs.measured[m].entry_kb * 1024
        for m in MODALITIES
        if m in inputs.shared_cache
    )
    return results / 1e9, entries / 1e9


def _ru_sources(table: RuTable) -> dict[str, Any]:
    """Which RU figures are what: the table's (Microsoft's, measured with indexing off,
    at the document sizes the benchmarks measured) and the index allowance added to
    each result write (not measured)."""
    allowance = table.index_allowance
    return {
        "table": {
            "source": table.url,
            "recorded": table.recorded,
            "what": "done-check, result and cache-entry writes and reads by "
            "document size: Microsoft's published table (measured "
            "with indexing off), at the sizes bench measured",
        },
        "index_allowance_per_result_write": table.result_index_ru,
        "index_allowance_terms": None
        if allowance is None
        else allowance.terms(results_indexing_policy()),
        "index_allowance_verified": None if allowance is None else allowance.verified,
    }


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

    def ru(modality: str, shared: bool) -> float:
        return request_units(inputs.measured[modality], shared_cache=shared,
                             cache_hit_rate=cache_hit_rate, table=table)  # fmt: skip

    ru_per_file = {m: ru(m, m in inputs.shared_cache) for m in MODALITIES}
    ru_per_file_mix = sum(mix[m] * ru_per_file[m] for m in MODALITIES)
    # The cache container's share: what the shared cache adds to a file's RUs.
    cache_ru_per_file_mix = sum(
        mix[m] * (ru(m, True) - ru(m, False)) for m in MODALITIES if m in inputs.shared_cache
    )
    results_gb_per_day, entry_gb_per_day = _cosmos_gb_per_day(
        files_per_day, mix, inputs, cache_hit_rate
    )
    results_steady_gb = results_gb_per_day * results_ttl_days
    cache_steady_gb = entry_gb_per_day * cache_ttl_days
    average = files_per_day / SECONDS_PER_DAY
    peak_ru_s = peak * ru_per_file_mix
    cache_peak_ru_s = peak * cache_ru_per_file_mix
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
    results_max = autoscale_maximum(peak_ru_s - cache_peak_ru_s, results_steady_gb)
    cache_max = autoscale_maximum(cache_peak_ru_s, cache_steady_gb)
    results_minimum = autoscale_minimum(results_steady_gb)
    cache_minimum = autoscale_minimum(cache_steady_gb)
    return {
        "ru_per_file": ru_per_file,
        "ru_per_file_mix": ru_per_file_mix,
        "ru_sources": _ru_sources(table),
        "average_ru_s": average * ru_per_file_mix,
        "peak_ru_s": peak_ru_s,
        "cache_average_ru_s": average * cache_ru_per_file_mix,
        "cache_peak_ru_s": cache_peak_ru_s,
        "results_gb_per_day": results_gb_per_day,
        "results_gb_steady": results_steady_gb,
        "results_ttl_days": results_ttl_days,
        "cache_gb_steady": cache_steady_gb,
        "days_to_serverless_limit": serverless_gb / results_gb_per_day,
        "serverless_max_ru_s_at_steady_state": serverless_ru_s,
        "physical_partitions": partitions,
        "peak_ru_s_per_physical_partition": peak_ru_s / partitions,
        "largest_logical_partition_kb": max(m.document_kb for m in inputs.measured.values()),
        "preset": PRESETS[0] if fits_serverless else PRESETS[1],
        # The large preset: the maximum to set (resultsMaxThroughput), each rule's ask,
        # and Cosmos DB's lowest accepted maximum at the steady state's storage.
        "autoscale_max_ru_s": None if fits_serverless else results_max["max_ru_s"],
        "autoscale_max_by": results_max,
        "autoscale_minimum_ru_s": results_minimum,
        "bicep_results_max_ru_s": BICEP_RESULTS_MAX_THROUGHPUT,
        "bicep_results_max_below_minimum": results_minimum > BICEP_RESULTS_MAX_THROUGHPUT,
        "bicep_results_max_below_peak": results_max["by_peak"] > BICEP_RESULTS_MAX_THROUGHPUT,
        "cache_autoscale_max_ru_s": None if fits_serverless else cache_max["max_ru_s"],
        "cache_autoscale_minimum_ru_s": cache_minimum,
        "bicep_cache_max_ru_s": BICEP_CACHE_MAX_THROUGHPUT,
        "bicep_cache_max_below_minimum": cache_minimum > BICEP_CACHE_MAX_THROUGHPUT,
    }


def event_grid_figures(peak: float, inputs: Inputs) -> dict[str, Any]:
    """BlobCreated events the storage account's system topic publishes and delivers per
    file, the peak's publish rate, and the operations billed per file."""
    receipts = 0 if inputs.separate_host_storage else RECEIPT_EVENTS_PER_FILE
    # The upload; a rejected file's copy into quarantine; the host's receipts.
    published = 1 + REJECTED_SHARE + receipts
    delivered = 1  # the subscription: BlobCreated in incoming, complete writes only
    return {
        "published_per_file": published,
        "receipts_per_file": receipts,
        "delivered_per_file": delivered,
        # A publish each (those no subscription matches included: an upper bound) and
        # a delivery each for the delivered.
        "operations_per_file": published + delivered * (OPERATIONS_PER_DELIVERED_EVENT - 1),
        "peak_events_per_s": peak * published,
        "peak_mb_per_s": peak * published * EVENT_KB / 1000,
        "separate_host_storage": inputs.separate_host_storage,
    }


def always_ready_figures(inputs: Inputs) -> dict[str, Any]:
    """The always-ready instances' baseline: their memory, every second of the month."""
    gb = inputs.always_ready_instances * inputs.instance_mb / 1024
    return {
        "instances": inputs.always_ready_instances,
        "instance_mb": inputs.instance_mb,
        "gb_s_per_month": gb * SECONDS_PER_DAY * DAYS_PER_MONTH,
    }


def _sum_tiers(parts: Any) -> dict[str, float]:
    total: dict[str, float] = {}
    for files_a_day, per_file in parts:
        for tier, gb in per_file.items():
            total[tier] = total.get(tier, 0.0) + files_a_day * gb
    return total


def _limit_checks(
    peak: float,
    mix: dict[str, float],
    inputs: Inputs,
    instances: int,
    cosmos: dict[str, Any],
    *,
    event_grid: dict[str, Any],
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
        "event_grid_topic_events_per_s": event_grid["peak_events_per_s"],
        "event_grid_topic_mb_per_s": event_grid["peak_mb_per_s"],
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
    figures: dict[str, Any],
) -> dict[str, float]:
    prices, days = inputs.prices, DAYS_PER_MONTH
    cosmos = figures["cosmos"]
    if cosmos["preset"] == PRESETS[0]:
        throughput = (
            cosmos["average_ru_s"]
            * SECONDS_PER_DAY
            * days
            * (prices["cosmos_serverless_per_million_ru"] / 1e6)
        )
    else:
        # Each container bills every hour its highest RU/s, and at least 10 % of its
        # maximum: the results container's maximum is held up by its storage.
        results_average = cosmos["average_ru_s"] - cosmos["cache_average_ru_s"]
        billed = max(
            AUTOSCALE_MIN_SHARE * cosmos["autoscale_max_ru_s"],
            results_average * AUTOSCALE_HOURLY_PEAK,
        ) + max(
            AUTOSCALE_MIN_SHARE * cosmos["cache_autoscale_max_ru_s"],
            cosmos["cache_average_ru_s"] * AUTOSCALE_HOURLY_PEAK,
        )
        throughput = billed / 100 * 24 * days * prices["cosmos_autoscale_per_100_ru_s_hour"]
    event_operations = files_per_day * figures["event_grid"]["operations_per_file"]
    costs = {
        "compute": gb_s_per_day * days * prices["flex_on_demand_per_gb_s"],
        "executions": 2 * files_per_day * days / 1e6 * prices["flex_per_million_executions"],
        "always_ready": figures["always_ready"]["gb_s_per_month"]
        * _price(prices, "flex_always_ready_baseline_per_gb_s"),
        "cosmos_throughput": throughput,
        "cosmos_storage": (cosmos["results_gb_steady"] + cosmos["cache_gb_steady"])
        * prices["cosmos_storage_per_gb_month"],
        "blob_storage": sum(
            _daily(files_per_day, mix, stream) * inputs.storage_month[stream]["policy"]
            for stream in STREAMS
        ),
        "event_grid": event_operations * days / 1e6 * prices["event_grid_per_million_operations"],
    }
    costs["total"] = sum(costs.values())
    return costs


def _price(prices: dict[str, Any], name: str) -> float:
    """A price the plan needs; a table without it (one written before the plan used
    it, given with --prices) is a configuration error naming it."""
    if name not in prices:
        raise ConfigurationError(
            f"the price table has no {name!r}: add it (prism_tools/cost/prices.json has it, "
            "with its source)"
        )
    return float(prices[name])


def _volume(files_per_day: int) -> str:
    for size, unit in ((1e6, "M"), (1e3, "K")):
        if files_per_day >= size:
            return f"{files_per_day / size:g} {unit} files/day"
    return f"{files_per_day} files/day"


def _notes(result: Plan) -> list[str]:
    """What the plan's figures rest on and what to change before a volume runs, one
    line each; lines that hold for one volume only name it (:func:`render_notes`)."""
    figures, at = result.figures, _volume(result.files_per_day)
    cosmos, events, ready = figures["cosmos"], figures["event_grid"], figures["always_ready"]
    notes = []
    sources = cosmos["ru_sources"]
    allowance = sources["index_allowance_per_result_write"]
    if allowance:
        terms = sources["index_allowance_terms"]
        notes.append(
            "Cosmos DB RU: reads and writes by document size are Microsoft's published "
            "table (measured with indexing off) at the sizes bench measured; each result "
            f"write adds {allowance:g} RU for the results index ({terms['included_paths']} "
            f"paths, a composite index of {terms['composite_paths']}, "
            f"{terms['vector_indexes']} vector index): an allowance, "
            f"{'verified' if sources['index_allowance_verified'] else 'not measured'} "
            "(prism_tools/cost/cosmos_ru.json)."
        )
    if cosmos["preset"] == PRESETS[1]:
        by = cosmos["autoscale_max_by"]
        notes.append(
            f"At {at}: set resultsMaxThroughput={cosmos['autoscale_max_ru_s']} (peak needs "
            f"{by['by_peak']:,}; Cosmos DB's minimum for {gb_text(cosmos['results_gb_steady'])} "
            f"stored is {cosmos['autoscale_minimum_ru_s']:,.0f}: 10 RU/s per GB, at least "
            "1,000, and never under a tenth of the highest maximum ever set)."
        )
        if cosmos["bicep_results_max_below_minimum"]:
            notes.append(
                f"At {at}: the Bicep's default resultsMaxThroughput "
                f"({cosmos['bicep_results_max_ru_s']:,}) is below that minimum: Cosmos DB "
                "raises the maximum by itself as results accumulate, and the next `azd "
                "provision` with the default is refused."
            )
        elif cosmos["bicep_results_max_below_peak"]:
            notes.append(
                f"At {at}: the Bicep's default resultsMaxThroughput "
                f"({cosmos['bicep_results_max_ru_s']:,}) is below what the peak needs: "
                "writes would be throttled."
            )
        if cosmos["bicep_cache_max_below_minimum"] or (
            cosmos["cache_autoscale_max_ru_s"] > cosmos["bicep_cache_max_ru_s"]
        ):
            notes.append(
                f"At {at}: the cache container needs an autoscale maximum of "
                f"{cosmos['cache_autoscale_max_ru_s']:,}, above the Bicep's fixed "
                f"{cosmos['bicep_cache_max_ru_s']:,}."
            )
    receipts = (
        f", {events['receipts_per_file']} of them the Functions host's blob receipts "
        "(AzureWebJobsStorage shares the account: give it an account of its own, "
        "docs/deploy.md)"
        if events["receipts_per_file"]
        else ""
    )
    notes.append(
        f"Event Grid: {events['published_per_file']:.2f} BlobCreated events published per "
        f"file on the storage account's system topic{receipts}; the subscription's filter "
        f"delivers {events['delivered_per_file']}; billed {events['operations_per_file']:.2f} "
        "operations per file (each publish, each delivery)."
    )
    if ready["instances"]:
        notes.append(
            f"Always ready: {ready['instances']} × {ready['instance_mb']} MB instance billed "
            "every second of the month at the baseline rate (no free grant)."
        )
    return notes


def render_notes(plans: list[dict[str, Any]]) -> list[str]:
    """The notes of several plans, each line once, in order."""
    return list(dict.fromkeys(note for plan in plans for note in plan.get("notes", [])))


def gb_text(gb: float) -> str:
    if gb >= 1000:
        return f"{gb / 1000:,.1f} TB"
    return f"{gb:,.1f} GB" if gb >= 1 or gb == 0 else f"{gb * 1000:,.0f} MB"


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
