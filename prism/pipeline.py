"""One input end to end, shared by the blob/queue path and the HTTP path.

ingest (blob event) → route from properties + ranged reads → job on the modality's
queue, or a rejected result and the blob moved to quarantine.
process (queue message) → already done? → download that blob version → sha256 →
prediction cache → micro-batched inference → create the result document.
infer_bytes (HTTP) → route (or the given modality) → the same inference path.

Failure semantics: a :class:`PermanentError` (bad input) becomes a rejected result and
is never retried; a :class:`TransientError` propagates so the queue redelivers, and
after ``maxDequeueCount`` the message lands in ``<queue>-poison``. Result ids are
deterministic, so a redelivered job finds its result and stops, and of two workers
racing on one input the second's create fails (409) and it keeps the first's result.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from prism import telemetry
from prism.budget import Cost, MemoryBudget
from prism.cache import PredictionCache, cache_key
from prism.errors import ErrorCode, PermanentError
from prism.inference.batcher import BatchPolicy, MicroBatcher
from prism.inference.engine import Engine
from prism.jobs import Job
from prism.modalities.base import Outcome
from prism.modality import UNROUTED, Modality
from prism.onnx.registry import ModelRef
from prism.results import (
    Source,
    Timings,
    blob_result_id,
    content_result_id,
    read_result,
    result_document,
)
from prism.routing import HEAD_BYTES, TAIL_BYTES
from prism.settings import Settings
from prism.single_flight import SingleFlight
from prism.storage import (
    BlobStore,
    ConditionFailedError,
    ContainerNotFoundError,
    CosmosConnection,
    DocumentContainer,
    MessageQueues,
    NotFoundError,
    StorageConnection,
)
from prism.threads import in_storage

logger = logging.getLogger("prism.pipeline")

# The lifecycle policy tiers only blobs carrying this tag: below ~0.5 MiB the 128 KiB
# minimum billable size and the tier-change operations cost more than cool storage
# saves (see lifecycle_policies/README.md), so ingest tags only large inputs.
TIERING_TAG = ("prism-tiering", "on")
TIERING_MIN_BYTES = 1024 * 1024
QUARANTINE_TAG = "prism-rejected"


@dataclass(frozen=True)
class IngestOutcome:
    """What ingest did with one blob: queued it, rejected it, or found it gone."""

    action: str  # "queued" | "rejected" | "gone"
    document_id: str | None = None
    modality: str | None = None
    error: PermanentError | None = None
    route_ms: float | None = None  # properties, head (and tail) reads and routing


@dataclass(frozen=True)
class Prediction:
    """One content's outcome under one model, and how it was obtained."""

    outcome: Outcome
    cache_hit: bool
    stage_ms: dict[str, float] = field(default_factory=dict)


def _elapsed_ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


