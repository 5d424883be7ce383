"""Micro-batching on vs off, per modality, at every concurrency the host can run one
function at on an instance (host.json: batchSize 16 + newBatchThreshold 8 = 24) and
beyond it (32), closed loop.

"Off" is what each invocation would do alone: one model call per item in the default
executor. "On" sends every item through the modality's :class:`MicroBatcher` with its
policy. Both run the real engine (decode → preprocess → int8 model → postprocess) on the
same inputs in this process, with ONNX Runtime on one thread per session.

The machine is shared, so a lone run can land in someone else's busy second: each
policy is measured ``ROUNDS`` times (images: ``ROUNDS_BY_MODALITY``), interleaved with
"off" (off, on, off, on, …), and a ratio is the median of the rounds' paired ratios
(each round's ratio is kept in the row, ``round_ratios``, so their spread shows).

The modalities measured are those that go through a micro-batcher (:data:`MODALITIES`).
A document and a video are one file a call by construction (``Settings.batching`` fixes
their batch at 1: a document's pages are its batch), so there is no "on" to set beside
"off"; what one costs is the ``media`` suite's figure. :func:`payloads` still has real
inputs of every modality (PDFs, a video), so any modality can be measured here.
"""

from __future__ import annotations

import asyncio
import io
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from prism.inference.batcher import BatchPolicy, MicroBatcher
from prism.inference.engine import Engine
from prism.modalities.base import Outcome
from prism.modality import Modality
from prism.settings import PROJECT_ROOT, get_settings

CONCURRENCY = (1, 2, 4, 8, 12, 16, 24, 32)
ITEMS_PER_RUN = 192
# Audio is transcribed too (Whisper, ~0.5 s a file on a core), and an image read for
# words (the OCR detector on every one, ~45 ms): fewer items per run.
ITEMS_PER_RUN_BY_MODALITY = {
    Modality.IMAGE: 64, Modality.AUDIO: 32, Modality.DOCUMENT: 16, Modality.VIDEO: 8,
}  # fmt: skip
ROUNDS = 5
# Images in three rounds: batching them changed nothing beyond the noise in any run
# (0.86-1.10x, the control's spread), and at 192 items in five rounds they took over
# half of the suite's 23 minutes (2026-12-05, from the runs' rates); text's ratios
# decide its policy and keep five.
ROUNDS_BY_MODALITY = {Modality.IMAGE: 3}
# Items through each run's policy before it is timed (the executor's threads, the
# batcher); every input once per modality before that (sessions, their buffers). Each
# run used to warm up on every input four times over: for text, a second run of 192.
WARM_UP_ITEMS = 16
# A modality with no policy to set beside "off" (audio: a file's VAD is stateful, so its
# files never share a call) is measured only one file at a time and at 32, the
# concurrency prism_tools.cost.model reads: its other levels compared nothing.
UNCHOSEN_CONCURRENCY = (1, 32)
# The modalities measured by default: those that go through a micro-batcher.
MODALITIES = (Modality.IMAGE, Modality.AUDIO, Modality.TEXT)
SAMPLES = PROJECT_ROOT / "samples"


@dataclass(frozen=True)
class Budget:
    """How much each measurement runs: the full run, or :data:`QUICK` (``python -m bench
    --quick``: every code path on every modality, in seconds, measuring nothing)."""

    concurrency: tuple[int, ...] = CONCURRENCY
    rounds: int | None = None  # None: ROUNDS(_BY_MODALITY)
    items: int | None = None  # per run; None: ITEMS_PER_RUN(_BY_MODALITY)
    warm_up: bool = True  # a few items through first, outside the timing

    def rounds_of(self, modality: Modality) -> int:
        return self.rounds or ROUNDS_BY_MODALITY.get(modality, ROUNDS)

    def items_of(self, modality: Modality) -> int:
        return self.items or ITEMS_PER_RUN_BY_MODALITY.get(modality, ITEMS_PER_RUN)


FULL = Budget()
QUICK = Budget(concurrency=(2,), rounds=1, items=2, warm_up=False)


def payloads(modality: Modality) -> list[bytes]:
    """Real inputs of ``modality``: the samples, plus generated variants of the same kind."""
    if modality is Modality.IMAGE:
        return [(SAMPLES / n).read_bytes() for n in ("cat.jpg", "coffee.png", "rocket.webp")]
    if modality is Modality.AUDIO:
        return [(SAMPLES / "greeting.flac").read_bytes()]
    if modality is Modality.DOCUMENT:  # a text layer, and a page read by OCR
        return [(SAMPLES / n).read_bytes() for n in ("report.pdf", "scanned.pdf")]
    if modality is Modality.VIDEO:  # stills over a narration
        return [(SAMPLES / "launch.mp4").read_bytes()]
    from models.datasets import sentences

    return [s.encode() for s in sentences(64)]


