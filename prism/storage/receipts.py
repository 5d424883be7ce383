"""Blob receipts: the record that a function has run for one version of one blob; and
blob attempts: how often it has been started on one, kept beside the receipts.

The Functions host keeps them as empty blobs in ``azure-webjobs-hosts`` named
``blobreceipts/<host id>/<function>/<etag>/<container>/<blob>``; the local host does the
same (in the ``AzureWebJobsStorage`` account, so they survive restarts). A blob whose
name and etag have a receipt is never run again; an overwritten blob has a new etag and
runs again — as an Event Grid ``BlobCreated`` event would make it.
"""

from __future__ import annotations

from collections.abc import Iterable

from prism.storage.blobs import BlobInfo, BlobStore
from prism.storage.errors import NotFoundError

RECEIPTS_CONTAINER = "azure-webjobs-hosts"
HOST_ID = "prism-devhost"


RECEIPTS = "blobreceipts"
ATTEMPTS = "blobattempts"


def _prefix(function: str, kind: str = RECEIPTS) -> str:
    return f"{kind}/{HOST_ID}/{function}/"


def receipt_name(function: str, container: str, blob: str, etag: str, kind: str = RECEIPTS) -> str:
    """Where a receipt (or, of ``kind`` ATTEMPTS, an attempt count) of one blob version
    is kept."""
    return f"{_prefix(function, kind)}{etag.strip(chr(34))}/{container}/{blob}"


def parse_receipt(function: str, name: str) -> tuple[str, str, str] | None:
    """(etag, container, blob) of a receipt name, or None if it is not this function's."""
    prefix = _prefix(function)
    if not name.startswith(prefix):
        return None
    parts = name[len(prefix) :].split("/", 2)
    if len(parts) != 3 or not all(parts):
        return None
    etag, container, blob = parts
    return etag, container, blob


def unreceipted(
    blobs: Iterable[BlobInfo], receipts: Iterable[str], function: str
) -> list[BlobInfo]:
    """The blobs (name + etag) that ``function`` has no receipt for, oldest first."""
    done = {parsed for name in receipts if (parsed := parse_receipt(function, name))}
    return sorted(
        (b for b in blobs if (b.etag.strip('"'), b.container, b.name) not in done),
        key=lambda b: (b.last_modified, b.name),
    )


def forget_every_receipt(store: BlobStore) -> int:
    """Delete every receipt and attempt count of the local host: each blob still in its
    containers then runs again (how a stack whose results were lost gets them back).
    Returns how many receipts there were."""
    if not store.container_exists(RECEIPTS_CONTAINER):
        return 0
    receipts = 0
    for kind in (RECEIPTS, ATTEMPTS):
        for blob in list(store.list(RECEIPTS_CONTAINER, f"{kind}/{HOST_ID}/")):
            store.delete(RECEIPTS_CONTAINER, blob.name)
            receipts += kind == RECEIPTS
    return receipts


class _HostBlobs:
    """Small blobs the host keeps in the receipts container, created on first use."""

    def __init__(self, store: BlobStore) -> None:
        self.store = store
        self._ready = False

    def _ensure(self) -> None:
        if not self._ready:
            self.store.ensure_container(RECEIPTS_CONTAINER)
            self._ready = True


class BlobReceipts(_HostBlobs):
    def names(self, function: str) -> list[str]:
        self._ensure()
        return [b.name for b in self.store.list(RECEIPTS_CONTAINER, prefix=_prefix(function))]

    def has(self, function: str, blob: BlobInfo) -> bool:
        """Whether ``function`` has a receipt for this blob version (one HEAD request)."""
        self._ensure()
        name = receipt_name(function, blob.container, blob.name, blob.etag)
        try:
            self.store.properties(RECEIPTS_CONTAINER, name)
        except NotFoundError:
            return False
        return True

    def write(self, function: str, blob: BlobInfo) -> None:
        self._ensure()
        self.store.upload(
            RECEIPTS_CONTAINER, receipt_name(function, blob.container, blob.name, blob.etag), b""
        )


class BlobAttempts(_HostBlobs):
    """How many times a function has been started on one blob version, in storage: a
    run that crashes the host still counts, so a blob that always crashes it reaches
    ``maxDequeueCount`` and is poisoned instead of crashing every restart."""

    @staticmethod
    def _name(function: str, blob: BlobInfo) -> str:
        return receipt_name(function, blob.container, blob.name, blob.etag, ATTEMPTS)

    def start(self, function: str, blob: BlobInfo) -> int:
        """Count one more start on ``blob`` before it runs; the count, from 1."""
        self._ensure()
        name = self._name(function, blob)
        try:
            count = int(self.store.download(RECEIPTS_CONTAINER, name) or b"0") + 1
        except NotFoundError:
            count = 1
        self.store.upload(RECEIPTS_CONTAINER, name, str(count).encode())
        return count

    def forget(self, function: str, blob: BlobInfo) -> None:
        """Drop the count once the blob has its receipt."""
        self.store.delete(RECEIPTS_CONTAINER, self._name(function, blob))
