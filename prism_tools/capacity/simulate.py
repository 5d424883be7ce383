"""``prism plan --simulate``: a day of arrivals replayed through a model of Flex
Consumption's scale-out, one step (5 s by default) at a time over aggregated queues, never
per file: its cost is the number of steps, whatever the volume.

The day (:class:`Shape`): per-minute arrivals for 1,440 minutes at the planned daily
volume — a diurnal wave (``average × (1 + swing × cos(…))``, peaking at ``peak_hour``) and
one burst of ``burst_factor`` × the day's average (the plan's peak factor unless given)
for ``burst_minutes`` from ``burst_at``; the wave carries the rest of the day's files.
Arrivals are spread evenly inside a minute. The horizon is the last ``warmup`` minutes
of the same curve (so the day starts with the state the evening before left), the day,
and ``after`` minutes of the next day's curve (so the last files meet traffic, and have
time to finish).

The pipeline (:class:`Stage`): Event Grid delivers BlobCreated events to ``ingest`` (at
most the topic's publish limit, ``limits.json``, over the events the plan counts
published per file: the upload's, quarantine copies, the host's blob receipts); ingest
routes each file to its
modality's queue; each ``infer_<modality>`` function scales on its own (Flex
Consumption's per-function scaling). Per instance, from the plan's own inputs
(:class:`prism_tools.capacity.plan.Inputs`): an inference instance serves at most
``min(cores / cpu_s, concurrency / (cpu_s + io_s))`` files a second (no 80 % headroom:
this is what it can do, not what to plan for), ingest ``maxDegreeOfParallelism /
ingest_s``. A file's time on its instance is ``service / (1 − ρ)`` at utilisation ρ
(processor sharing), at most ``concurrency / rate`` (every slot busy). Each finished
inference costs its Cosmos DB RUs (the plan's per file, split between the results and the
cache container); when a step wants more than a container serves (serverless: what it
reaches at the plan's steady-state storage; the ``large`` preset: the autoscale maxima the
plan sets; never more than 10,000 RU/s per physical partition), every function's
completions are cut pro rata and the rest wait in their queues: a throttled write delays
work.

The scale controller (:class:`Platform`): every ``scale_every`` seconds each function
wants ``ceil((waiting + in flight) / target)`` instances (target-based scaling, target =
host.json ``queues.batchSize``; for ingest ``blobs.maxDegreeOfParallelism``), at least
one while it has work; it adds at most ``scale_step`` at a time, each ready after its
start-up (``platform_start`` + the app's own: importing ``function_app`` and loading the
modality's model, from ``bench/results/pipeline.json``'s cold start when it has one).
All functions together stay within the app's maximum instances and the regional memory
quota (``limits.json``); when they are short, the room left is shared in proportion to
what each asked for. A function gives instances back, one a decision, once it has needed
fewer for ``scale_in_after`` seconds. Where each file's CPU is long, the count therefore
oscillates around the point where every instance holds ``target`` files: below it the
instances overload and the queue asks for more, above it the queue asks for fewer.

What Microsoft does not publish, and the model therefore assumes (:data:`ASSUMPTIONS`,
printed with every result): how often the scale controller decides and how many
instances a decision adds for a queue-triggered function on Flex Consumption (Microsoft's
target-based scaling page says "four instances at a time"; how often is not stated); how
long the platform takes to give an instance (``platform_start``); how long idle
instances are kept; how Event Grid-triggered blob functions scale; that Event Grid holds
events over its publish rate instead of dropping them; how the app's instance cap is
shared between functions. The regional memory quota's value is itself unverified
(``limits.json``).

Cost of the day: compute is billed per GB-second while an on-demand instance executes at
least one invocation (Microsoft's billing page); the model takes an instance serving ``r``
files a second, each on it for ``T``, as executing ``1 − exp(−r·T)`` of the time (arrivals
at random). Executions (ingest and inference, one each per file), the always-ready
baseline (the plan's), Cosmos DB (serverless: the RUs used; autoscale: each container's
highest RU/s each hour, at least 10 % of its maximum) and Event Grid (the plan's
operations per file) at the plan's prices.
"""

from __future__ import annotations

import json
import math
import time
from collections import deque
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from prism.errors import ConfigurationError
from prism_tools.capacity.plan import (
    DAYS_PER_MONTH,
    DEFAULT_MIX,
    DEFAULT_PEAK_FACTOR,
    EVENT_KB,
    STORAGE_REQUESTS_PER_FILE,
    Inputs,
    audio_cpu_s,
    load_limits,
    plan,
    serverless_max_ru_s,
)
from prism_tools.cost.cosmos import load_ru_table
from prism_tools.cost.model import MB_PER_CORE, MEASURED_CORES, MODALITIES, request_units
from prism_tools.summary import count_text, report

if TYPE_CHECKING:
    import argparse

    from numpy.typing import NDArray

    Floats = NDArray[np.float64]

MINUTES_PER_DAY = 1440
QUANTILES = (0.5, 0.95, 0.99)
# Positions sampled inside each step's arrivals for the latency distribution.
_SUBSTEPS = np.array([0.125, 0.375, 0.625, 0.875])
STEP_CHOICES = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60)  # seconds that divide a minute
ASSUMED_APP_START_S = 5.0  # the app's import and a model's load, when not measured

ASSUMPTIONS = (
    "Scale decisions: every {scale_every:g} s each function asks for ceil((messages waiting "
    "+ in flight) / target) instances and gets at most {scale_step} more per decision. "
    "Microsoft's target-based scaling page says 'four instances at a time' and takes the "
    "target from host.json (queues.batchSize); it does not say how often Flex Consumption "
    "decides for a queue-triggered function. The queue length is taken to count messages "
    "being processed too, as Azure Storage's approximate message count does.",
    "Start-up: {platform_start:g} s for the platform to give an instance (not published), "
    "plus the app's own start ({app_start_source}).",
    "Scale-in: a function keeps its instances until it has needed fewer for "
    "{scale_in_after:g} s, then gives back one a decision (not published). "
    "Only time executing is billed, so this moves instance counts, not the compute bill.",
    "Ingest (an Event Grid blob trigger) scales like a queue function whose target is "
    "host.json blobs.maxDegreeOfParallelism invocations in flight per instance (not "
    "published for Flex Consumption's blob group).",
    "Event Grid holds events over its publish limit and delivers them later, in order; "
    "that a storage account's system topic is held to the custom-topic limit at all is "
    "limits.json's reading, not a verified figure.",
    "When the app's instance cap or the regional memory quota leaves less room than the "
    "functions ask for, the room is shared in proportion to their asks (not published). "
    "The quota is taken as this app's alone.",
    "A fluid model: arrivals spread evenly within each minute and queues as amounts, so a "
    "sparse function (under one file per scale-in period) keeps an instance the platform "
    "might have scaled to zero, and cold starts of sparse traffic are not counted.",
    "Compute billed only while an instance executes at least one invocation; an instance "
    "serving r files/s, each on it T s, counts as executing 1 - exp(-r T) of the time "
    "(the 1 s minimum per execution is left out).",
)


@dataclass(frozen=True)
class Shape:
    """The day's arrival curve at the planned volume."""

    swing: float = 0.6  # the wave's amplitude over the average (0.6: 0.4× to 1.6×)
    peak_hour: float = 14.0  # when the wave peaks, hours into the day
    burst_at: int = 11 * 60  # the burst's first minute
    burst_minutes: int = 15
    burst_factor: float | None = None  # × the day's average; None: the plan's peak factor


