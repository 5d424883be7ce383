"""The pipeline core's guarantees on the HTTP path, with in-memory documents (contract-
tested against the emulator) and an engine that stands in for the models."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from prism.cache import cache_key
from prism.modality import Modality
from prism.pipeline import Pipeline
from prism.settings import load_settings
from prism.storage.blobs import BlobInfo
from tests.fakes import FakeDocuments
from tests.unit.stubs import (
    FailingDocuments,
    StubEngine,
    engine_of,
    job_fields,
    make_pipeline,
)

TEXT = b"The same words, sent twice."


def infer(pipeline: Pipeline, data: bytes, name: str) -> Any:
    return pipeline.infer_bytes(data, name=name, modality=Modality.TEXT)


def test_a_duplicate_arriving_during_the_inference_waits_for_it_instead_of_running_again() -> None:
    pipeline = make_pipeline()
    engine = engine_of(pipeline)
    engine.release.clear()

    async def scenario() -> list[Any]:
        leader = asyncio.create_task(infer(pipeline, TEXT, "a.txt"))
        await asyncio.to_thread(engine.entered.wait, 10)
        duplicate = asyncio.create_task(infer(pipeline, TEXT, "b.txt"))
        key = cache_key_of(pipeline, TEXT)
        async with asyncio.timeout(10):
            while pipeline.predictor.flights.waiting(key) < 1:
                await asyncio.sleep(0.01)
        engine.release.set()
        return list(await asyncio.gather(leader, duplicate))

    first, second = asyncio.run(scenario())
    assert engine.calls == [TEXT]
    assert first["id"] == second["id"]


def cache_key_of(pipeline: Pipeline, data: bytes) -> str:
    import hashlib

    return cache_key(hashlib.sha256(data).hexdigest(), pipeline.engine.model(Modality.TEXT))


# Text shares its predictions in these tests, so the shared store is exercised.
SHARED_TEXT = load_settings({}, text_batch_size=1, shared_cache=("text",))


def test_a_changed_result_shaping_setting_is_a_new_result_not_the_cached_one() -> None:
    results = FakeDocuments()
    cache_store = FakeDocuments(partition_key_field="id")
    before = make_pipeline(SHARED_TEXT, results=results, cache_store=cache_store)
    old = asyncio.run(infer(before, TEXT, "a.txt"))
    relabelled = load_settings({}, text_batch_size=1, text_labels=("invoices: bills, payments",),
                               shared_cache=("text",))  # fmt: skip
    after = make_pipeline(relabelled, results=results, cache_store=cache_store)
    new = asyncio.run(infer(after, TEXT, "a.txt"))
    assert new["id"] != old["id"]  # the HTTP result id names the configuration
    assert new["cache"] == "miss"  # so does the cache key
    assert new["result"]["labels"] == ["invoices: bills, payments"]
    assert engine_of(after).calls == [TEXT]


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("text_labels", ("other: anything",)),
        ("text_other_threshold", 0.5),
        ("max_text_tokens", 128),
        ("max_text_bytes", 1000),
    ],
)
def test_every_setting_that_shapes_a_text_result_changes_its_model_ref(
    setting: str, value: object
) -> None:
    base = StubEngine(load_settings({}))
    changed = StubEngine(load_settings({}, **{setting: value}))
    assert base.model(Modality.TEXT) != changed.model(Modality.TEXT)
    assert base.model(Modality.IMAGE) == changed.model(Modality.IMAGE)


def test_a_cache_that_is_down_costs_a_miss_never_the_result() -> None:
    results = FakeDocuments()
    pipeline = make_pipeline(SHARED_TEXT, results=results, cache_store=FailingDocuments("id"))
    document = asyncio.run(infer(pipeline, TEXT, "a.txt"))
    assert document["status"] == "ok" and document["cache"] == "miss"
    assert results.read(document["id"], document["id"]) is not None  # the result was written


def test_a_finished_event_loop_takes_its_batchers_with_it() -> None:
    pipeline = make_pipeline(load_settings({}, text_batch_size=4, text_batch_wait_ms=1))
    for name in ("a.txt", "b.txt"):  # two loops, one after the other (tests, restarts)
        asyncio.run(infer(pipeline, name.encode(), name))
    assert len(pipeline.predictor._batchers) == 0  # none kept alive for a loop that is gone


class CountingDocuments(FakeDocuments):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def read(self, document_id: str, partition_value: object) -> dict[str, object] | None:
        self.calls += 1
        return super().read(document_id, partition_value)

    def upsert(self, document: Any) -> dict[str, object]:
        self.calls += 1
        return super().upsert(document)


def test_a_modality_off_the_shared_cache_never_reads_or_writes_it() -> None:
    store = CountingDocuments()
    pipeline = make_pipeline(load_settings({}, text_batch_size=1, shared_cache=("audio",)),
                             cache_store=store)  # fmt: skip
    document = asyncio.run(infer(pipeline, TEXT, "a.txt"))
    assert document["status"] == "ok" and document["cache"] == "miss"
    assert store.calls == 0


class SameBytes:
    """Blob storage where every blob holds the same text (two names, one content)."""

    def read_head(self, container: str, name: str, length: int) -> tuple[BlobInfo, bytes]:
        info = BlobInfo(container, name, '"0x1"', len(TEXT), "text/plain", datetime.now(UTC))
        return info, TEXT[:length]

    def download(self, container: str, name: str, *, if_match: str | None = None) -> bytes:
        return TEXT


def test_another_instance_finds_a_shared_prediction_in_the_document_that_holds_it() -> None:
    from prism.jobs import Job

    results, store = FakeDocuments(), CountingDocuments()
    first = make_pipeline(SHARED_TEXT, results=results, cache_store=store, blobs=SameBytes())
    written = asyncio.run(first.process(Job(**job_fields(blob="a.txt"))))
    assert written is not None and written["cache"] == "miss"
    (entry,) = store.documents.values()
    assert entry["result_id"] == written["id"] and "result" not in entry  # stored once

    # Another instance:
    other = make_pipeline(SHARED_TEXT, results=results, cache_store=store, blobs=SameBytes())
    found = asyncio.run(other.process(Job(**job_fields(blob="b.txt"))))
    assert found is not None and found["id"] != written["id"]
    assert found["cache"] == "hit" and found["result"] == written["result"]
    assert engine_of(other).calls == []  # it never ran the model