async def _closed_loop(
    call: Callable[[bytes], Awaitable[Outcome]],
    inputs: list[bytes],
    concurrency: int,
    items: int = ITEMS_PER_RUN,
) -> tuple[float, list[float]]:
    """``concurrency`` workers each send their next item when the last one returns,
    ``items`` in all."""
    latencies: list[float] = []
    counter = iter(range(items))

    async def worker() -> None:
        for index in counter:
            start = time.perf_counter()
            outcome = await call(inputs[index % len(inputs)])
            latencies.append(time.perf_counter() - start)
            assert outcome.ok, outcome.error

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start, latencies


async def measure(
    engine: Engine,
    modality: Modality,
    concurrency: int,
    policy: BatchPolicy | None,
    budget: Budget = FULL,
) -> dict[str, Any]:
    inputs = payloads(modality)
    loop = asyncio.get_running_loop()
    batcher: MicroBatcher[bytes, Outcome] | None = None
    call: Callable[[bytes], Awaitable[Outcome]]
    if policy is None:

        async def alone(data: bytes) -> Outcome:
            (outcome,) = await loop.run_in_executor(None, engine.run, modality, [data])
            return outcome

        call = alone
    else:
        batcher = MicroBatcher(partial(engine.run, modality), policy)
        call = batcher.submit
    items = budget.items_of(modality)
    if budget.warm_up:  # the executor's threads, the batcher
        await _closed_loop(call, inputs, min(concurrency, 4), min(items, WARM_UP_ITEMS))
    elapsed, latencies = await _closed_loop(call, inputs, concurrency, items)
    if batcher is not None:
        await batcher.close()
    return {
        "modality": modality.value,
        "concurrency": concurrency,
        "batching": policy is not None,
        "max_batch_size": policy.max_batch_size if policy else 1,
        "max_wait_ms": policy.max_wait_ms if policy else 0.0,
        "items_per_s": items / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": float(np.percentile(latencies, 95)) * 1000,
    }


# Policies tried beside each modality's default, to show why the default wins:
# (max batch size, max wait ms, min backlog). Text: the earlier default (16 / 5 ms, no
# backlog threshold), no waiting without a threshold, and a higher threshold.
# Audio files cannot share a model call (the VAD is stateful): none.
ALTERNATIVES: dict[Modality, tuple[tuple[int, float, int], ...]] = {
    Modality.IMAGE: ((16, 0.0, 0),),
    Modality.TEXT: ((16, 5.0, 0), (16, 0.0, 0), (16, 0.0, 12)),
}


def run(modalities: tuple[Modality, ...] = MODALITIES, *, quick: bool = False) -> dict[str, Any]:
    budget = QUICK if quick else FULL
    settings = get_settings()
    engine = Engine(settings)
    rows = []
    rounds: dict[str, int] = {}
    for modality in modalities:
        if budget.warm_up:  # sessions and their buffers: every input, alone and together
            inputs = payloads(modality)
            for data in inputs:
                engine.run(modality, [data])
            engine.run(modality, inputs[:16])
        default = settings.batching(modality.value)
        # A batch size of 1 bypasses the batcher in the pipeline: "off" is the default then.
        tried = list(ALTERNATIVES.get(modality, ()))
        if default[0] > 1:
            tried = list(dict.fromkeys([default, *tried]))
        rounds[modality.value] = budget.rounds_of(modality) if tried else 1
        levels = budget.concurrency
        if not tried:  # nothing to set beside "off": where the cost model reads it, and alone
            levels = tuple(c for c in levels if c in UNCHOSEN_CONCURRENCY) or levels
        for concurrency in levels:
            rows += _measure_concurrency(
                engine, modality, concurrency, default, tried, budget=budget
            )
    return {"rows": rows, "comparison": compare(rows), "rounds": rounds,
            "inputs": describe_inputs()}  # fmt: skip


def describe_inputs() -> dict[str, float]:
    """What the measured files are, for prices billed by duration or length (the managed
    services beside Prism in ``prism cost``)."""
    import soundfile

    texts = [data.decode() for data in payloads(Modality.TEXT)]
    seconds = [soundfile.info(io.BytesIO(data)).duration for data in payloads(Modality.AUDIO)]
    return {"audio_seconds": statistics.mean(seconds),
            "text_characters": statistics.mean(len(text) for text in texts)}  # fmt: skip


