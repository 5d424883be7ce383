"""Stand-ins for the pipeline's unit tests: an engine without models, and a pipeline
over in-memory documents and queues (fakes contract-tested in tests/integration)."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, cast

from prism.budget import Cost
from prism.cache import PredictionCache
from prism.errors import TransientError
from prism.inference.engine import Engine
from prism.jobs import Job
from prism.modalities.base import Outcome
from prism.modality import Modality
from prism.onnx.registry import ModelRef
from prism.pipeline import Pipeline
from prism.results import blob_result_id
from prism.settings import Settings, load_settings
from prism.storage import BlobStore, DocumentContainer
from tests.fakes import FakeDocuments, FakeMessageQueues


class StubEngine(Engine):
    """Echoes its input; a test may hold every model call until it releases it."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.calls: list[bytes] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        self.release.set()
        self.bytes_per_byte = 1  # what a file costs to process, per byte of it

    def model(self, modality: Modality) -> ModelRef:
        return replace(ModelRef("stub", "1", "1"), config=self.config_digest(modality))

    def cost(self, modality: Modality, size: int, head: bytes) -> Cost:
        return Cost(size * self.bytes_per_byte, f"a {size}-byte stub", "send less")

    def header_bytes(self, modality: Modality) -> int:
        return 0

    def run(self, modality: Modality, payloads: Sequence[bytes]) -> list[Outcome]:
        self.calls.extend(payloads)
        self.entered.set()
        assert self.release.wait(10), "the test never released the model call"
        return [Outcome(result={"echo": p.decode(), "labels": list(self.settings.text_labels[:1])})
                for p in payloads]  # fmt: skip


class FailingDocuments(FakeDocuments):
    """A store that is down: every call is a transient fault."""

    def read(self, document_id: str, partition_value: object) -> dict[str, object] | None:
        raise TransientError("the cache store is unreachable")

    def upsert(self, document: Any) -> dict[str, object]:
        raise TransientError("the cache store is unreachable")


def make_pipeline(
    settings: Settings | None = None,
    *,
    cache_store: FakeDocuments | None = None,
    results: Any = None,
    blobs: Any = None,
    queues: Any = None,
    engine: Any = None,
) -> Pipeline:
    """A pipeline over fakes: ``results``, ``blobs``, ``queues`` and ``engine`` replace
    the defaults (no blobs: the HTTP path reads none)."""
    settings = settings or load_settings({}, text_batch_size=1)
    results = results if results is not None else FakeDocuments()
    return Pipeline(
        settings,
        blobs=cast(BlobStore, blobs),
        queues=queues if queues is not None else FakeMessageQueues(),
        results=cast(DocumentContainer, results),
        engine=engine if engine is not None else StubEngine(settings),
        cache=PredictionCache(
            cast(DocumentContainer, cache_store if cache_store is not None else FakeDocuments()),
            16,
            results=cast(DocumentContainer, results),
        ),
    )


def engine_of(pipeline: Pipeline) -> StubEngine:
    assert isinstance(pipeline.engine, StubEngine)
    return pipeline.engine


def job_fields(
    modality: str = "text", blob: str = "a.txt", media_type: str = "text/plain"
) -> dict[str, Any]:
    """The fields of a valid job for ``blob`` in ``incoming``, as its message holds them."""
    job = Job.model_validate(
        {
            "id": blob_result_id("incoming", blob, '"0x1"'),
            "container": "incoming",
            "blob": blob,
            "etag": '"0x1"',
            "size": 10,
            "modality": modality,
            "media_type": media_type,
            "enqueued_at": "2026-11-30T12:00:00.000Z",
            "route_ms": 1.5,
        }
    )
    fields: dict[str, Any] = json.loads(job.to_json())
    return fields
