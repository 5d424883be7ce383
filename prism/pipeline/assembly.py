"""The stages wired over one set of clients: the process's one :class:`Pipeline`."""

from __future__ import annotations

import threading

from prism import telemetry
from prism.budget import MemoryBudget
from prism.cache import PredictionCache
from prism.inference.engine import Engine
from prism.pipeline.http_inference import HttpInference
from prism.pipeline.ingest import Ingest
from prism.pipeline.predict import Predictor
from prism.pipeline.process import JobProcessor
from prism.pipeline.quarantine import Quarantine
from prism.pipeline.record import Recorder
from prism.settings import Settings
from prism.storage import (
    BlobStore,
    CosmosConnection,
    DocumentContainer,
    MessageQueues,
    StorageConnection,
)


class Pipeline:
    """ingest → process → predict → record, and HTTP inference, over one set of clients
    and one budget for files (every file in flight reserves its peak memory from it)."""

    def __init__(
        self,
        settings: Settings,
        *,
        blobs: BlobStore,
        queues: MessageQueues,
        results: DocumentContainer,
        engine: Engine,
        cache: PredictionCache,
        budget: MemoryBudget | None = None,
    ) -> None:
        self.settings = settings
        self.blobs = blobs
        self.queues = queues
        self.results = results
        self.engine = engine
        self.cache = cache
        self.budget = budget or MemoryBudget(settings.file_memory_bytes)
        self.quarantine = Quarantine(blobs, settings.quarantine_container)
        self.predictor = Predictor(settings, engine=engine, cache=cache)
        self.recorder = Recorder(settings, results=results, engine=engine, cache=cache)
        # The stages, each called as the step it is: pipeline.ingest(container, name),
        # await pipeline.process(job), await pipeline.infer_bytes(data, name=...).
        self.ingest = Ingest(
            settings, blobs=blobs, queues=queues, engine=engine, recorder=self.recorder,
            quarantine=self.quarantine,
        )  # fmt: skip
        self.process = JobProcessor(
            blobs=blobs, results=results, engine=engine, budget=self.budget,
            predictor=self.predictor, recorder=self.recorder, quarantine=self.quarantine,
        )  # fmt: skip
        self.infer_bytes = HttpInference(
            results=results, engine=engine, budget=self.budget, predictor=self.predictor,
            recorder=self.recorder,
        )  # fmt: skip

    async def close(self) -> None:
        """Finish what this loop's batchers hold (clean shutdown)."""
        await self.predictor.close()


_pipeline: list[Pipeline] = []
_pipeline_lock = threading.Lock()


def get_pipeline() -> Pipeline:
    """The process-wide pipeline over the app settings' storage, Cosmos DB and models.

    Built under a lock: concurrent first invocations must share one set of clients
    (two would race to create the same Cosmos DB containers on first use).
    """
    with _pipeline_lock:
        if not _pipeline:
            telemetry.configure()  # only exports when a connection string is set
            from prism.inference.engine import get_engine
            from prism.settings import get_settings

            _pipeline.append(build_pipeline(get_settings(), engine=get_engine()))
        return _pipeline[0]


def build_pipeline(
    settings: Settings,
    *,
    storage: StorageConnection | None = None,
    cosmos: CosmosConnection | None = None,
    engine: Engine | None = None,
) -> Pipeline:
    """A pipeline over explicit connections (default: the app settings')."""
    from prism.storage import blob_store, message_queues
    from prism.storage.clients import prediction_cache_container, results_container

    results = results_container(cosmos, settings)
    return Pipeline(
        settings,
        blobs=blob_store(storage),
        queues=message_queues(storage),
        results=results,
        engine=engine or Engine(settings),
        cache=PredictionCache(
            prediction_cache_container(cosmos, settings), settings.cache_entries, results=results
        ),
    )