def _measure_concurrency(
    engine: Engine,
    modality: Modality,
    concurrency: int,
    default: tuple[int, float, int],
    tried: list[tuple[int, float, int]],
    *,
    budget: Budget = FULL,
) -> list[dict[str, Any]]:
    """Each round: "off", every policy, "off" again. A policy's ratio in a round is over
    the mean of the round's two "off" runs; the two "off" runs' own ratio is the noise
    floor of that round (the same code measured twice)."""
    settings = get_settings()
    rounds = budget.rounds_of(modality) if tried else 1
    ons: dict[tuple[int, float, int], list[dict[str, Any]]] = {p: [] for p in tried}
    offs: list[dict[str, Any]] = []
    agains: list[dict[str, Any]] = []
    for _ in range(rounds):
        offs.append(asyncio.run(measure(engine, modality, concurrency, None, budget)))
        for policy in tried:
            batch = BatchPolicy(policy[0], policy[1], max(256, policy[0]),
                                settings.batches_in_flight, policy[2])  # fmt: skip
            ons[policy].append(asyncio.run(measure(engine, modality, concurrency, batch, budget)))
        if tried:
            agains.append(asyncio.run(measure(engine, modality, concurrency, None, budget)))
    bases = (
        [(a["items_per_s"] + b["items_per_s"]) / 2 for a, b in zip(offs, agains, strict=True)]
        if agains
        else [row["items_per_s"] for row in offs]
    )
    rows = [{**median_row(offs), "default": default[0] == 1, "min_backlog": 0,
             "paired_ratio": 1.0, "control": False}]  # fmt: skip
    if agains:
        control = [b["items_per_s"] / a["items_per_s"] for a, b in zip(offs, agains, strict=True)]
        rows.append({**median_row(agains), "default": False, "min_backlog": 0,
                     "paired_ratio": statistics.median(control), "control": True,
                     "round_ratios": control})  # fmt: skip
    for policy, measured in ons.items():
        ratios = [on["items_per_s"] / base for on, base in zip(measured, bases, strict=True)]
        rows.append({**median_row(measured), "default": policy == default,
                     "min_backlog": policy[2], "paired_ratio": statistics.median(ratios),
                     "control": False, "round_ratios": ratios})  # fmt: skip
    return rows


def median_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The rounds of one policy as one row: the median of each figure."""
    merged = dict(rows[0])
    for key in ("items_per_s", "p50_ms", "p95_ms"):
        merged[key] = statistics.median(row[key] for row in rows)
    return merged


def compare(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every measured policy (``off``: no batcher) beside no batching, same concurrency;
    ``throughput_ratio`` is the median of the paired ratios of its rounds (for ``off
    again``, the noise floor: "off" over itself)."""
    table = []
    for row in rows:
        off = next(
            r
            for r in rows
            if not r["batching"]
            and not r["control"]
            and r["modality"] == row["modality"]
            and r["concurrency"] == row["concurrency"]
        )
        policy = "off again" if row["control"] else "off"
        if row["batching"]:
            policy = f"{row['max_batch_size']}/{row['max_wait_ms']:g}ms"
            if row["min_backlog"]:
                policy += f"/≥{row['min_backlog']}"
        table.append(
            {
                "modality": row["modality"],
                "concurrency": row["concurrency"],
                "policy": policy,
                "default": row["default"],
                "control": row["control"],
                "off_items_per_s": off["items_per_s"],
                "on_items_per_s": row["items_per_s"],
                "throughput_ratio": row["paired_ratio"],
                "round_ratios": row.get("round_ratios", []),
                "off_p50_ms": off["p50_ms"],
                "on_p50_ms": row["p50_ms"],
                "off_p95_ms": off["p95_ms"],
                "on_p95_ms": row["p95_ms"],
            }
        )
    return table


def render(comparison: list[dict[str, Any]]) -> str:
    header = (
        f"{'modality':<8} {'conc':>4} {'policy':>13} {'off it/s':>9} {'this it/s':>9} "
        f"{'ratio':>6} {'p50 off/on ms':>15} {'p95 off/on ms':>15}"
    )
    lines = [header, "─" * len(header)]
    for row in comparison:
        lines.append(
            f"{row['modality']:<8} {row['concurrency']:>4} {row['policy']:>13} "
            f"{row['off_items_per_s']:>9.1f} {row['on_items_per_s']:>9.1f} "
            f"{row['throughput_ratio']:>5.2f}× "
            f"{row['off_p50_ms']:>7.1f}/{row['on_p50_ms']:<7.1f} "
            f"{row['off_p95_ms']:>7.1f}/{row['on_p95_ms']:<7.1f}"
            + ("  (default)" if row["default"] else "")
        )
    return "\n".join(lines)


def plot(comparison: list[dict[str, Any]], target: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    modalities = sorted({r["modality"] for r in comparison})
    figure, axes = plt.subplots(1, len(modalities), figsize=(5 * len(modalities), 3.5))
    for axis, modality in zip(np.atleast_1d(axes), modalities, strict=True):
        rows = [r for r in comparison if r["modality"] == modality and r["default"]]
        x = np.arange(len(rows))
        axis.bar(x - 0.2, [r["off_items_per_s"] for r in rows], 0.4, label="batching off")
        axis.bar(x + 0.2, [r["on_items_per_s"] for r in rows], 0.4, label="batching on")
        axis.set_xticks(x, [str(r["concurrency"]) for r in rows])
        axis.set_xlabel("concurrency")
        axis.set_title(f"{modality}: items/s")
        axis.legend()
    figure.tight_layout()
    figure.savefig(target, dpi=100)
    plt.close(figure)
