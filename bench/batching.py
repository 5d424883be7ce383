"""Micro-batching on vs off, per modality, at concurrency 1, 8 and 32 (closed loop).

"Off" is what each invocation would do alone: one model call per item in the default
executor. "On" sends every item through the modality's :class:`MicroBatcher`. Both run
the real engine (decode → preprocess → int8 model → postprocess) on the same inputs,
one after the other in this process, with ONNX Runtime on one thread per session.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from prism.inference.batcher import BatchPolicy, MicroBatcher
from prism.inference.engine import Engine
from prism.modalities.base import Outcome
from prism.modality import Modality
from prism.settings import PROJECT_ROOT, get_settings

CONCURRENCY = (1, 8, 32)
ITEMS_PER_RUN = 192
SAMPLES = PROJECT_ROOT / "samples"


def payloads(modality: Modality) -> list[bytes]:
    """Real inputs: the samples, plus generated variants of the same kind."""
    if modality is Modality.IMAGE:
        return [(SAMPLES / n).read_bytes() for n in ("cat.jpg", "coffee.png", "rocket.webp")]
    if modality is Modality.AUDIO:
        return [(SAMPLES / "greeting.flac").read_bytes()]
    from models.datasets import sentences

    return [s.encode() for s in sentences(64)]


async def _closed_loop(
    call: Callable[[bytes], Awaitable[Outcome]], inputs: list[bytes], concurrency: int
) -> tuple[float, list[float]]:
    """``concurrency`` workers each send their next item when the last one returns."""
    latencies: list[float] = []
    counter = iter(range(ITEMS_PER_RUN))

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
    engine: Engine, modality: Modality, concurrency: int, policy: BatchPolicy | None
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
    await _closed_loop(call, inputs, min(concurrency, 4))  # warm-up: sessions, caches
    elapsed, latencies = await _closed_loop(call, inputs, concurrency)
    if batcher is not None:
        await batcher.close()
    return {
        "modality": modality.value,
        "concurrency": concurrency,
        "batching": policy is not None,
        "max_batch_size": policy.max_batch_size if policy else 1,
        "max_wait_ms": policy.max_wait_ms if policy else 0.0,
        "items_per_s": ITEMS_PER_RUN / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": float(np.percentile(latencies, 95)) * 1000,
    }


# A batching policy tried beside each modality's default, to show why the default wins.
ALTERNATIVE = (16, 5.0)


def run(modalities: tuple[Modality, ...] = tuple(Modality)) -> dict[str, Any]:
    settings = get_settings()
    engine = Engine(settings)
    rows = []
    for modality in modalities:
        default = settings.batching(modality.value)
        # A batch size of 1 bypasses the batcher in the pipeline: "off" is the default
        # then. Audio files cannot share a model call (the VAD is stateful).
        tried = [] if modality is Modality.AUDIO else [ALTERNATIVE]
        if default[0] > 1:
            tried = list(dict.fromkeys([default, *tried]))
        for concurrency in CONCURRENCY:
            off = asyncio.run(measure(engine, modality, concurrency, None))
            rows.append({**off, "default": default[0] == 1})
            for size, wait_ms in tried:
                policy = BatchPolicy(size, wait_ms, max(256, size), settings.batches_in_flight)
                row = asyncio.run(measure(engine, modality, concurrency, policy))
                rows.append({**row, "default": (size, wait_ms) == default})
    return {"rows": rows, "comparison": compare(rows)}


def compare(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every measured policy (``off``: no batcher) beside no batching, same concurrency."""
    table = []
    for row in rows:
        off = next(
            r
            for r in rows
            if not r["batching"]
            and r["modality"] == row["modality"]
            and r["concurrency"] == row["concurrency"]
        )
        table.append(
            {
                "modality": row["modality"],
                "concurrency": row["concurrency"],
                "policy": f"{row['max_batch_size']}/{row['max_wait_ms']:g}ms"
                if row["batching"]
                else "off",
                "default": row["default"],
                "off_items_per_s": off["items_per_s"],
                "on_items_per_s": row["items_per_s"],
                "throughput_ratio": row["items_per_s"] / off["items_per_s"],
                "off_p50_ms": off["p50_ms"],
                "on_p50_ms": row["p50_ms"],
                "off_p95_ms": off["p95_ms"],
                "on_p95_ms": row["p95_ms"],
            }
        )
    return table


def render(comparison: list[dict[str, Any]]) -> str:
    header = (
        f"{'modality':<8} {'conc':>4} {'policy':>9} {'off it/s':>9} {'this it/s':>9} "
        f"{'ratio':>6} {'p50 off/on ms':>15} {'p95 off/on ms':>15}"
    )
    lines = [header, "─" * len(header)]
    for row in comparison:
        lines.append(
            f"{row['modality']:<8} {row['concurrency']:>4} {row['policy']:>9} "
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
        axis.set_xticks(x, [f"concurrency {r['concurrency']}" for r in rows])
        axis.set_title(f"{modality}: items/s")
        axis.legend()
    figure.tight_layout()
    figure.savefig(target, dpi=100)
    plt.close(figure)
