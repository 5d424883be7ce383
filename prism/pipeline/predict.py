"""Predict: one content's outcome under one model, by the cheapest way there is.

fingerprint (sha256 and the model) → the prediction cache (in process, then shared where
a hit saves more than a lookup costs) → one flight per cache key (concurrent duplicates
share one inference) → the modality's micro-batcher → the engine, which runs the
modality's decode → validate → preprocess → infer → postprocess on the batch.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass, field
from functools import partial

from prism import telemetry
from prism.cache import PredictionCache, cache_key
from prism.inference.batcher import BatchPolicy, MicroBatcher
from prism.inference.engine import Engine
from prism.modalities.base import Outcome
from prism.modality import Modality
from prism.onnx.registry import ModelRef
from prism.results import elapsed_ms
from prism.settings import Settings
from prism.single_flight import SingleFlight
from prism.threads import in_storage


@dataclass(frozen=True)
class Fingerprint:
    """What a prediction depends on: the content and the model that reads it."""

    content_sha256: str
    model: ModelRef

    @property
    def key(self) -> str:
        return cache_key(self.content_sha256, self.model)


@dataclass(frozen=True)
class Prediction:
    """One content's outcome under one model, and how it was obtained."""

    outcome: Outcome
    cache_hit: bool
    stage_ms: dict[str, float] = field(default_factory=dict)


class Predictor:
    def __init__(self, settings: Settings, *, engine: Engine, cache: PredictionCache) -> None:
        self.settings = settings
        self.engine = engine
        self.cache = cache
        # Per event loop and modality: a batcher's futures belong to one loop. A batcher
        # leaves when its worker stops, so a finished loop keeps none alive.
        self._batchers: dict[
            asyncio.AbstractEventLoop, dict[Modality, MicroBatcher[bytes, Outcome]]
        ] = {}
        # Cache key → the prediction already under way for it. _predict remembers its
        # result in the in-process cache before its flight ends: see SingleFlight.
        self.flights = SingleFlight()

    def fingerprint(self, modality: Modality, data: bytes) -> Fingerprint:
        """Hashes ``data`` and may load the model's manifest: blocking, off the loop."""
        return Fingerprint(hashlib.sha256(data).hexdigest(), self.engine.model(modality))

    async def predict(
        self, modality: Modality, data: bytes, fingerprint: Fingerprint
    ) -> Prediction:
        key = fingerprint.key
        return await self.flights.run(key, partial(self._predict, key, modality, data))

    async def _predict(self, key: str, modality: Modality, data: bytes) -> Prediction:
        """Cache lookup, then the model on a miss, in one flight per key: the result is
        remembered in this process before the flight ends (see :class:`SingleFlight`)."""
        start = time.perf_counter()
        # The shared lookup only where a hit saves more than it costs (Settings).
        shared = self.settings.uses_shared_cache(modality.value)
        cached = await in_storage(self.cache.get, key, shared=shared)
        stage_ms = {"cache": elapsed_ms(start)}
        if cached is not None:
            return Prediction(Outcome(result=cached), cache_hit=True, stage_ms=stage_ms)
        start = time.perf_counter()
        if self.settings.batching(modality.value).size == 1:
            # Nothing to batch: run in the executor directly (the benchmark shows the
            # batcher's slots would only cap how many calls overlap).
            loop = asyncio.get_running_loop()
            (outcome,) = await loop.run_in_executor(None, self.engine.run, modality, [data])
        else:
            outcome = await self.batcher(modality).submit(data)
        stage_ms["inference"] = elapsed_ms(start)
        if outcome.result is not None:
            self.cache.remember(key, outcome.result)
        return Prediction(outcome, cache_hit=False, stage_ms=stage_ms)

    def batcher(self, modality: Modality) -> MicroBatcher[bytes, Outcome]:
        """This loop's micro-batcher for ``modality``, created on first use."""
        loop = asyncio.get_running_loop()
        of_loop = self._batchers.setdefault(loop, {})
        batcher = of_loop.get(modality)
        if batcher is None:
            batching = self.settings.batching(modality.value)
            batcher = MicroBatcher(
                partial(self.engine.run, modality),
                BatchPolicy(
                    batching.size,
                    batching.wait_ms,
                    max(self.settings.batch_queue_limit, batching.size),
                    self.settings.batches_in_flight,
                    batching.min_backlog,
                ),
                name=f"{modality}-batcher",
                on_batch=partial(telemetry.record_batch, modality.value),
            )
            of_loop[modality] = batcher
            batcher.when_stopped(partial(self._forget_batcher, loop, modality))
        return batcher

    def _forget_batcher(self, loop: asyncio.AbstractEventLoop, modality: Modality) -> None:
        of_loop = self._batchers.get(loop, {})
        of_loop.pop(modality, None)
        if not of_loop:
            self._batchers.pop(loop, None)

    async def close(self) -> None:
        """Finish what this loop's batchers hold (clean shutdown)."""
        for batcher in self._batchers.pop(asyncio.get_running_loop(), {}).values():
            await batcher.close()
