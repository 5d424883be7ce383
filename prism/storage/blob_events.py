"""BlobCreated events: published for the local stack (the stand-in for Event Grid), read
strictly wherever they arrive.

On Azure, Event Grid tells the ingest function of every new blob, so its cost grows
with new blobs, not with the container. Azurite has no Event Grid; when the local stack
names a queue for it (``PRISM_LOCAL_BLOB_EVENTS_QUEUE``), every blob Prism writes
through :class:`EventPublishingBlobStore` is announced there as an Event Grid
``Microsoft.Storage.BlobCreated`` event (a JSON array of one, as Event Grid delivers to
a webhook), and the local host reads the queue instead of listing the container.

Publishing comes after the write and never fails it: a lost event only delays the blob
until the host's next reconciliation scan, which lists the container as before.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prism.errors import PrismError
from prism.storage.blobs import AzureBlobStore, BlobInfo, is_storable_blob_name
from prism.storage.queues import MessageQueues
from prism.storage.receipts import RECEIPTS_CONTAINER

logger = logging.getLogger("prism.storage.blob_events")

BLOB_CREATED = "Microsoft.Storage.BlobCreated"
# A blob event's subject names the container and the blob (the name may hold '/').
BLOB_SUBJECT = re.compile(
    r"^/blobServices/default/containers/(?P<container>[^/]+)/blobs/(?P<name>.+)$", re.S
)


def blob_subject(container: str, name: str) -> str:
    return f"/blobServices/default/containers/{container}/blobs/{name}"


def blob_created_event(info: BlobInfo, url: str, api: str) -> dict[str, Any]:
    """The Event Grid schema of a BlobCreated event (the fields a subscriber reads)."""
    return {
        "id": str(uuid.uuid4()),
        "eventType": BLOB_CREATED,
        "subject": blob_subject(info.container, info.name),
        "eventTime": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "dataVersion": "",
        "data": {
            "api": api,
            "eTag": info.etag,
            "contentType": info.content_type,
            "contentLength": info.size,
            "blobType": "BlockBlob",
            "url": url,
        },
    }


class EventPublishingBlobStore(AzureBlobStore):
    """An :class:`AzureBlobStore` that announces each blob it creates on ``queue``."""

    def __init__(self, service: Any, queues: MessageQueues, queue: str) -> None:
        super().__init__(service)
        self.queues = queues
        self.queue = queue
        self._queue_ready = False

    def _publish(self, info: BlobInfo, api: str) -> None:
        # The Functions host's own bookkeeping (receipts, start counts) is no trigger's:
        # on Azure the subscription's subject filter drops it; here it is not sent at
        # all, or each file would queue two more events for the host to read and drop.
        if info.container == RECEIPTS_CONTAINER:
            return
        event = blob_created_event(info, self.client(info.container, info.name).url, api)
        try:
            if not self._queue_ready:
                self.queues.ensure_queue(self.queue)
                self._queue_ready = True
            self.queues.send(self.queue, json.dumps([event]).encode())
        except PrismError as error:
            logger.warning("BlobCreated event for %s/%s not published (the host's "
                           "reconciliation scan will find the blob): %s",
                           info.container, info.name, error)  # fmt: skip

    def upload(
        self,
        container: str,
        name: str,
        data: bytes,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        overwrite: bool = True,
    ) -> BlobInfo:
        info = super().upload(
            container, name, data, content_type=content_type, metadata=metadata,
            overwrite=overwrite,
        )  # fmt: skip
        self._publish(info, "PutBlob")
        return info

    def copy(
        self,
        container: str,
        name: str,
        target_container: str,
        target_name: str | None = None,
        *,
        if_match: str | None = None,
    ) -> BlobInfo:
        info = super().copy(container, name, target_container, target_name, if_match=if_match)
        self._publish(info, "CopyBlob")
        return info


# Reading them: the same strict parse serves the local host (an event queue message) and
# the dead-letter replay (a dead-letter blob: the same array, each event with
# ``deadLetterReason`` and delivery counts added).

# Event Grid caps one event at 1 MB; an array of them holds a handful. Anything far
# larger is not one and is not read into memory.
MAX_EVENTS_BYTES = 16 * 1024 * 1024


class BlobEventsFormatError(ValueError):
    """A payload that is not a JSON array of events (a dead-letter blob: left where it is)."""


@dataclass(frozen=True)
class EventBlob:
    """A blob a BlobCreated event names (``reason``: why it was dead-lettered, if it was)."""

    container: str
    name: str
    event_id: str | None
    reason: str | None  # Event Grid's deadLetterReason, e.g. MaxDeliveryAttemptsExceeded


@dataclass(frozen=True)
class SkippedEvent:
    event_id: str | None
    why: str


@dataclass(frozen=True)
class BlobEvents:
    """What one array of events holds: the blobs to route, and what was left out."""

    blobs: list[EventBlob]
    skipped: list[SkippedEvent]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _event_blob(event: Any, containers: Collection[str]) -> EventBlob | SkippedEvent:
    if not isinstance(event, dict):
        return SkippedEvent(None, f"not an event object but {type(event).__name__}")
    event_id = _text(event.get("id"))
    # Event Grid schema names the type eventType; CloudEvents 1.0 names it type.
    event_type = _text(event.get("eventType", event.get("type")))
    if event_type != BLOB_CREATED:
        return SkippedEvent(event_id, f"event type {event_type!r} is not {BLOB_CREATED}")
    subject = _text(event.get("subject"))
    match = BLOB_SUBJECT.match(subject or "")
    if match is None:
        return SkippedEvent(event_id, f"subject {subject!r} does not name a blob")
    container, name = match.group("container"), match.group("name")
    if container not in containers:
        return SkippedEvent(event_id, f"container {container!r} is not one routed here")
    if not is_storable_blob_name(name):
        return SkippedEvent(event_id, f"{name[:80]!r} is not a blob name Azure Storage keeps")
    return EventBlob(container, name, event_id, _text(event.get("deadLetterReason")))


def parse_blob_events(payload: bytes, containers: Collection[str]) -> BlobEvents:
    """The blobs of ``containers`` whose BlobCreated events ``payload`` holds, each once
    and in order; every other entry comes back as skipped, with why."""
    if len(payload) > MAX_EVENTS_BYTES:
        raise BlobEventsFormatError(f"{len(payload)} bytes: larger than any array of events")
    try:
        events = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BlobEventsFormatError(f"not JSON: {type(exc).__name__}") from exc
    if not isinstance(events, list):
        raise BlobEventsFormatError(f"a JSON {type(events).__name__}, not an array of events")
    blobs: dict[tuple[str, str], EventBlob] = {}
    skipped: list[SkippedEvent] = []
    for event in events:
        outcome = _event_blob(event, containers)
        if isinstance(outcome, SkippedEvent):
            skipped.append(outcome)
        else:
            # Delivery is at least once: the same blob may be dead-lettered twice.
            blobs.setdefault((outcome.container, outcome.name), outcome)
    return BlobEvents(list(blobs.values()), skipped)