@dataclass(frozen=True)
class Platform:
    """The model of Flex Consumption (see :data:`ASSUMPTIONS` for what is assumed)."""

    step: float = 5.0  # seconds per simulation step (divides a minute)
    scale_every: float = 10.0  # seconds between scale decisions
    scale_step: int = 4  # instances one decision adds at most, per function
    scale_in_after: float = 300.0  # seconds a function needs fewer before giving them back
    platform_start: float = 10.0  # seconds for the platform to give an instance
    app_start: float | None = None  # the app's own start; None: measured, else assumed
    max_instances: int | None = None  # None: limits.json's flex_max_instances_per_app
    memory_quota_mb: int | None = None  # None: limits.json's flex_regional_memory_quota_mb
    ru_s: float | None = None  # Cosmos DB RU/s; None: what the plan's preset serves
    warmup: int = 60  # minutes of the evening before
    after: int = 60  # minutes of the next day


SPEC_KEYS: dict[str, tuple[str, str]] = {
    # spec key: (Shape or Platform, field)
    "swing": ("shape", "swing"),
    "peak-hour": ("shape", "peak_hour"),
    "burst-at": ("shape", "burst_at"),
    "burst-minutes": ("shape", "burst_minutes"),
    "burst-factor": ("shape", "burst_factor"),
    "step": ("platform", "step"),
    "scale-every": ("platform", "scale_every"),
    "scale-step": ("platform", "scale_step"),
    "scale-in-after": ("platform", "scale_in_after"),
    "platform-start": ("platform", "platform_start"),
    "app-start": ("platform", "app_start"),
    "max-instances": ("platform", "max_instances"),
    "memory-quota-mb": ("platform", "memory_quota_mb"),
    "ru-s": ("platform", "ru_s"),
    "warmup": ("platform", "warmup"),
    "after": ("platform", "after"),
}
_INTEGERS = {
    "burst_at",
    "burst_minutes",
    "scale_step",
    "max_instances",
    "memory_quota_mb",
    "warmup",
    "after",
}


def parse_spec(text: str) -> tuple[Shape, Platform]:
    """``burst-at=09:30,burst-minutes=20,scale-step=8`` → the shape and platform (keys:
    :data:`SPEC_KEYS`; ``burst-at`` also takes ``HH:MM``)."""
    shape: dict[str, Any] = {}
    platform: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, raw = part.partition("=")
        key = key.strip()
        if not sep or key not in SPEC_KEYS:
            raise ConfigurationError(
                f"--simulate takes key=value,… with keys {', '.join(SPEC_KEYS)}: {part!r}"
            )
        target, name = SPEC_KEYS[key]
        value = _spec_value(key, name, raw.strip())
        (shape if target == "shape" else platform)[name] = value
    result = Shape(**shape), Platform(**platform)
    _check(*result)
    return result


def _spec_value(key: str, name: str, raw: str) -> float | int:
    if name == "burst_at" and ":" in raw:
        hours, _, minutes = raw.partition(":")
        if not (hours.isdigit() and minutes.isdigit()):
            raise ConfigurationError(f"{key} is HH:MM or a minute of the day: {raw!r}")
        return int(hours) * 60 + int(minutes)
    try:
        number = float(raw)
    except ValueError:
        raise ConfigurationError(f"{key} is not a number: {raw!r}") from None
    if not math.isfinite(number) or number < 0:
        raise ConfigurationError(f"{key} must be a finite number, 0 or more: {raw!r}")
    if name in _INTEGERS:
        if number != int(number):
            raise ConfigurationError(f"{key} must be a whole number: {raw!r}")
        return int(number)
    return number


def _check(shape: Shape, platform: Platform) -> None:
    if not 0 <= shape.swing < 1:
        raise ConfigurationError(f"swing must be from 0 to under 1: {shape.swing}")
    if not 0 <= shape.burst_at < MINUTES_PER_DAY or shape.burst_at + shape.burst_minutes > (
        MINUTES_PER_DAY
    ):
        raise ConfigurationError("the burst must lie within the day (burst-at, burst-minutes)")
    if shape.burst_factor is not None and shape.burst_factor < 1:
        raise ConfigurationError(f"burst-factor is at least 1: {shape.burst_factor}")
    if platform.step not in STEP_CHOICES:
        raise ConfigurationError(f"step must divide a minute: one of {STEP_CHOICES} seconds")
    if platform.scale_every < platform.step or platform.scale_step < 1:
        raise ConfigurationError("scale-every must be at least one step; scale-step at least 1")
    if platform.max_instances is not None and platform.max_instances < 1:
        raise ConfigurationError("max-instances must be at least 1")
    if platform.ru_s is not None and platform.ru_s <= 0:
        raise ConfigurationError("ru-s must be above 0")


def arrivals_per_minute(files_per_day: int, shape: Shape, peak_factor: float) -> Floats:
    """Files arriving in each minute of the day (they add up to ``files_per_day``)."""
    factor = shape.burst_factor if shape.burst_factor is not None else peak_factor
    average = files_per_day / MINUTES_PER_DAY
    minutes = np.arange(MINUTES_PER_DAY)
    hours = (minutes + 0.5) / 60
    wave = 1 + shape.swing * np.cos(2 * np.pi * (hours - shape.peak_hour) / 24)
    burst = (minutes >= shape.burst_at) & (minutes < shape.burst_at + shape.burst_minutes)
    in_burst = factor * average * shape.burst_minutes
    if in_burst > files_per_day:
        raise ConfigurationError(
            f"a burst of {factor:g}× the average for {shape.burst_minutes} minutes holds more "
            "than the day's files"
        )
    rest = files_per_day - in_burst
    quiet = wave[~burst].sum()
    arrivals: Floats = np.where(burst, factor * average, rest * wave / quiet if quiet else 0.0)
    return arrivals


@dataclass(frozen=True)
class Stage:
    """One function (or, for the local comparison, one host doing everything)."""

    name: str
    share: float  # of the files: 1 for the first stage, the mix share downstream
    rate_per_instance: float  # files a second one instance serves at most
    service_s: float  # one file's time on an otherwise idle instance
    concurrency: int  # invocations in flight per instance at most
    target: float  # the scale controller's target executions per instance
    startup_s: float  # from asking for an instance to its first invocation
    # Cosmos DB RU each completion costs in the results and the cache container.
    ru: tuple[float, float] = (0.0, 0.0)

    @property
    def longest_s(self) -> float:
        """A file's time on an instance with every slot busy (Little's law)."""
        return self.concurrency / self.rate_per_instance


def startup_from_bench(bench_dir: Path) -> dict[str, Any] | None:
    """The app's own start per function, from ``pipeline.json``'s cold start: importing
    ``function_app`` (ingest) plus the modality's first request over its second (the
    model's load). Documents and videos were not measured: the slowest measured load."""
    path = bench_dir / "pipeline.json"
    if not path.is_file():
        return None
    cold = json.loads(path.read_text(encoding="utf-8")).get("cold_start")
    if not cold:
        return None
    imported = float(cold["import_function_app_ms"]) / 1000
    loads = {
        m: max(0.0, float(v["first_ms"]) - float(v["second_ms"])) / 1000
        for m, v in cold.get("first_request", {}).items()
    }
    slowest = max(loads.values(), default=0.0)
    per_function = {"ingest": imported}
    per_function |= {m: imported + loads.get(m, slowest) for m in MODALITIES}
    return {"seconds": per_function, "source": f"measured: {path.name} cold_start"}


