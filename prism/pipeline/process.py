"""Process: the queue-triggered inference functions. One job, at least once:

already done? → what the file will cost, from its size and header, reserved from the
instance's budget (waiting its turn; refused if it could never fit) → download that blob
version → predict → record → a rejected blob to quarantine.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from prism.budget import Cost, MemoryBudget
from prism.errors import PermanentError
from prism.inference.engine import Engine
from prism.jobs import Job
from prism.modality import Modality
from prism.pipeline.predict import Predictor
from prism.pipeline.quarantine import Quarantine
from prism.pipeline.record import Recorder, stored_error
from prism.results import Timings, elapsed_ms, read_result
from prism.storage import BlobStore, ConditionFailedError, DocumentContainer, NotFoundError
from prism.threads import in_storage

logger = logging.getLogger("prism.pipeline")


class JobProcessor:
    def __init__(
        self,
        *,
        blobs: BlobStore,
        results: DocumentContainer,
        engine: Engine,
        budget: MemoryBudget,
        predictor: Predictor,
        recorder: Recorder,
        quarantine: Quarantine,
    ) -> None:
        self.blobs = blobs
        self.results = results
        self.engine = engine
        self.budget = budget
        self.predictor = predictor
        self.recorder = recorder
        self.quarantine = quarantine

    async def __call__(self, job: Job) -> dict[str, Any] | None:
        """Run one job; returns its result document, or None when the blob version is
        gone (deleted, or replaced by a newer upload that has its own job)."""
        # At least once: a redelivered job whose result exists is done. Reading first
        # (1 RU) saves a download and an inference for every redelivery.
        existing = await in_storage(read_result, self.results, job.id)
        if existing is not None:
            logger.info("job %s: already done", job.id, extra={"result_id": job.id})
            if existing.get("error"):
                # The first delivery may have failed between the write and the move.
                await in_storage(self.quarantine.move, job.source, stored_error(existing["error"]))
            return existing
        timings = Timings()
        timings.add("route", job.route_ms)
        timings.add("queue_wait", job.queue_wait_ms())
        document = await self._admit_and_run(job, job.modality, timings)
        if document is not None and document["error"]:
            await in_storage(self.quarantine.move, job.source, stored_error(document["error"]))
        return document

    async def _admit_and_run(
        self, job: Job, modality: Modality, timings: Timings
    ) -> dict[str, Any] | None:
        """The job within the instance's budget for files, or its rejection when it
        could never fit; None when the blob version is gone."""
        start = time.perf_counter()
        try:
            # What the file will cost, from its size and header, before it is downloaded.
            cost = await in_storage(self._blob_cost, job, modality)
            reservation = await self.budget.reserve(cost)
        except (NotFoundError, ConditionFailedError):
            logger.info("job %s: blob %s/%s version gone", job.id, job.container, job.blob)
            return None
        except PermanentError as error:  # more than an instance has for files
            timings.add("admission", elapsed_ms(start))
            return await self.recorder.rejection(
                modality, error, document_id=job.id, source=job.source, timings=timings
            )
        timings.add("admission", elapsed_ms(start))
        with reservation:
            return await self._download_and_predict(job, modality, timings)

    def _blob_cost(self, job: Job, modality: Modality) -> Cost:
        """The cost of the job's blob version, from its size as storage states it (not
        as the message does) and its first bytes, in one ranged read; a version that is
        not there any more raises :class:`ConditionFailedError`."""
        wanted = self.engine.header_bytes(modality)
        info, head = self.blobs.read_head(job.container, job.blob, max(1, wanted))
        if info.etag != job.etag:
            raise ConditionFailedError(f"blob {job.container}/{job.blob} was replaced")
        return self.engine.cost(modality, info.size, head[:wanted])

    async def _download_and_predict(
        self, job: Job, modality: Modality, timings: Timings
    ) -> dict[str, Any] | None:
        start = time.perf_counter()
        try:
            data = await in_storage(self.blobs.download, job.container, job.blob, if_match=job.etag)
        except (NotFoundError, ConditionFailedError):
            logger.info("job %s: blob %s/%s version gone", job.id, job.container, job.blob)
            return None
        timings.add("download", elapsed_ms(start))
        # Hashing a large file and loading a model on first use block: not on the loop.
        fingerprint = await asyncio.to_thread(self.predictor.fingerprint, modality, data)
        prediction = await self.predictor.predict(modality, data, fingerprint)
        return await self.recorder.prediction(
            modality, prediction, fingerprint, document_id=job.id, source=job.source,
            timings=timings,
        )  # fmt: skip
