"""Admission control in the pipeline: a job reserves its file's estimated peak memory
before it downloads anything and waits its turn; a file that can never fit is rejected
(and quarantined) without being downloaded; over HTTP a spent budget answers "busy"
at once. Counted, not timed: model calls are held until the test lets them go."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from prism.budget import BudgetExhaustedError
from prism.errors import ErrorCode
from prism.jobs import Job
from prism.modalities.base import Outcome
from prism.modality import Modality
from prism.results import blob_result_id
from prism.settings import load_settings
from prism.storage import NotFoundError
from prism.storage.blobs import BlobInfo
from tests.unit.stubs import StubEngine, make_pipeline

MB = 1024 * 1024
ETAG = '"0x1"'


class Blobs:
    """Blob storage holding ``files`` (name → bytes), counting whole downloads."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.downloads: list[str] = []
        self.quarantined: list[str] = []

    def info(self, container: str, name: str) -> BlobInfo:
        if name not in self.files:
            raise NotFoundError(f"{container}/{name}")
        return BlobInfo(container, name, ETAG, len(self.files[name]), None, datetime.now(UTC))

    def read_head(self, container: str, name: str, length: int) -> tuple[BlobInfo, bytes]:
        return self.info(container, name), self.files[name][:length]

    def download(self, container: str, name: str, *, if_match: str | None = None) -> bytes:
        self.downloads.append(name)
        return self.files[name]

    def copy(self, container: str, name: str, target: str, **_: Any) -> BlobInfo:
        self.quarantined.append(name)
        return self.info(container, name)

    def set_tags(self, container: str, name: str, tags: dict[str, str]) -> None:
        pass

    def delete(self, container: str, name: str, **_: Any) -> bool:
        return True


class CountingEngine(StubEngine):
    """Counts model calls running at once; each waits until the test releases it."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.lock = threading.Lock()
        self.active = 0
        self.most = 0
        self.started = 0

    def run(self, modality: Modality, payloads: Sequence[bytes]) -> list[Outcome]:
        with self.lock:
            self.active += 1
            self.started += 1
            self.most = max(self.most, self.active)
        try:
            return super().run(modality, payloads)
        finally:
            with self.lock:
                self.active -= 1


def job(name: str, size: int, etag: str = ETAG) -> Job:
    return Job(
        id=blob_result_id("incoming", name, etag),
        container="incoming",
        blob=name,
        etag=etag,
        size=size,
        modality="image",
        media_type="image/png",
        enqueued_at="2026-12-05T12:00:00.000Z",
    )


def pipeline_with(files: dict[str, bytes], *, file_memory_mb: int) -> Any:
    """A pipeline over ``files`` whose files may hold ``file_memory_mb`` at once. Images
    run one per model call, straight in the executor: only the budget limits how many
    run at once. Typed Any: its blobs and engine are this module's fakes."""
    settings = load_settings({}, instance_memory_mb=file_memory_mb, resident_memory_mb=0)
    return make_pipeline(settings, engine=CountingEngine(settings), blobs=Blobs(files))


async def _until(condition: Any) -> None:
    async with asyncio.timeout(30):
        while not condition():
            await asyncio.sleep(0.01)


def test_jobs_beyond_the_budget_wait_before_downloading_and_all_finish() -> None:
    files = {f"photo-{i}.png": bytes([i]) * (40 * MB) for i in range(5)}
    pipeline = pipeline_with(files, file_memory_mb=100)  # two 40 MB files fit, not three
    engine = pipeline.engine
    engine.release.clear()

    async def scenario() -> list[Any]:
        tasks = [asyncio.create_task(pipeline.process(job(name, 40 * MB))) for name in files]
        await _until(lambda: engine.started == 2 and pipeline.budget.waiting == 3)
        assert len(pipeline.blobs.downloads) == 2  # the others have not downloaded
        engine.release.set()
        return list(await asyncio.gather(*tasks))

    documents = asyncio.run(scenario())
    assert [d["status"] for d in documents] == ["ok"] * 5
    assert isinstance(pipeline.engine, CountingEngine) and pipeline.engine.most == 2
    assert pipeline.budget.peak_reserved <= pipeline.budget.capacity == 100 * MB
    assert pipeline.budget.reserved == 0


def test_a_file_that_could_never_fit_is_rejected_and_quarantined_without_a_download() -> None:
    pipeline = pipeline_with({"poster.png": b"p" * (30 * MB)}, file_memory_mb=100)
    pipeline.engine.bytes_per_byte = 4  # 120 MB to process: more than the budget

    document = asyncio.run(pipeline.process(job("poster.png", 30 * MB)))
    assert document["status"] == "rejected" and document["error"]["code"] == "over_budget"
    assert "120 MB" in document["error"]["message"]
    assert pipeline.blobs.downloads == [] and pipeline.blobs.quarantined == ["poster.png"]
    assert pipeline.engine.calls == []


def test_the_cost_is_of_the_size_storage_states_not_the_size_the_message_claims() -> None:
    pipeline = pipeline_with({"big.png": b"p" * (30 * MB)}, file_memory_mb=100)
    pipeline.engine.bytes_per_byte = 4

    document = asyncio.run(pipeline.process(job("big.png", 10)))  # the message says 10 bytes
    assert document["error"]["code"] == "over_budget" and pipeline.blobs.downloads == []


def test_a_replaced_blob_version_is_gone_before_any_reservation() -> None:
    pipeline = pipeline_with({"a.png": b"p"}, file_memory_mb=100)
    assert asyncio.run(pipeline.process(job("a.png", 1, etag='"0x0"'))) is None
    assert pipeline.budget.peak_reserved == 0 and pipeline.blobs.downloads == []


def test_an_http_request_beyond_the_budget_is_refused_busy_at_once() -> None:
    pipeline = pipeline_with({}, file_memory_mb=100)
    engine = pipeline.engine
    engine.release.clear()

    async def scenario() -> None:
        first = asyncio.create_task(
            pipeline.infer_bytes(b"a" * (60 * MB), name="a.txt", modality=Modality.TEXT)
        )
        await _until(lambda: engine.started == 1)
        with pytest.raises(BudgetExhaustedError) as caught:
            await pipeline.infer_bytes(b"b" * (60 * MB), name="b.txt", modality=Modality.TEXT)
        assert caught.value.code is ErrorCode.BUSY
        engine.release.set()
        assert (await first)["status"] == "ok"

    asyncio.run(scenario())
    assert pipeline.budget.reserved == 0