def stages_for(
    inputs: Inputs,
    mix: dict[str, float],
    ru_per_file: dict[str, tuple[float, float]],
    startup: dict[str, float],
    *,
    cache_hit_rate: float = 0.0,
    speech_s: float | None = None,
) -> list[Stage]:
    """Ingest, then one inference function per modality with files in the mix."""
    cores = inputs.instance_mb / MB_PER_CORE
    queues = inputs.host.queues
    parallelism = inputs.host.blobs.max_degree_of_parallelism
    stages = [
        Stage(
            "ingest",
            1.0,
            parallelism / inputs.ingest_s,
            inputs.ingest_s,
            parallelism,
            parallelism,
            startup["ingest"],
        )
    ]
    for modality in MODALITIES:
        if mix.get(modality, 0.0) <= 0:
            continue
        measured = inputs.measured[modality]
        per_file = audio_cpu_s(inputs, speech_s) if modality == "audio" else measured.cpu_s_batched
        cpu_s = max(per_file * (1 - cache_hit_rate), 1e-9)
        service = cpu_s + measured.io_s
        rate = min(cores / cpu_s, queues.max_concurrency / service)
        stages.append(
            Stage(
                f"infer_{modality}",
                mix[modality],
                rate,
                service,
                queues.max_concurrency,
                queues.batch_size,
                startup[modality],
                ru_per_file[modality],
            )
        )
    return stages


@dataclass
class Trace:
    """Per step: what each stage took in, served, held; what the platform gave."""

    step: float
    arrivals: Floats  # (steps,) files arriving
    delivered: Floats  # (steps,) Event Grid deliveries
    held: Floats  # (steps,) events Event Grid holds at the end of the step
    entering: Floats  # (steps, stages) files entering each stage's queue
    served: Floats  # (steps, stages) files each stage starts
    waiting: Floats  # (steps, stages) end of the step
    in_flight: Floats
    ready: Floats
    allocated: Floats  # ready + starting: what counts against caps
    desired: Floats  # what the scale controller last asked for
    sojourn: Floats  # a file's time on an instance
    executing: Floats  # instance-seconds executing at least one invocation
    ru_wanted: Floats  # (steps, 2) RU the step's completions would cost: results, cache
    ru_used: Floats
    rate_bound: Floats  # (steps,) 1 where a function wanted more than scale_step more


class _Scaler:
    """The scale controller's state: instances ready and starting per function."""

    def __init__(self, stages: list[Stage], platform: Platform, instance_cap: int) -> None:
        dt = platform.step
        self.stages, self.platform, self.cap = stages, platform, instance_cap
        self.start_steps = [max(1, math.ceil(s.startup_s / dt)) for s in stages]
        self.hold = max(1, round(platform.scale_in_after / dt))
        self.ready = [0] * len(stages)
        self.starting: list[deque[tuple[int, int]]] = [deque() for _ in stages]
        self.n_starting = [0] * len(stages)
        self.desired = [0] * len(stages)
        self.below = [-1] * len(stages)

    def arrive(self, k: int) -> None:
        """Instances whose start-up ends at step ``k`` are ready."""
        for f, queue in enumerate(self.starting):
            while queue and queue[0][0] <= k:
                self.ready[f] += queue[0][1]
                self.n_starting[f] -= queue.popleft()[1]

    def allocated(self) -> list[int]:
        return [r + s for r, s in zip(self.ready, self.n_starting, strict=True)]

    def decide(
        self, k: int, waiting: list[float], in_flight: list[float], entering: list[float]
    ) -> int:
        """One scale decision for every function; 1 when a function wanted more instances
        than one decision may add, with a batch (``target``) of messages waiting and room
        under the caps."""
        asks, step = [], self.platform.scale_step
        rate_bound = False
        for f, stage in enumerate(self.stages):
            work = waiting[f] + in_flight[f]
            want = math.ceil(work / stage.target - 1e-9)
            if want == 0 and (entering[f] > 1e-9 or work > 1e-9):
                want = 1
            self.desired[f] = want
            missing = want - self.ready[f] - self.n_starting[f]
            rate_bound |= missing > step and waiting[f] >= stage.target
            asks.append(min(max(0, missing), step))
        room = self.cap - sum(self.ready) - sum(self.n_starting)
        for f, give in enumerate(_share_room(asks, room)):
            if give:
                self.starting[f].append((k + self.start_steps[f], give))
                self.n_starting[f] += give
            self._scale_in(k, f)
        return int(rate_bound and room > sum(asks))

    def _scale_in(self, k: int, f: int) -> None:
        """Once a function has needed fewer instances for the hold, each decision gives
        one back."""
        allocated = self.ready[f] + self.n_starting[f]
        if self.desired[f] >= allocated:
            self.below[f] = -1
        elif self.below[f] < 0:
            self.below[f] = k
        elif k - self.below[f] >= self.hold:
            self.ready[f] -= min(self.ready[f], 1)


def run(
    arrivals: Floats,
    stages: list[Stage],
    platform: Platform,
    *,
    instance_cap: int,
    event_cap_per_s: float = math.inf,
    ru_caps_per_s: tuple[float, float] = (math.inf, math.inf),
) -> Trace:
    """Step the model over ``arrivals`` (files per step): the engine."""
    dt, count = platform.step, len(stages)
    rate = [s.rate_per_instance * dt for s in stages]
    share = [s.share for s in stages]
    results_ru, cache_ru = [s.ru[0] for s in stages], [s.ru[1] for s in stages]
    decide_every = max(1, round(platform.scale_every / dt))
    scaler = _Scaler(stages, platform, instance_cap)
    ready = scaler.ready
    waiting, in_flight = [0.0] * count, [0.0] * count
    held, event_cap = 0.0, event_cap_per_s * dt
    results_cap, cache_cap = (cap * dt for cap in ru_caps_per_s)
    rows: list[tuple[float, ...]] = []
    for k, arriving in enumerate(arrivals.tolist()):
        scaler.arrive(k)
        held += arriving
        delivered = min(held, event_cap)
        held -= delivered
        entering = [delivered] + [0.0] * (count - 1)
        served = [0.0] * count
        waiting[0] += delivered
        served[0] = min(waiting[0], ready[0] * rate[0])
        waiting[0] -= served[0]
        results_wanted = cache_wanted = 0.0
        for f in range(1, count):
            entering[f] = served[0] * share[f]
            waiting[f] += entering[f]
            served[f] = min(waiting[f], ready[f] * rate[f])
            results_wanted += served[f] * results_ru[f]
            cache_wanted += served[f] * cache_ru[f]
        # Throttled writes (either container) hold every function's completions back.
        cut = min(1.0, _room(results_cap, results_wanted), _room(cache_cap, cache_wanted))
        for f in range(1, count):
            served[f] *= cut
            waiting[f] -= served[f]
        sojourn, executing = _occupancy(stages, ready, served, dt, in_flight)
        bound = scaler.decide(k, waiting, in_flight, entering) if k % decide_every == 0 else 0
        rows.append(
            (arriving, delivered, held, *entering, *served, *waiting, *in_flight, *ready,
             *scaler.allocated(), *scaler.desired, *sojourn, *executing, results_wanted,
             cache_wanted, results_wanted * cut, cache_wanted * cut, bound)
        )  # fmt: skip
    return _trace(np.array(rows, dtype=np.float64).reshape(len(rows), -1), count, dt)


