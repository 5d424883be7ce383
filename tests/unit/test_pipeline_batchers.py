"""The pipeline's micro-batchers: one per event loop and modality, configured by the
modality's settings, recorded in telemetry, and forgotten when they stop."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from prism import telemetry
from prism.inference.batcher import BatcherClosedError, BatchPolicy, MicroBatcher
from prism.modalities.base import Outcome
from prism.modality import Modality
from prism.settings import load_settings
from tests.unit.stubs import StubEngine, engine_of, make_pipeline

BATCHING = load_settings(
    {}, text_batch_size=4, text_batch_wait_ms=7.0, text_batch_min_backlog=3,
    batch_queue_limit=2, batches_in_flight=5,
)  # fmt: skip


def test_a_modalitys_batcher_is_configured_by_its_settings() -> None:
    pipeline = make_pipeline(BATCHING)

    async def scenario() -> MicroBatcher[bytes, Outcome]:
        batcher = pipeline.predictor.batcher(Modality.TEXT)
        await pipeline.close()
        return batcher

    batcher = asyncio.run(scenario())
    # The queue holds at least one full batch, whatever the queue limit says.
    assert batcher.policy == BatchPolicy(4, 7.0, 4, 5, 3)
    assert batcher.name == "text-batcher"


def test_one_loop_shares_one_batcher_per_modality() -> None:
    pipeline = make_pipeline(BATCHING)

    async def scenario() -> None:
        text = pipeline.predictor.batcher(Modality.TEXT)
        assert pipeline.predictor.batcher(Modality.TEXT) is text
        assert pipeline.predictor.batcher(Modality.IMAGE) is not text
        await pipeline.close()

    asyncio.run(scenario())


def test_each_event_loop_gets_batchers_of_its_own() -> None:
    pipeline = make_pipeline(BATCHING)

    async def other_loop() -> MicroBatcher[bytes, Outcome]:
        batcher = pipeline.predictor.batcher(Modality.TEXT)
        await pipeline.close()
        return batcher

    async def scenario() -> None:
        mine = pipeline.predictor.batcher(Modality.TEXT)
        # Another loop, alive at the same time (another thread): a batcher's futures
        # belong to one loop, so it must not be handed this one.
        theirs = await asyncio.to_thread(asyncio.run, other_loop())
        assert theirs is not mine
        assert pipeline.predictor.batcher(Modality.TEXT) is mine
        await pipeline.close()

    asyncio.run(scenario())


def test_a_stopped_batcher_is_forgotten_and_its_peers_are_kept() -> None:
    pipeline = make_pipeline(BATCHING)

    async def scenario() -> None:
        text, image = (
            pipeline.predictor.batcher(Modality.TEXT),
            pipeline.predictor.batcher(Modality.IMAGE),
        )
        await text.close()
        await asyncio.sleep(0)  # the worker's done callbacks run
        assert pipeline.predictor.batcher(Modality.IMAGE) is image
        assert pipeline.predictor.batcher(Modality.TEXT) is not text
        await pipeline.close()

    asyncio.run(scenario())


def test_closing_the_pipeline_stops_its_batchers_without_an_error_in_a_callback() -> None:
    pipeline = make_pipeline(BATCHING)
    errors: list[dict[str, Any]] = []

    async def scenario() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _, context: errors.append(context))
        pipeline.predictor.batcher(Modality.TEXT)
        pipeline.predictor.batcher(Modality.IMAGE)
        await pipeline.close()
        await asyncio.sleep(0)

    asyncio.run(scenario())
    assert errors == []
    assert pipeline.predictor._batchers == {}


class ModalityRecordingEngine(StubEngine):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.modalities: list[Modality] = []

    def run(self, modality: Modality, payloads: Sequence[bytes]) -> list[Outcome]:
        self.modalities.append(modality)
        return super().run(modality, payloads)


def test_a_batcher_runs_its_own_modalitys_model_and_records_each_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recorded: list[tuple[str, int]] = []
    monkeypatch.setattr(telemetry, "record_batch", lambda m, size: recorded.append((m, size)))
    settings = load_settings({}, text_batch_size=4, text_batch_wait_ms=1.0)
    engine = ModalityRecordingEngine(settings)
    pipeline = make_pipeline(settings, engine=engine)

    async def scenario() -> Outcome:
        outcome = await pipeline.predictor.batcher(Modality.TEXT).submit(b"words")
        await pipeline.close()
        return outcome

    assert asyncio.run(scenario()).result is not None
    assert engine.modalities == [Modality.TEXT]
    assert recorded == [("text", 1)]
    assert engine_of(pipeline).calls == [b"words"]


def test_closing_the_pipeline_closes_this_loops_batchers_at_once() -> None:
    pipeline = make_pipeline(BATCHING)

    async def scenario() -> None:
        text = pipeline.predictor.batcher(Modality.TEXT)
        await pipeline.close()
        assert asyncio.get_running_loop() not in pipeline.predictor._batchers
        with pytest.raises(BatcherClosedError):
            await text.submit(b"words")

    asyncio.run(scenario())
