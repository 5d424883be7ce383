"""The pipeline core in-process against the real emulators and models: the prediction
cache, single flight, create-once results and micro-batch fault isolation."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest

from prism.errors import ErrorCode, PermanentError
from prism.inference.engine import Engine
from prism.jobs import Job
from prism.modalities.base import Outcome
from prism.modality import Modality
from prism.onnx.registry import ModelRef
from prism.pipeline import Pipeline, build_pipeline
from prism.queries import every_result
from prism.results import blob_result_id, read_result, result_document
from prism.settings import Settings, load_settings
from prism.storage import CosmosConnection, StorageConnection
from tests.isolation import own_resources, provision

pytestmark = pytest.mark.integration
POISON = b"POISON"
HOLD = b"HOLD"  # a model call holding this input waits until the test releases it


class CountingEngine(Engine):
    """The real engine, counting the inputs it runs; an input holding POISON makes the
    whole model call raise, as a crashing kernel would."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.inputs: list[bytes] = []
        self.calls: list[list[bytes]] = []
        self.version_suffix = ""
        self.release = threading.Event()

    def run(self, modality: Modality, payloads: Sequence[bytes]) -> list[Outcome]:
        if HOLD in payloads:
            self.release.wait(30)
        self.inputs.extend(payloads)
        self.calls.append(list(payloads))
        if any(POISON in payload for payload in payloads):
            raise RuntimeError("the model call crashed")
        return super().run(modality, payloads)

    def model(self, modality: Modality) -> ModelRef:
        ref = super().model(modality)
        return replace(ref, version=ref.version + self.version_suffix)


@pytest.fixture
def core(
    storage_connection: StorageConnection,
    cosmos_settings: CosmosConnection,
    unique_name: str,
    built_models: dict[str, Any],
) -> Pipeline:
    settings = load_settings(
        {
            **own_resources(unique_name),
            "PRISM_TEXT_BATCH_SIZE": "8",
            "PRISM_TEXT_BATCH_WAIT_MS": "50",
            "PRISM_BATCHES_IN_FLIGHT": "1",
            # Every item batched, however small the backlog: these tests are about what
            # sharing a model call does.
            "PRISM_TEXT_BATCH_MIN_BACKLOG": "0",
        }
    )
    pipeline = build_pipeline(
        settings,
        storage=storage_connection,
        cosmos=cosmos_settings,
        engine=CountingEngine(settings),
    )
    provision(pipeline.blobs, pipeline.queues, settings)
    return pipeline


def engine_of(pipeline: Pipeline) -> CountingEngine:
    assert isinstance(pipeline.engine, CountingEngine)
    return pipeline.engine


def ingest_jobs(pipeline: Pipeline, files: dict[str, bytes]) -> list[Job]:
    container = pipeline.settings.incoming_container
    for name, data in files.items():
        pipeline.blobs.upload(container, name, data)
        assert pipeline.ingest(container, name).action == "queued"
    messages = pipeline.queues.receive(
        pipeline.settings.text_queue, max_messages=32, visibility_timeout=60
    )
    return [Job.from_json(message.body()) for message in messages]


def run(pipeline: Pipeline, *jobs: Job) -> list[Any]:
    async def scenario() -> list[Any]:
        try:
            processed = [pipeline.process(job) for job in jobs]
            return list(await asyncio.gather(*processed, return_exceptions=True))
        finally:
            await pipeline.close()

    return asyncio.run(scenario())


def test_the_same_content_under_two_names_costs_one_inference(core: Pipeline) -> None:
    text = b"Heavy rain and strong wind are expected along the coast tonight."
    first, second = ingest_jobs(core, {"a.txt": text, "b.txt": text})
    (fresh,) = run(core, first)
    (cached,) = run(core, second)
    assert engine_of(core).inputs == [text]
    assert (fresh["cache"], cached["cache"]) == ("miss", "hit")
    assert fresh["id"] != cached["id"]
    assert cached["result"] == fresh["result"]  # a cached result is the fresh one


def test_a_new_model_version_misses_the_cache(core: Pipeline) -> None:
    text = b"The committee approved the new budget on Tuesday."
    first, second = ingest_jobs(core, {"v1.txt": text, "v2.txt": text})
    run(core, first)
    engine_of(core).version_suffix = "+next"
    (again,) = run(core, second)
    assert again["cache"] == "miss"
    assert engine_of(core).inputs == [text, text]


def test_concurrent_duplicates_of_a_job_make_one_inference_and_one_write(core: Pipeline) -> None:
    (job,) = ingest_jobs(core, {"dup.txt": b"Two workers received this same message."})
    documents = run(core, job, job, job)
    assert len(engine_of(core).inputs) == 1
    assert len({d["id"] for d in documents}) == 1
    stored = list(every_result(core.results))
    assert [d["id"] for d in stored] == [job.id]


