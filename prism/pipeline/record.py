"""Record: what became of an input, as its result document, written once.

Every path ends here: a prediction (with its search field, and the shared cache entry
that names it), a rejection decided before the model ran, and a rejection at routing.
Ids are deterministic, so the first write of a document stands and a later delivery
keeps it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

from prism import telemetry
from prism.cache import PredictionCache
from prism.errors import ErrorCode, PermanentError
from prism.inference.engine import Engine
from prism.modality import UNROUTED, Modality
from prism.pipeline.predict import Fingerprint, Prediction
from prism.results import Source, Timings, elapsed_ms, read_result, result_document
from prism.settings import Settings
from prism.storage import DocumentContainer
from prism.threads import in_storage

logger = logging.getLogger("prism.pipeline")


def stored_error(error: Mapping[str, str]) -> PermanentError:
    """The rejection a stored result document holds."""
    return PermanentError(ErrorCode(error["code"]), error["message"])


class Recorder:
    def __init__(
        self,
        settings: Settings,
        *,
        results: DocumentContainer,
        engine: Engine,
        cache: PredictionCache,
    ) -> None:
        self.settings = settings
        self.results = results
        self.engine = engine
        self.cache = cache

    async def prediction(
        self,
        modality: Modality,
        prediction: Prediction,
        fingerprint: Fingerprint,
        *,
        document_id: str,
        source: Source,
        timings: Timings,
    ) -> dict[str, Any]:
        """Write the result of ``prediction`` (a result or the model's rejection), then
        share its cache entry; returns the document that stands."""
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
            content_sha256=fingerprint.content_sha256,
            model=fingerprint.model,
            timings=timings,
            cache="hit" if prediction.cache_hit else "miss",
            search=search,
        )
        write_start = time.perf_counter()
        document = await self._create(document)
        shared = self.settings.uses_shared_cache(modality.value)
        if outcome.result is not None and not prediction.cache_hit and shared:
            # After the result is safe: the shared entry names this document, which
            # holds the payload (stored once), and the shared cache is an optimisation.
            await in_storage(self.cache.share, fingerprint.key, document)
        telemetry.record_processed(
            modality.value,
            document["status"],
            inference_ms=timings.values.get("inference", 0.0),
            write_ms=elapsed_ms(write_start),
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
                "content_sha256": fingerprint.content_sha256,
                "result_id": document_id,
            },
        )
        return document

    async def rejection(
        self,
        modality: Modality,
        error: PermanentError,
        *,
        document_id: str,
        source: Source,
        timings: Timings,
    ) -> dict[str, Any]:
        """Record a rejection decided before the model ran (what the file would cost)."""
        model = await asyncio.to_thread(self.engine.model, modality)  # reads the manifest
        document = result_document(
            document_id=document_id,
            modality=modality.value,
            source=source,
            error=error,
            model=model,
            timings=timings,
        )
        document = await self._create(document)
        telemetry.record_rejected(modality.value, error.code.value)
        return document

    def unrouted(
        self, document_id: str, source: Source, error: PermanentError, *, timings: Timings
    ) -> None:
        """Record a rejection at routing (no modality known). Written over any earlier
        one: a redelivery after a crash before the quarantine writes the same document."""
        document = result_document(
            document_id=document_id, modality=UNROUTED, source=source, error=error, timings=timings
        )
        self.results.upsert(document)

    async def _create(self, document: dict[str, Any]) -> dict[str, Any]:
        """``document`` written, or the one another delivery or worker wrote first."""
        stored = await in_storage(self.results.create, document)
        if stored is not None:
            return document
        logger.info("result %s was written concurrently; keeping it", document["id"])
        theirs = await in_storage(read_result, self.results, document["id"])
        return theirs or document

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
