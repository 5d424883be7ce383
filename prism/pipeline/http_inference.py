"""HTTP inference: the synchronous path. Bytes posted over HTTP are routed (or taken as
the modality the caller names), answered from an earlier result of the same content and
model when there is one, and otherwise predicted and recorded as a queued file is."""

from __future__ import annotations

import asyncio
import time
from functools import partial
from typing import Any

from prism.budget import MemoryBudget
from prism.errors import ErrorCode, PermanentError
from prism.inference.engine import Engine
from prism.modality import Modality
from prism.pipeline.predict import Predictor
from prism.pipeline.record import Recorder, stored_error
from prism.results import Source, Timings, content_result_id, elapsed_ms, read_result
from prism.routing import HEAD_BYTES, TAIL_BYTES
from prism.storage import DocumentContainer
from prism.threads import in_storage


class HttpInference:
    def __init__(
        self,
        *,
        results: DocumentContainer,
        engine: Engine,
        budget: MemoryBudget,
        predictor: Predictor,
        recorder: Recorder,
    ) -> None:
        self.results = results
        self.engine = engine
        self.budget = budget
        self.predictor = predictor
        self.recorder = recorder

    async def __call__(
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
        timings.add("route", elapsed_ms(start))
        fingerprint = await asyncio.to_thread(self.predictor.fingerprint, modality, data)
        document_id = content_result_id(
            fingerprint.content_sha256, modality.value, fingerprint.model
        )
        document = await in_storage(read_result, self.results, document_id)
        if document is None:
            head = data[: self.engine.header_bytes(modality)]
            cost = await asyncio.to_thread(self.engine.cost, modality, len(data), head)
            # A caller can come back: refused at once (503, Retry-After) when the budget
            # is spent, rather than holding its connection and its body while it waits.
            with self.budget.try_reserve(cost):
                prediction = await self.predictor.predict(modality, data, fingerprint)
                document = await self.recorder.prediction(
                    modality, prediction, fingerprint, document_id=document_id,
                    source=Source(kind="http", name=name, size=len(data)), timings=timings,
                )  # fmt: skip
        if document["error"]:
            raise stored_error(document["error"])
        return document