class Pipeline:
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
        # One per process: every file in flight reserves its peak memory from it.
        self.budget = budget or MemoryBudget(settings.file_memory_bytes)
        # Per event loop and modality: a batcher's futures belong to one loop. A batcher
        # leaves when its worker stops, so a finished loop keeps none alive.
        self._batchers: dict[
            asyncio.AbstractEventLoop, dict[Modality, MicroBatcher[bytes, Outcome]]
        ] = {}
        # Cache key → the prediction already under way for it. _predict remembers its
        # result in the in-process cache before its flight ends: see SingleFlight.
        self.flights = SingleFlight()

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

    # ---- ingest: the blob-triggered router -----------------------------------------

    def ingest(self, container: str, name: str) -> IngestOutcome:
        """Route one blob without downloading it; queue a job or reject the blob."""
        start = time.perf_counter()
        try:
            info, head = self.blobs.read_head(container, name, HEAD_BYTES)
        except NotFoundError:
            # Already quarantined or deleted by an earlier delivery of this event.
            logger.info("blob %s/%s is gone; nothing to ingest", container, name)
            return IngestOutcome("gone")
        document_id = blob_result_id(container, name, info.etag)
        source = Source(
            kind="blob",
            name=name,
            size=info.size,
            media_type=info.content_type,
            container=container,
            blob=name,
            etag=info.etag,
        )

        def tail() -> bytes:  # read only if the magic bytes do not decide
            if info.size <= HEAD_BYTES:
                return b""  # the head is the whole file
            return self.blobs.read_range(
                container, name, info.size - TAIL_BYTES, TAIL_BYTES, if_match=info.etag
            )

        try:
            if info.size == 0:
                raise PermanentError(ErrorCode.EMPTY, "the file is empty")
            route = self.engine.route(
                head, size=info.size, name=name, declared_type=info.content_type, tail=tail
            )
            if info.size >= TIERING_MIN_BYTES:
                # On the version routed only: a newer upload is tiered by its own routing.
                self.blobs.set_tags(container, name, dict([TIERING_TAG]), if_match=info.etag)
        except (NotFoundError, ConditionFailedError):
            # Deleted or replaced while being routed: a storage condition, not a verdict
            # on the file. A newer version has an event of its own.
            logger.info("blob %s/%s changed while routing; nothing to ingest", container, name)
            return IngestOutcome("gone")
        except PermanentError as error:
            timings = Timings()
            timings.add("route", _elapsed_ms(start))
            self._reject_blob(document_id, source, error, timings=timings)
            return IngestOutcome("rejected", document_id, UNROUTED, error)
        route_ms = _elapsed_ms(start)
        job = Job(
            id=document_id,
            container=container,
            blob=name,
            etag=info.etag,
            size=info.size,
            modality=route.modality,
            media_type=route.media_type,
            enqueued_at=datetime.now(UTC),
            route_ms=round(route_ms, 3),
        )
        self.queues.send(self.settings.modality_queues[route.modality], job.to_json())
        telemetry.record_routed(route.modality.value, route.detected_by, _elapsed_ms(start))
        logger.info(
            "queued %s/%s as %s (%s by %s)",
            container,
            name,
            route.modality,
            route.media_type,
            route.detected_by,
            extra={"blob": name, "result_id": document_id},
        )
        return IngestOutcome("queued", document_id, route.modality.value, route_ms=route_ms)

    def _reject_blob(
        self, document_id: str, source: Source, error: PermanentError, *, timings: Timings
    ) -> None:
        """Record the rejection first, then quarantine: a crash in between is repaired
        by the redelivery, which writes the same document and moves the blob again."""
        document = result_document(
            document_id=document_id, modality=UNROUTED, source=source, error=error, timings=timings
        )
        self.results.upsert(document)
        self.quarantine(source, error)
        telemetry.record_rejected(UNROUTED, error.code.value)

    def quarantine(self, source: Source, error: PermanentError) -> None:
        """Move this rejected blob version to the quarantine container, tagged with its
        code. Idempotent: a redelivery after any partial run finishes the move."""
        assert source.container is not None and source.blob is not None
        target = self.settings.quarantine_container
        try:
            moved = self._move_to_quarantine(source, error)
        except ContainerNotFoundError:
            # Deployment creates it on Azure; a fresh local stack may not have it yet.
            self.blobs.ensure_container(target)
            moved = self._move_to_quarantine(source, error)
        logger.info(
            "rejected %s (%s)%s",
            source.blob,
            error,
            f"; moved to {target}" if moved else "; already moved or replaced",
            extra={"blob": source.blob, "code": error.code.value},
        )

    def _move_to_quarantine(self, source: Source, error: PermanentError) -> bool:
        """Copy, tag the copy, then delete the source (each step for this version only):
        a crash at any point leaves the source in place for the redelivery to finish."""
        assert source.container is not None and source.blob is not None
        target = self.settings.quarantine_container
        try:
            self.blobs.copy(source.container, source.blob, target, if_match=source.etag)
        except (NotFoundError, ConditionFailedError):
            # Gone: moved by an earlier delivery. Changed: replaced by a newer upload,
            # which has its own event. Either way this version needs nothing more.
            return False
        self.blobs.set_tags(target, source.blob, {QUARANTINE_TAG: error.code})
        with contextlib.suppress(NotFoundError, ConditionFailedError):
            self.blobs.delete(source.container, source.blob, if_match=source.etag)
        return True

    # ---- process: the queue-triggered inference functions ----------------------------

    async def process(self, job: Job) -> dict[str, Any] | None:
        """Run one job; returns its result document, or None when the blob version is
        gone (deleted, or replaced by a newer upload that has its own job)."""
        # At least once: a redelivered job whose result exists is done. Reading first
        # (1 RU) saves a download and an inference for every redelivery.
        existing = await in_storage(read_result, self.results, job.id)
        if existing is not None:
            logger.info("job %s: already done", job.id, extra={"result_id": job.id})
            if existing.get("error"):
                # The first delivery may have failed between the write and the move.
                await in_storage(self.quarantine, job.source, _as_error(existing["error"]))
            return existing
        timings = Timings()
        timings.add("route", job.route_ms)
        timings.add("queue_wait", job.queue_wait_ms())
        modality = job.modality
        start = time.perf_counter()
        try:
            # What the file will cost, from its size and header, before it is downloaded.
            cost = await in_storage(self._blob_cost, job, modality)
            reservation = await self.budget.reserve(cost)
        except (NotFoundError, ConditionFailedError):
            logger.info("job %s: blob %s/%s version gone", job.id, job.container, job.blob)
            return None
        except PermanentError as error:  # more than an instance has for files
            timings.add("admission", _elapsed_ms(start))
            document = await self._reject_job(job, modality, error, timings)
        else:
            timings.add("admission", _elapsed_ms(start))
            with reservation:
                inferred = await self._download_and_infer(job, modality, timings)
            if inferred is None:
                return None
            document = inferred
        if document["error"]:
            await in_storage(self.quarantine, job.source, _as_error(document["error"]))
        return document

    def _blob_cost(self, job: Job, modality: Modality) -> Cost:
        """The cost of the job's blob version, from its size as storage states it (not
        as the message does) and its first bytes, in one ranged read; a version that is
        not there any more raises :class:`ConditionFailedError`."""
        wanted = self.engine.header_bytes(modality)
        info, head = self.blobs.read_head(job.container, job.blob, max(1, wanted))
        if info.etag != job.etag:
            raise ConditionFailedError(f"blob {job.container}/{job.blob} was replaced")
        return self.engine.cost(modality, info.size, head[:wanted])

    async def _download_and_infer(
        self, job: Job, modality: Modality, timings: Timings
    ) -> dict[str, Any] | None:
        start = time.perf_counter()
        try:
            data = await in_storage(self.blobs.download, job.container, job.blob, if_match=job.etag)
        except (NotFoundError, ConditionFailedError):
            logger.info("job %s: blob %s/%s version gone", job.id, job.container, job.blob)
            return None
        timings.add("download", _elapsed_ms(start))
        # Hashing a large file and loading a model on first use block: not on the loop.
        fingerprint = await asyncio.to_thread(self._fingerprint, modality, data)
        return await self._infer(
            modality, data, fingerprint, document_id=job.id, source=job.source, timings=timings
        )

    async def _reject_job(
        self, job: Job, modality: Modality, error: PermanentError, timings: Timings
    ) -> dict[str, Any]:
        """Record a rejection decided before the blob was downloaded (its cost)."""
        model = await asyncio.to_thread(self.engine.model, modality)  # reads the manifest
        document = result_document(
            document_id=job.id,
            modality=modality.value,
            source=job.source,
            error=error,
            model=model,
            timings=timings,
        )
        stored = await in_storage(self.results.create, document)
        if stored is None:  # another delivery recorded it first
            theirs = await in_storage(read_result, self.results, job.id)
            document = theirs or document
        telemetry.record_rejected(modality.value, error.code.value)
        return document

    async def _infer(
        self,
        modality: Modality,
        data: bytes,
        fingerprint: tuple[str, ModelRef],
        *,
        document_id: str,
        source: Source,
        timings: Timings,
    ) -> dict[str, Any]:
        content_sha256, model = fingerprint
        key = cache_key(content_sha256, model)
        prediction = await self.flights.run(key, partial(self._predict, key, modality, data))
        for stage, milliseconds in prediction.stage_ms.items():
            timings.add(stage, milliseconds)
        outcome = prediction.outcome
        telemetry.record_cache(modality.value, hit=prediction.cache_hit)
        search = None if outcome.result is None else await self._search(modality, outcome.result)
        document = result_document(
            document_id=document_id,
            modality=modality.value,
            source=source,
            result=outcome.result,
            error=outcome.error,
            content_sha256=content_sha256,
            model=model,
            timings=timings,
            cache="hit" if prediction.cache_hit else "miss",
            search=search,
        )
        write_start = time.perf_counter()
        stored = await in_storage(self.results.create, document)
        if stored is None:
            # Another worker finished the same input first: its document stands.
            logger.info("result %s was written concurrently; keeping it", document_id)
            theirs = await in_storage(read_result, self.results, document_id)
            document = theirs or document
        shared = self.settings.uses_shared_cache(modality.value)
        if outcome.result is not None and not prediction.cache_hit and shared:
            # After the result is safe: the shared entry names this document, which
            # holds the payload (stored once), and the shared cache is an optimisation.
            await in_storage(self.cache.share, key, document)
        telemetry.record_processed(
            modality.value,
            document["status"],
            inference_ms=timings.values.get("inference", 0.0),
            write_ms=_elapsed_ms(write_start),
            error_code=outcome.error.code.value if outcome.error else None,
        )
        logger.info(
            "%s %s: %s (cache %s)",
            modality,
            document["status"],
            source.name,
            document["cache"],
            extra={
                "blob": source.blob,
                "content_sha256": content_sha256,
                "result_id": document_id,
            },
        )
        return document

    async def _search(self, modality: Modality, result: dict[str, Any]) -> dict[str, Any] | None:
        """The result's ``search`` field (prism.search): a text's own embedding, or the
        text model's embedding of an audio transcript or an image's labels — one model
        call, in the executor. Words the text model rejects leave the result
        unsearchable, never failed."""
        from prism.search import search_field, text_embedder

        if modality is Modality.TEXT:
            return search_field(modality.value, result, text_embedder(self.engine))
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                None, search_field, modality.value, result, text_embedder(self.engine)
            )
        except PermanentError as error:
            logger.warning("%s result not searchable: %s", modality, error.message)
            return None

    def _fingerprint(self, modality: Modality, data: bytes) -> tuple[str, ModelRef]:
        return hashlib.sha256(data).hexdigest(), self.engine.model(modality)

    async def _predict(self, key: str, modality: Modality, data: bytes) -> Prediction:
        """Cache lookup, then the model on a miss, in one flight per key: the result is
        remembered in this process before the flight ends (see :class:`SingleFlight`)."""
        start = time.perf_counter()
        # The shared lookup only where a hit saves more than it costs (Settings).
        shared = self.settings.uses_shared_cache(modality.value)
        cached = await in_storage(self.cache.get, key, shared=shared)
        stage_ms = {"cache": _elapsed_ms(start)}
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
        stage_ms["inference"] = _elapsed_ms(start)
        if outcome.result is not None:
            self.cache.remember(key, outcome.result)
        return Prediction(outcome, cache_hit=False, stage_ms=stage_ms)

    # ---- infer_bytes: the synchronous HTTP path ---------------------------------------

    async def infer_bytes(
        self, data: bytes, *, name: str, modality: Modality | None = None
    ) -> dict[str, Any]:
        """Infer on bytes posted over HTTP. Bad input raises PermanentError (the API maps
        it to 413/415/422); a rejection found while decoding is also recorded."""
        timings = Timings()
        start = time.perf_counter()
        if not data:
            raise PermanentError(ErrorCode.EMPTY, "the request body is empty")
        if modality is None:
            route = partial(self.engine.route, size=len(data), name=name, tail=data[-TAIL_BYTES:])
            modality = (await asyncio.to_thread(route, data[:HEAD_BYTES])).modality
        timings.add("route", _elapsed_ms(start))
        fingerprint = await asyncio.to_thread(self._fingerprint, modality, data)
        content_sha256, model = fingerprint
        document_id = content_result_id(content_sha256, modality.value, model)
        existing = await in_storage(read_result, self.results, document_id)
        if existing is not None:
            document = existing
        else:
            head = data[: self.engine.header_bytes(modality)]
            cost = await asyncio.to_thread(self.engine.cost, modality, len(data), head)
            # A caller can come back: refused at once (503, Retry-After) when the budget
            # is spent, rather than holding its connection and its body while it waits.
            with self.budget.try_reserve(cost):
                document = await self._infer(
                    modality,
                    data,
                    fingerprint,
                    document_id=document_id,
                    source=Source(kind="http", name=name, size=len(data)),
                    timings=timings,
                )
        if document["error"]:
            raise _as_error(document["error"])
        return document


def _as_error(error: dict[str, str]) -> PermanentError:
    return PermanentError(ErrorCode(error["code"]), error["message"])


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
