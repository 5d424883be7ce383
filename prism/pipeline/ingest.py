"""Ingest: the blob-triggered router. A new blob is routed by what it is, read from its
properties and a few kilobytes, never downloaded: a job goes on its modality's queue, or
the blob is rejected (its result recorded, the blob moved to quarantine)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from prism import telemetry
from prism.errors import ErrorCode, PermanentError
from prism.inference.engine import Engine
from prism.jobs import Job
from prism.modality import UNROUTED
from prism.pipeline.quarantine import Quarantine
from prism.pipeline.record import Recorder
from prism.results import Source, Timings, blob_result_id, elapsed_ms
from prism.routing import HEAD_BYTES, TAIL_BYTES, Route
from prism.settings import Settings
from prism.storage import BlobInfo, BlobStore, ConditionFailedError, MessageQueues, NotFoundError

logger = logging.getLogger("prism.pipeline")

# The lifecycle policy tiers only blobs carrying this tag: below ~0.5 MiB the 128 KiB
# minimum billable size and the tier-change operations cost more than cool storage
# saves (see lifecycle_policies/README.md), so ingest tags only large inputs.
TIERING_TAG = ("prism-tiering", "on")
TIERING_MIN_BYTES = 1024 * 1024


@dataclass(frozen=True)
class IngestOutcome:
    """What ingest did with one blob: queued it, rejected it, or found it gone."""

    action: str  # "queued" | "rejected" | "gone"
    document_id: str | None = None
    modality: str | None = None
    error: PermanentError | None = None
    route_ms: float | None = None  # properties, head (and tail) reads and routing


class Ingest:
    def __init__(
        self,
        settings: Settings,
        *,
        blobs: BlobStore,
        queues: MessageQueues,
        engine: Engine,
        recorder: Recorder,
        quarantine: Quarantine,
    ) -> None:
        self.settings = settings
        self.blobs = blobs
        self.queues = queues
        self.engine = engine
        self.recorder = recorder
        self.quarantine = quarantine

    def __call__(self, container: str, name: str) -> IngestOutcome:
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
        try:
            route = self._route(container, name, info, head)
        except (NotFoundError, ConditionFailedError):
            # Deleted or replaced while being routed: a storage condition, not a verdict
            # on the file. A newer version has an event of its own.
            logger.info("blob %s/%s changed while routing; nothing to ingest", container, name)
            return IngestOutcome("gone")
        except PermanentError as error:
            timings = Timings()
            timings.add("route", elapsed_ms(start))
            self._reject(document_id, source, error, timings)
            return IngestOutcome("rejected", document_id, UNROUTED, error)
        route_ms = elapsed_ms(start)
        self._enqueue(
            route, container=container, name=name, info=info, document_id=document_id,
            route_ms=route_ms,
        )  # fmt: skip
        telemetry.record_routed(route.modality.value, route.detected_by, elapsed_ms(start))
        return IngestOutcome("queued", document_id, route.modality.value, route_ms=route_ms)

    def _route(self, container: str, name: str, info: BlobInfo, head: bytes) -> Route:
        """The modality of this blob version, from its head (and its tail only if the
        magic bytes do not decide); a large one is tagged for tiering."""
        if info.size == 0:
            raise PermanentError(ErrorCode.EMPTY, "the file is empty")
        route = self.engine.route(
            head,
            size=info.size,
            name=name,
            declared_type=info.content_type,
            tail=self._tail_reader(container, name, info),
        )
        if info.size >= TIERING_MIN_BYTES:
            # On the version routed only: a newer upload is tiered by its own routing.
            self.blobs.set_tags(container, name, dict([TIERING_TAG]), if_match=info.etag)
        return route

    def _tail_reader(self, container: str, name: str, info: BlobInfo) -> Callable[[], bytes]:
        def tail() -> bytes:  # read only if the magic bytes do not decide
            if info.size <= HEAD_BYTES:
                return b""  # the head is the whole file
            return self.blobs.read_range(
                container, name, info.size - TAIL_BYTES, TAIL_BYTES, if_match=info.etag
            )

        return tail

    def _enqueue(
        self, route: Route, *, container: str, name: str, info: BlobInfo, document_id: str,
        route_ms: float,
    ) -> None:  # fmt: skip
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
        logger.info(
            "queued %s/%s as %s (%s by %s)",
            container,
            name,
            route.modality,
            route.media_type,
            route.detected_by,
            extra={"blob": name, "result_id": document_id},
        )

    def _reject(
        self, document_id: str, source: Source, error: PermanentError, timings: Timings
    ) -> None:
        """Record the rejection first, then quarantine: a crash in between is repaired
        by the redelivery, which writes the same document and moves the blob again."""
        self.recorder.unrouted(document_id, source, error, timings=timings)
        self.quarantine.move(source, error)
        telemetry.record_rejected(UNROUTED, error.code.value)
