"""BlobCreated events for the local stack: the stand-in for Event Grid.

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
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from prism.errors import PrismError
from prism.storage.blobs import AzureBlobStore, BlobInfo
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