def _room(cap: float, wanted: float) -> float:
    return 1.0 if wanted <= cap else cap / wanted


def _occupancy(
    stages: list[Stage], ready: list[int], served: list[float], dt: float, in_flight: list[float]
) -> tuple[list[float], list[float]]:
    """Each stage's time per file on an instance, files in flight (updated in place) and
    instance-seconds executing."""
    sojourn, executing = [], []
    for f, stage in enumerate(stages):
        if ready[f] == 0:
            sojourn.append(stage.service_s)
            in_flight[f] = 0.0
            executing.append(0.0)
            continue
        per_instance = served[f] / dt / ready[f]
        utilisation = per_instance / stage.rate_per_instance
        longest = stage.longest_s
        time_on = longest if utilisation >= 1 else min(stage.service_s / (1 - utilisation), longest)
        sojourn.append(time_on)
        in_flight[f] = served[f] / dt * time_on
        executing.append(ready[f] * dt * -math.expm1(-per_instance * time_on))
    return sojourn, executing


def _share_room(asks: list[int], room: int) -> list[int]:
    """The asks, or when they exceed the room, shares of it in proportion to them."""
    total = sum(asks)
    if total <= room:
        return asks
    if room <= 0:
        return [0] * len(asks)
    gives = [ask * room // total for ask in asks]
    for f in sorted(range(len(asks)), key=lambda i: asks[i] - gives[i], reverse=True):
        if sum(gives) >= room:
            break
        if gives[f] < asks[f]:
            gives[f] += 1
    return gives


def _trace(table: Floats, count: int, dt: float) -> Trace:
    def block(index: int) -> Floats:
        start = 3 + index * count
        return table[:, start : start + count]

    tail = 3 + 9 * count
    return Trace(
        step=dt,
        arrivals=table[:, 0],
        delivered=table[:, 1],
        held=table[:, 2],
        entering=block(0),
        served=block(1),
        waiting=block(2),
        in_flight=block(3),
        ready=block(4),
        allocated=block(5),
        desired=block(6),
        sojourn=block(7),
        executing=block(8),
        ru_wanted=table[:, tail : tail + 2],
        ru_used=table[:, tail + 2 : tail + 4],
        rate_bound=table[:, tail + 4],
    )


def _reach(cumulative: Floats, increments: Floats, x: Floats, dt: float) -> tuple[Floats, Any]:
    """When a cumulative count (per step, spread evenly within a step) first reaches each
    ``x``; ``inf`` where it never does. Also the step it happens in."""
    total = float(cumulative[-1]) if len(cumulative) else 0.0
    steps = np.searchsorted(cumulative, x - 1e-9 * max(1.0, total), side="left")
    inside = steps < len(cumulative)
    index = np.minimum(steps, len(cumulative) - 1)
    step_amount = increments[index]
    safe = np.where(step_amount > 0, step_amount, 1.0)
    fraction = np.clip(np.where(step_amount > 0, 1 - (cumulative[index] - x) / safe, 1.0), 0, 1)
    return np.where(inside, (index + fraction) * dt, np.inf), index


def latencies(trace: Trace, stages: list[Stage], window: slice) -> dict[str, tuple[Floats, Floats]]:
    """Per last stage, each sampled file's end-to-end time (arrival to the end of its
    inference: Event Grid, ingest, its queue, its instance) and its weight in files."""
    dt = trace.step
    steps = np.arange(window.start, window.stop)
    arriving = trace.arrivals[steps]
    before = np.cumsum(trace.arrivals)[steps] - arriving
    position = (before[:, None] + arriving[:, None] * _SUBSTEPS).ravel()
    arrived_at = ((steps[:, None] + _SUBSTEPS) * dt).ravel()
    weight = np.repeat(arriving / len(_SUBSTEPS), len(_SUBSTEPS))
    first_at, first_step = _reach(np.cumsum(trace.served[:, 0]), trace.served[:, 0], position, dt)
    first_time = trace.sojourn[first_step, 0]
    if len(stages) == 1:
        return {stages[0].name: (first_at + first_time - arrived_at, weight)}
    result = {}
    for f in range(1, len(stages)):
        served = trace.served[:, f]
        done_at, step = _reach(np.cumsum(served), served, position * stages[f].share, dt)
        done_at = np.where(np.isfinite(first_at), done_at, np.inf)
        result[stages[f].name] = (
            done_at + trace.sojourn[step, f] + first_time - arrived_at,
            weight * stages[f].share,
        )
    return result


def weighted_quantiles(values: Floats, weights: Floats) -> list[float | None]:
    """:data:`QUANTILES` of ``values`` weighted by ``weights``; None where the quantile
    falls on files not finished within the horizon."""
    keep = weights > 0
    values, weights = values[keep], weights[keep]
    if not len(values):
        return [None] * len(QUANTILES)
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    picks = np.searchsorted(cumulative, np.array(QUANTILES) * cumulative[-1], side="left")
    chosen = values[order][np.minimum(picks, len(values) - 1)]
    return [float(v) if math.isfinite(v) else None for v in chosen]


@dataclass
class Simulation:
    files_per_day: int
    mix: dict[str, float]
    shape: Shape
    platform: Platform
    figures: dict[str, Any] = field(default_factory=dict)
    trace: Trace | None = None
    stages: list[Stage] = field(default_factory=list)

    def to_dict(self, *, series: bool = True) -> dict[str, Any]:
        figures = dict(self.figures)
        if not series:
            figures.pop("series", None)
        return {
            "files_per_day": self.files_per_day,
            "mix": self.mix,
            "shape": _asdict(self.shape),
            "platform": _asdict(self.platform),
            **figures,
        }


def _asdict(item: Shape | Platform) -> dict[str, Any]:
    return {f.name: getattr(item, f.name) for f in fields(item)}


def simulate(
    files_per_day: int,
    inputs: Inputs,
    *,
    mix: dict[str, float] | None = None,
    shape: Shape | None = None,
    platform: Platform | None = None,
    peak_factor: float = DEFAULT_PEAK_FACTOR,
    cache_hit_rate: float = 0.0,
    speech_minutes_per_audio_file: float | None = None,
    startup: dict[str, Any] | None = None,
    results_ttl_days: int = 365,
) -> Simulation:
    """A day at ``files_per_day`` through the model; ``startup``: the app's own start per
    function as :func:`startup_from_bench` gives it (None: assumed)."""
    began = time.perf_counter()
    mix = dict(mix or DEFAULT_MIX)
    shape, platform = shape or Shape(), platform or Platform()
    _check(shape, platform)
    speech_s = None if speech_minutes_per_audio_file is None else speech_minutes_per_audio_file * 60
    the_plan = plan(
        files_per_day,
        inputs,
        mix=mix,
        peak_factor=peak_factor,
        cache_hit_rate=cache_hit_rate,
        results_ttl_days=results_ttl_days,
        speech_minutes_per_audio_file=speech_minutes_per_audio_file,
    ).to_dict()
    app_start, app_source = _app_start(platform, startup)
    per_function = {name: platform.platform_start + seconds for name, seconds in app_start.items()}
    stages = stages_for(
        inputs,
        mix,
        _ru_per_file(inputs, the_plan, cache_hit_rate),
        per_function,
        cache_hit_rate=cache_hit_rate,
        speech_s=speech_s,
    )
    caps = _caps(platform, inputs, the_plan)
    per_minute = arrivals_per_minute(files_per_day, shape, peak_factor)
    per_step = round(60 / platform.step)
    minutes = np.concatenate(
        [per_minute[MINUTES_PER_DAY - platform.warmup :], per_minute, per_minute[: platform.after]]
    )
    arrivals = np.repeat(minutes / per_step, per_step)
    trace = run(
        arrivals,
        stages,
        platform,
        instance_cap=caps["instances"],
        event_cap_per_s=caps["event_grid_files_per_s"],
        ru_caps_per_s=(caps["results_ru_s"], caps["cache_ru_s"]),
    )
    day = slice(platform.warmup * per_step, (platform.warmup + MINUTES_PER_DAY) * per_step)
    result = Simulation(files_per_day, mix, shape, platform, trace=trace, stages=stages)
    figures = result.figures
    figures["arrivals"] = {
        "average_per_s": files_per_day / 86_400,
        "peak_per_s": float(per_minute.max() / 60),
        "peak_minute": int(per_minute.argmax()),
    }
    figures["startup_s"] = {s.name: s.startup_s for s in stages}
    figures["startup_source"] = app_source
    figures["caps"] = caps
    figures |= _day_figures(trace, stages, day, per_step)
    figures["limits_hit"] = _limits_hit(trace, day=day, per_step=per_step, caps=caps, inputs=inputs)
    azure = [hit for hit in figures["limits_hit"] if hit["kind"] != "assumed"]
    figures["first_limit"] = azure[0] if azure else None
    figures["cost"] = _day_cost(trace, day, inputs, the_plan)
    figures["conservation"] = conservation(trace)
    figures["assumptions"] = assumptions(platform, app_source)
    figures["steps"] = len(arrivals)
    figures["runtime_s"] = time.perf_counter() - began
    return result


def _app_start(platform: Platform, startup: dict[str, Any] | None) -> tuple[dict[str, float], str]:
    names = ("ingest", *MODALITIES)
    if platform.app_start is not None:
        return dict.fromkeys(names, platform.app_start), f"given: {platform.app_start:g} s"
    if startup:
        return {n: float(startup["seconds"][n]) for n in names}, str(startup["source"])
    return (
        dict.fromkeys(names, ASSUMED_APP_START_S),
        f"assumed {ASSUMED_APP_START_S:g} s: no measured cold start in the bench results",
    )


def _ru_per_file(
    inputs: Inputs, the_plan: dict[str, Any], cache_hit_rate: float
) -> dict[str, tuple[float, float]]:
    """The plan's RU per file of each modality, split between the results container
    (done-check, result write) and the cache container (the shared cache's share)."""
    table = load_ru_table()
    split = {}
    for modality, total in the_plan["cosmos"]["ru_per_file"].items():
        results = request_units(inputs.measured[modality], shared_cache=False,
                                cache_hit_rate=cache_hit_rate, table=table)  # fmt: skip
        split[modality] = (results, max(0.0, total - results))
    return split


def _caps(platform: Platform, inputs: Inputs, the_plan: dict[str, Any]) -> dict[str, Any]:
    """What the model holds the day to: instances, Event Grid's deliveries, Cosmos DB."""
    limits = load_limits()
    max_instances = platform.max_instances or int(limits["flex_max_instances_per_app"].value)
    quota_mb = platform.memory_quota_mb or int(limits["flex_regional_memory_quota_mb"].value)
    events = float(limits["event_grid_topic_events_per_s"].value)
    megabytes = float(limits["event_grid_topic_mb_per_s"].value)
    # Events the storage account's system topic publishes per file (the upload's, and
    # the plan's count of the others: quarantine copies, the host's blob receipts).
    published = float(the_plan.get("event_grid", {}).get("published_per_file", 1.0))
    cosmos = the_plan["cosmos"]
    floor = float(limits["cosmos_autoscale_min_max_ru_s"].value)
    if cosmos["preset"] == "small":
        results_ru_s = float(cosmos["serverless_max_ru_s_at_steady_state"])
        cache_ru_s = serverless_max_ru_s(float(cosmos.get("cache_gb_steady", 0.0)))
        ru_source = "serverless: what each container reaches at the plan's steady-state storage"
    else:
        results_ru_s = float(cosmos["autoscale_max_ru_s"])
        cache_ru_s = float(cosmos.get("cache_autoscale_max_ru_s") or floor)
        ru_source = "the autoscale maxima the plan sets (large preset)"
    if platform.ru_s is not None:
        results_ru_s, ru_source = platform.ru_s, "given (results container)"
    per_partition = float(limits["cosmos_physical_partition_ru_s"].value)
    return {
        "instances": min(max_instances, quota_mb // inputs.instance_mb),
        "max_instances": max_instances,
        "memory_quota_mb": quota_mb,
        "instance_mb": inputs.instance_mb,
        "event_grid_published_per_file": published,
        "event_grid_files_per_s": min(events, megabytes * 1000 / EVENT_KB) / published,
        "results_ru_s": min(results_ru_s, cosmos["physical_partitions"] * per_partition),
        "cache_ru_s": cache_ru_s,
        "ru_source": ru_source,
        "cosmos_preset": cosmos["preset"],
    }


def _at(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _day_figures(trace: Trace, stages: list[Stage], day: slice, per_step: int) -> dict[str, Any]:
    minutes = MINUTES_PER_DAY

    def by_minute(values: Floats) -> Floats:
        shaped = values[day].reshape(minutes, per_step, *values.shape[1:])
        peaks: Floats = shaped.max(axis=1)
        return peaks

    allocated = by_minute(trace.allocated)
    total = by_minute(trace.allocated.sum(axis=1))
    depth = by_minute(trace.waiting + trace.in_flight)
    instances: dict[str, Any] = {}
    queues: dict[str, Any] = {}
    for f, stage in enumerate(stages):
        peak = int(allocated[:, f].argmax())
        instances[stage.name] = {"peak": int(allocated[peak, f]), "minute": peak, "at": _at(peak)}
        deepest = int(depth[:, f].argmax())
        queues[stage.name] = {
            "peak": float(depth[deepest, f]),
            "minute": deepest,
            "at": _at(deepest),
        }
    busiest = int(total.argmax())
    instances["total"] = {"peak": int(total[busiest]), "minute": busiest, "at": _at(busiest)}
    samples = latencies(trace, stages, day)
    latency = {
        name: dict(zip(("p50", "p95", "p99"), weighted_quantiles(*s), strict=True))
        for name, s in samples.items()
    }
    values = np.concatenate([v for v, _ in samples.values()])
    weights = np.concatenate([w for _, w in samples.values()])
    latency["all"] = dict(
        zip(("p50", "p95", "p99"), weighted_quantiles(values, weights), strict=True)
    )
    unfinished = sum(float(w[~np.isfinite(v)].sum()) for v, w in samples.values())
    ru_s = by_minute(trace.ru_used.sum(axis=1)) / trace.step
    return {
        "instances": instances,
        "queue_depth": queues,
        "latency_s": latency,
        "day_files_unfinished_at_horizon": unfinished,
        "series": {
            "arrivals_per_s": (trace.arrivals[day].reshape(minutes, per_step).sum(axis=1) / 60)
            .round(3)
            .tolist(),
            "instances": {
                s.name: allocated[:, f].astype(int).tolist() for f, s in enumerate(stages)
            },
            "total_instances": total.astype(int).tolist(),
            "queue_depth": {s.name: depth[:, f].round(1).tolist() for f, s in enumerate(stages)},
            "event_grid_held": by_minute(trace.held).round(1).tolist(),
            "cosmos_ru_s": ru_s.round(1).tolist(),
        },
    }


@dataclass(frozen=True)
class _Check:
    limit: str
    demand: Floats  # per step of the day
    value: float
    unit: str
    effect: str


def _limits_hit(
    trace: Trace,
    *,
    day: slice,
    per_step: int,
    caps: dict[str, Any],
    inputs: Inputs,
) -> list[dict[str, Any]]:
    """Each limit the day's demand went over, at the first minute it did, earliest first."""
    limits = load_limits()
    dt = trace.step
    files_per_s = trace.arrivals[day] / dt
    events_per_s = files_per_s * caps["event_grid_published_per_file"]
    wanted = trace.desired[day].sum(axis=1)
    into_a_queue = trace.entering[day][:, 1:].max(axis=1, initial=0.0) / dt
    ru_wanted = trace.ru_wanted[day] / dt

    def limit(name: str) -> float:
        return float(limits[name].value)

    waits, capped = "modelled: events over the limit wait", "modelled: no instance beyond it"
    throttled = "modelled: throttled writes hold completions back"
    checks = [
        _Check("event_grid_topic_events_per_s", events_per_s,
               limit("event_grid_topic_events_per_s"), "events/s published", waits),
        _Check("event_grid_topic_mb_per_s", events_per_s * EVENT_KB / 1000,
               limit("event_grid_topic_mb_per_s"), "MB/s published", waits),
        _Check("flex_max_instances_per_app", wanted, caps["max_instances"],
               "instances wanted", capped),
        _Check("flex_regional_memory_quota_mb", wanted * inputs.instance_mb,
               caps["memory_quota_mb"], "MB wanted", capped),
        _Check("cosmos_results_ru_s", ru_wanted[:, 0], caps["results_ru_s"],
               "RU/s wanted (results container)", throttled),
        _Check("cosmos_cache_ru_s", ru_wanted[:, 1], caps["cache_ru_s"],
               "RU/s wanted (cache container)", throttled),
        _Check("storage_queue_messages_per_s", into_a_queue,
               limit("storage_queue_messages_per_s"), "messages/s into one queue",
               "reported only: a target, not modelled"),
        _Check("storage_account_requests_per_s", files_per_s * STORAGE_REQUESTS_PER_FILE,
               limit("storage_account_requests_per_s"), "requests/s",
               "reported only: not modelled"),
        _Check("scale_out_rate", trace.rate_bound[day], 0.5,
               "a function wanting more instances than one decision adds",
               "modelled, at the assumed rate"),
    ]  # fmt: skip
    hits = []
    for check in checks:
        over = check.demand > check.value
        if not over.any():
            continue
        first = int(np.argmax(over))
        minute = first // per_step
        if check.limit == "scale_out_rate":
            kind, verified, source = "assumed", False, "an assumption (see assumptions)"
        elif check.limit.startswith("cosmos_"):
            kind, verified, source = "azure", True, str(caps["ru_source"])
        else:
            known = limits[check.limit]
            kind, verified, source = "azure", known.verified, known.url
        hits.append({
            "limit": check.limit, "minute": minute, "at": _at(minute),
            "demand": float(check.demand[first]), "limit_value": float(check.value),
            "unit": check.unit,
            "minutes_over": int(np.unique(np.nonzero(over)[0] // per_step).size),
            "kind": kind, "verified": verified, "source": source, "effect": check.effect,
        })  # fmt: skip
    hits.sort(key=lambda hit: (hit["minute"], hit["kind"] == "assumed"))
    return hits


def _day_cost(trace: Trace, day: slice, inputs: Inputs, the_plan: dict[str, Any]) -> dict[str, Any]:
    """The day's bill at the plan's prices (see the module docstring)."""
    prices, dt = inputs.prices, trace.step
    instance_gb = inputs.instance_mb / 1024
    executing_gb_s = float(trace.executing[day].sum()) * instance_gb
    provisioned_gb_s = float(trace.ready[day].sum()) * dt * instance_gb
    executions = float(trace.served[day].sum())
    cosmos = the_plan["cosmos"]
    ru_used = trace.ru_used[day]
    if cosmos["preset"] == "small":
        per_million = prices["cosmos_serverless_per_million_ru"]
        cosmos_cost = float(ru_used.sum()) / 1e6 * per_million
    else:
        # Each container bills each hour's highest RU/s, at least 10 % of its maximum.
        maxima = np.array([cosmos["autoscale_max_ru_s"],
                           cosmos.get("cache_autoscale_max_ru_s") or 0.0])  # fmt: skip
        hourly = (ru_used / dt).reshape(24, -1, 2).max(axis=1)
        billed = np.maximum(hourly, 0.1 * maxima)
        cosmos_cost = float(billed.sum()) / 100 * prices["cosmos_autoscale_per_100_ru_s_hour"]
    events = the_plan.get("event_grid", {})
    operations = float(trace.arrivals[day].sum()) * float(events.get("operations_per_file", 1.0))
    monthly = the_plan["monthly_cost"]
    cost = {
        "compute": executing_gb_s * prices["flex_on_demand_per_gb_s"],
        "executions": executions / 1e6 * prices["flex_per_million_executions"],
        "always_ready": monthly.get("always_ready", 0.0) / DAYS_PER_MONTH,
        "cosmos_throughput": cosmos_cost,
        "event_grid": operations / 1e6 * prices["event_grid_per_million_operations"],
    }
    cost["total"] = sum(cost.values())
    every_second = provisioned_gb_s * prices["flex_on_demand_per_gb_s"]
    return {
        **cost,
        "currency": prices["currency"],
        "compute_gb_s_executing": executing_gb_s,
        "compute_gb_s_provisioned": provisioned_gb_s,
        "compute_if_every_instance_second_billed": every_second,
        "executions_count": executions,
        "cosmos_ru": float(ru_used.sum()),
        "event_grid_operations": operations,
        "plan_per_day": {k: monthly.get(k, 0.0) / DAYS_PER_MONTH for k in cost if k != "total"},
        "always_ready_from": "the plan (always-ready instances of the HTTP group, not simulated)",
    }


def conservation(trace: Trace) -> dict[str, float]:
    """Files that arrived over the horizon against files started by their last stage and
    files still held (by Event Grid) or queued (at any stage) at its end."""
    last = trace.served[:, 1:] if trace.served.shape[1] > 1 else trace.served
    arrived = float(trace.arrivals.sum())
    finished = float(last.sum())
    queued = float(trace.held[-1] + trace.waiting[-1].sum())
    return {
        "arrived": arrived,
        "finished": finished,
        "queued_at_end": queued,
        "difference": arrived - finished - queued,
    }


def assumptions(platform: Platform, app_source: str) -> list[str]:
    values = {**_asdict(platform), "app_start_source": app_source}
    return [text.format(**values) for text in ASSUMPTIONS]


# ---------------------------------------------------------------- the local comparison

# bench/load.py's files: bench.pipeline.mixed_files (40 % photos, 10 % speech, 50 %
# texts) with 5 % hostile files, rejected by ingest (routing) without inference.
LOAD_MIX = {"image": 0.4, "audio": 0.1, "text": 0.5}
LOAD_HOSTILE_SHARE = 0.05


def local_cpu_s(
    inputs: Inputs, overhead_cpu_s: float = 0.0, hostile_share: float = LOAD_HOSTILE_SHARE
) -> float:
    """CPU seconds per file of ``make load``'s mix: the models' (none for a hostile file,
    which ingest rejects) plus ``overhead_cpu_s``."""
    models = sum(share * inputs.measured[m].cpu_s_batched for m, share in LOAD_MIX.items())
    return (1 - hostile_share) * models + overhead_cpu_s


def local_stage(
    inputs: Inputs,
    *,
    cores: float = MEASURED_CORES,
    startup_s: float = ASSUMED_APP_START_S,
    overhead_cpu_s: float = 0.0,
    hostile_share: float = LOAD_HOSTILE_SHARE,
) -> Stage:
    """The local host as ONE instance doing every function on ``cores`` cores: a file
    costs :func:`local_cpu_s` and waits ingest's and its modality's I/O; the host runs
    every queue function's concurrency at once."""
    cpu_s = local_cpu_s(inputs, overhead_cpu_s, hostile_share)
    honest = 1 - hostile_share
    io_s = inputs.ingest_s + honest * sum(
        share * inputs.measured[m].io_s for m, share in LOAD_MIX.items()
    )
    concurrency = inputs.host.queues.max_concurrency * len(LOAD_MIX)
    service = cpu_s + io_s
    rate = min(cores / max(cpu_s, 1e-9), concurrency / service)
    return Stage(
        "local host", 1.0, rate, service, concurrency, inputs.host.queues.batch_size, startup_s
    )


def predict_backlog(files: int, stage: Stage, step: float = 1.0) -> Trace:
    """``files`` waiting at the start (``make load`` keeps a backlog of up to ``--ahead``
    in front of the host), served by one instance that starts at once."""
    platform = Platform(step=step, scale_every=step, platform_start=0.0)
    horizon = math.ceil((stage.startup_s + files / stage.rate_per_instance) / step) + 60
    arrivals = np.zeros(horizon)
    arrivals[0] = files
    return run(arrivals, [stage], platform, instance_cap=1)


def per_minute_from_first(trace: Trace) -> list[float]:
    """Files served per second in each whole minute from the first served, as
    ``bench/load.py`` counts results (the last, partial minute left out)."""
    served = trace.served[:, 0]
    started = np.nonzero(served > 0)[0]
    if not len(started):
        return []
    served = served[started[0] : started[-1] + 1]
    per_minute = round(60 / trace.step)
    whole = len(served) // per_minute
    if not whole:
        return []
    return [
        round(float(v) / 60, 1) for v in served[: whole * per_minute].reshape(whole, -1).sum(axis=1)
    ]


def compare_with_load(
    load: dict[str, Any],
    inputs: Inputs,
    *,
    startup_s: float = ASSUMED_APP_START_S,
    overhead_cpu_s_per_file: float | None = None,
    cores: float = MEASURED_CORES,
) -> dict[str, Any]:
    """The simulator's prediction for ``make load`` (one local instance) against its
    measured per-minute results/s (``bench/results/load-<files>.json``): by the plan's
    inputs alone, and (given ``overhead_cpu_s_per_file``, the local stack's measured CPU
    per file beyond the models) with the local stack's own cost."""
    files = int(load["files"])
    measured = [float(v) for v in load["per_minute_per_s"]]
    predictions = {"models only (the plan's inputs)": 0.0}
    if overhead_cpu_s_per_file is not None:
        predictions["with the local stack's measured CPU per file"] = overhead_cpu_s_per_file
    out: dict[str, Any] = {
        "files": files,
        "measured_files_per_s": float(load["files_per_s"]),
        "measured_per_minute_per_s": measured,
        "predictions": {},
    }
    for label, overhead in predictions.items():
        stage = local_stage(inputs, cores=cores, startup_s=startup_s, overhead_cpu_s=overhead)
        trace = predict_backlog(files, stage)
        predicted = per_minute_from_first(trace)
        done = float(np.nonzero(trace.served[:, 0] > 0)[0][-1] + 1) * trace.step
        paired = [(m, p) for m, p in zip(measured, predicted, strict=False) if p > 0]
        ratios = [m / p for m, p in paired]
        out["predictions"][label] = {
            "rate_per_s": stage.rate_per_instance,
            "cpu_s_per_file": local_cpu_s(inputs, overhead),
            "files_per_s": files / done,
            "per_minute_per_s": predicted,
            "measured_over_predicted_per_minute": [round(r, 2) for r in ratios],
            "measured_over_predicted_median": float(np.median(ratios)) if ratios else None,
            "measured_over_predicted_overall": float(load["files_per_s"]) / (files / done),
        }
    return out


# ------------------------------------------------------------------------ the command


def command(
    args: argparse.Namespace,
    inputs: Inputs,
    rates: list[int],
    mix: dict[str, float],
    bench_dir: Path,
    *,
    measurements: dict[str, Any],
) -> int:
    """``prism plan --simulate``'s dispatch (plan.py parses, this runs and prints);
    ``bench_dir`` holds the measurements the inputs came from, ``measurements`` says
    which they are (in the JSON, as the plan's does)."""
    if args.simulate is None:
        raise ConfigurationError("--plot and --against-load go with --simulate")
    shape, platform = parse_spec(args.simulate)
    startup = startup_from_bench(bench_dir)
    comparison = None
    if args.against_load:
        comparison = _against_load(args.against_load, inputs, bench_dir, startup)
    sims = [
        simulate(
            rate,
            inputs,
            mix=mix,
            shape=shape,
            platform=platform,
            peak_factor=args.peak_factor or DEFAULT_PEAK_FACTOR,
            cache_hit_rate=args.cache_hit_rate,
            speech_minutes_per_audio_file=args.speech_minutes_per_file,
            startup=startup,
            results_ttl_days=args.results_ttl_days,
        )
        for rate in rates
    ]
    if args.plot:
        plot(sims, args.plot)
    if args.json:
        document: dict[str, Any] = {
            "currency": inputs.prices["currency"],
            "measurements": measurements,
            "simulations": [s.to_dict() for s in sims],
        }
        if comparison is not None:
            document["load_comparison"] = comparison
        print(json.dumps(document, indent=2))
        return 0
    print(render(sims, markdown=args.markdown))
    if comparison is not None:
        print()
        print(render_comparison(comparison))
    if args.plot:
        print(f"\nplot written to {args.plot}")
    return 0


def _against_load(
    path: Path, inputs: Inputs, bench_dir: Path, startup: dict[str, Any] | None
) -> dict[str, Any]:
    load = json.loads(path.read_text(encoding="utf-8"))
    missing = {"files", "files_per_s", "per_minute_per_s"} - set(load)
    if missing:
        raise ConfigurationError(
            f"{path} is not a `make load` result (bench/results/load-<files>.json): it has no "
            f"{', '.join(sorted(missing))}"
        )
    overhead = None
    pipeline_path = bench_dir / "pipeline.json"
    if pipeline_path.is_file():
        end_to_end = json.loads(pipeline_path.read_text(encoding="utf-8")).get("end_to_end", {})
        per_file = end_to_end.get("cpu_s_per_file", {})
        stack = sum(float(per_file.get(k, 0.0)) for k in ("host_and_worker", "azurite", "cosmos"))
        if stack:
            # The stack's CPU per file includes the models' own: count it once.
            models = float(per_file.get("models_alone", 0.0))
            overhead = max(0.0, stack - models)
    start = max(startup["seconds"].values()) if startup else ASSUMED_APP_START_S
    result = compare_with_load(load, inputs, startup_s=start, overhead_cpu_s_per_file=overhead)
    result["source"] = str(path)
    return result


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "> horizon"
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def render(sims: list[Simulation], *, markdown: bool = False) -> str:
    """The day's figures as a table; in Markdown without the simulation's own run time,
    so that the docs' generated table is the same on every run."""
    rows: list[list[str]] = []
    figures = [s.figures for s in sims]
    rows.append(
        ["files per second, average / peak minute"]
        + [
            f"{count_text(a['average_per_s'])} / {count_text(a['peak_per_s'])} "
            f"({_at(a['peak_minute'])})"
            for a in (f["arrivals"] for f in figures)
        ]
    )
    names = list(figures[0]["instances"])
    for name in names:
        rows.append(
            [f"peak instances: {name}"]
            + [
                f"{f['instances'][name]['peak']} ({f['instances'][name]['at']})"
                if name in f["instances"]
                else "-"
                for f in figures
            ]
        )
    for name in (n for n in names if n != "total"):
        rows.append(
            [f"queue depth peak: {name}"]
            + [
                f"{count_text(f['queue_depth'][name]['peak'])} ({f['queue_depth'][name]['at']})"
                if name in f["queue_depth"]
                else "-"
                for f in figures
            ]
        )
    for name in figures[0]["latency_s"]:
        rows.append(
            [f"latency p50 / p95 / p99: {name}"]
            + [
                " / ".join(_duration(f["latency_s"][name][q]) for q in ("p50", "p95", "p99"))
                if name in f["latency_s"]
                else "-"
                for f in figures
            ]
        )
    rows.append(["first limit hit"] + [_first(f) for f in figures])
    rows.append(["scale-out rate (assumed) binds"] + [_rate_bound(f) for f in figures])
    rows.append(
        ["day's files unfinished at the horizon"]
        + [count_text(f["day_files_unfinished_at_horizon"]) for f in figures]
    )
    currency = figures[0]["cost"]["currency"]
    for item in ("compute", "executions", "always_ready", "cosmos_throughput", "event_grid"):
        rows.append(
            [f"{currency} for the day: {item.replace('_', ' ')} (plan)"]
            + [f"{f['cost'][item]:,.2f} ({f['cost']['plan_per_day'][item]:,.2f})" for f in figures]
        )
    rows.append(
        [f"{currency} for the day: total"] + [f"{f['cost']['total']:,.2f}" for f in figures]
    )
    if not markdown:
        rows.append(
            ["simulation: steps, seconds"]
            + [f"{f['steps']:,}, {f['runtime_s']:.2f} s" for f in figures]
        )
    headers = ["", *(f"{count_text(s.files_per_day)} files/day" for s in sims)]
    shape, platform = sims[0].shape, sims[0].platform
    first = figures[0]["arrivals"]
    burst = first["peak_per_s"] / first["average_per_s"]
    notes = [
        f"The day: a wave of ±{shape.swing:.0%} peaking at {_at(round(shape.peak_hour * 60))} "
        f"and a burst of {burst:.3g}× the average for {shape.burst_minutes} min from "
        f"{_at(shape.burst_at)}; steps of {platform.step:g} s; the evening before "
        f"({platform.warmup} min) and the next morning ({platform.after} min) simulated "
        "around it. Latency: upload to inference "
        "done. Queue depth: messages waiting and in flight. Instances: asked for, starting "
        "included. Compute: GB-s while executing (every instance-second: "
        + ", ".join(f"{f['cost']['compute_if_every_instance_second_billed']:,.2f}" for f in figures)
        + ").",
    ]
    for f in figures:
        others = [h for h in f["limits_hit"] if h["kind"] != "assumed"][1:]
        if others:
            notes.append(
                f"Then at {count_text(sims[figures.index(f)].files_per_day)}/day: "
                + "; ".join(f"{h['limit']} at {h['at']}" for h in others)
            )
    notes.append("Assumed, as Microsoft does not publish it:")
    notes += [f"  - {text}" for text in figures[0]["assumptions"]]
    return report(rows, headers, notes, markdown=markdown)


def _first(figures: dict[str, Any]) -> str:
    hit = figures["first_limit"]
    if hit is None:
        return "none"
    flag = "" if hit["verified"] else ", unverified"
    over = f"{count_text(hit['demand'])} > {count_text(hit['limit_value'])}"
    return f"{hit['limit']} at {hit['at']} ({over}{flag})"


def _rate_bound(figures: dict[str, Any]) -> str:
    hit = next((h for h in figures["limits_hit"] if h["kind"] == "assumed"), None)
    return "never" if hit is None else f"from {hit['at']}, {hit['minutes_over']} min of the day"


def render_comparison(comparison: dict[str, Any]) -> str:
    lines = [
        f"make load against the simulator with ONE instance ({comparison['files']} files, "
        f"{comparison.get('source', 'measured')}): measured "
        f"{comparison['measured_files_per_s']:.1f} files/s; per minute "
        f"{comparison['measured_per_minute_per_s']}",
    ]
    for label, p in comparison["predictions"].items():
        median = p["measured_over_predicted_median"]
        lines.append(
            f"  predicted, {label}: {p['files_per_s']:.1f} files/s (one instance serves "
            f"{p['rate_per_s']:.1f}/s); per minute {p['per_minute_per_s']}; measured / predicted "
            f"{p['measured_over_predicted_overall']:.2f} overall, "
            f"{'-' if median is None else f'{median:.2f}'} median per minute"
        )
    return "\n".join(lines)


def plot(sims: list[Simulation], path: Path) -> None:
    """A PNG: arrivals, instances per function and queue depth over the day, a column per
    simulated volume."""
    import matplotlib

    matplotlib.use("Agg")  # a file backend: runs without a display
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(
        3, len(sims), figsize=(6 * len(sims), 9), sharex=True, squeeze=False
    )
    hours = np.arange(MINUTES_PER_DAY) / 60
    for column, sim in enumerate(sims):
        series = sim.figures["series"]
        top, middle, bottom = axes[0][column], axes[1][column], axes[2][column]
        top.plot(hours, series["arrivals_per_s"], color="#337ab7")
        top.set_title(f"{count_text(sim.files_per_day)} files/day")
        top.set_ylabel("files arriving per s")
        for name, values in series["instances"].items():
            middle.plot(hours, values, label=name, linewidth=1)
        middle.plot(hours, series["total_instances"], label="total", color="black", linewidth=1.5)
        middle.axhline(
            sim.figures["caps"]["instances"],
            color="#d9534f",
            linestyle="--",
            linewidth=1,
            label="instance cap",
        )
        middle.set_ylabel("instances")
        middle.legend(fontsize=7, loc="upper left")
        for name, values in series["queue_depth"].items():
            bottom.plot(hours, np.maximum(values, 0.1), label=name, linewidth=1)
        bottom.set_yscale("log")
        bottom.set_ylabel("queue depth (waiting + in flight)")
        bottom.set_xlabel("hour of the day")
        bottom.legend(fontsize=7, loc="upper left")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