def test_a_redelivered_job_finds_its_result_and_does_nothing_more(core: Pipeline) -> None:
    (job,) = ingest_jobs(core, {"again.txt": b"Delivered at least once."})
    (first,) = run(core, job)
    (second,) = run(core, job)
    assert len(engine_of(core).inputs) == 1
    assert second["id"] == first["id"] and second["created_at"] == first["created_at"]


def test_one_poisoned_item_in_a_micro_batch_never_fails_its_peers(core: Pipeline) -> None:
    files = {f"peer{i}.txt": f"Ordinary sentence number {i}.".encode() for i in range(5)}
    files["poison.txt"] = b"This input crashes the model: " + POISON
    jobs = ingest_jobs(core, files)
    engine = engine_of(core)

    async def scenario() -> list[Any]:
        batcher = core.predictor.batcher(Modality.TEXT)
        # Occupy the only model slot, so that every job queues up behind it and the
        # six of them share the next model call.
        held = asyncio.create_task(batcher.submit(HOLD))
        processing = asyncio.gather(*(core.process(j) for j in jobs), return_exceptions=True)
        async with asyncio.timeout(30):
            while batcher.waiting < len(jobs):
                await asyncio.sleep(0.01)
        engine.release.set()
        await held
        outcomes = list(await processing)
        await core.close()
        return outcomes

    outcomes = dict(zip((j.blob for j in jobs), asyncio.run(scenario()), strict=True))
    assert isinstance(outcomes.pop("poison.txt"), RuntimeError)  # raised: will be retried
    assert all(d["status"] == "ok" for d in outcomes.values()), outcomes
    shared = [call for call in engine.calls if len(call) == len(jobs)]
    assert shared and any(POISON in payload for payload in shared[0])  # they did share a call
    assert len([d for d in every_result(core.results) if d["modality"] == "text"]) == 5


class DeletedWhileRouting:
    """Blob storage whose blob is deleted between the router's head and tail reads, as
    a user deleting it mid-ingest would."""

    def __init__(self, blobs: Any) -> None:
        self.blobs = blobs

    def __getattr__(self, name: str) -> Any:
        return getattr(self.blobs, name)

    def read_range(self, container: str, name: str, *args: Any, **kwargs: Any) -> bytes:
        self.blobs.delete(container, name)
        data: bytes = self.blobs.read_range(container, name, *args, **kwargs)
        return data


def test_a_blob_deleted_while_routing_is_gone_not_rejected(core: Pipeline) -> None:
    container = core.settings.incoming_container
    # Magic bytes cannot decide random bytes: the router reads the tail too.
    data = bytes(range(256)) * 64
    uploaded = core.blobs.upload(container, "vanishing.bin", data)
    routing = Pipeline(
        core.settings, blobs=DeletedWhileRouting(core.blobs), queues=core.queues,
        results=core.results, engine=core.engine, cache=core.cache,
    )  # fmt: skip

    outcome = routing.ingest(container, "vanishing.bin")

    assert outcome.action == "gone"
    document_id = blob_result_id(container, "vanishing.bin", uploaded.etag)
    assert read_result(core.results, document_id) is None


def test_a_rejected_blob_is_moved_even_when_the_quarantine_container_is_missing(
    core: Pipeline,
    storage_connection: StorageConnection,
    cosmos_settings: CosmosConnection,
    unique_name: str,
) -> None:
    settings = replace(core.settings, quarantine_container=f"{unique_name}-fresh-q")
    fresh = build_pipeline(
        settings, storage=storage_connection, cosmos=cosmos_settings, engine=core.engine
    )
    container = settings.incoming_container
    fresh.blobs.upload(container, "empty.txt", b"")

    assert fresh.ingest(container, "empty.txt").action == "rejected"

    assert fresh.blobs.tags(settings.quarantine_container, "empty.txt") == {
        "prism-rejected": "empty"
    }
    assert not any(b.name == "empty.txt" for b in fresh.blobs.list(container))


def test_a_redelivered_rejected_job_finishes_the_move_the_first_delivery_missed(
    core: Pipeline,
) -> None:
    (job,) = ingest_jobs(core, {"long.txt": b"A text the first delivery rejected."})
    # The first delivery wrote its rejection, then failed before moving the blob.
    error = PermanentError(ErrorCode.TOO_LONG, "too many tokens")
    core.results.upsert(
        result_document(document_id=job.id, modality=job.modality, source=job.source, error=error)
    )

    (document,) = run(core, job)

    assert document["status"] == "rejected"
    container = core.settings.incoming_container
    assert not any(b.name == "long.txt" for b in core.blobs.list(container))
    assert core.blobs.tags(core.settings.quarantine_container, "long.txt") == {
        "prism-rejected": "too_long"
    }
