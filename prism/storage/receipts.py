"""Blob receipts: the record that a function has run for one version of one blob, and
until then how often it has been started on it.

The Functions host keeps receipts as blobs in ``azure-webjobs-hosts`` named
``blobreceipts/<host id>/<function>/<etag>/<container>/<blob>``, created *incomplete*
before the function runs and marked complete after; the local host does the same (in the
``AzureWebJobsStorage`` account, so they survive restarts). An incomplete receipt holds
the number of starts (so a run that kills the host still counts); a complete one is
empty. Completing overwrites the same blob and nothing is ever deleted per run: on
Azurite a delete costs O(blobs in the account) (its next lookup re-sorts the metadata
indexes), which at 20,000 files made the local host slow down as the container filled.
A blob whose name and etag have a complete receipt is never run again; an overwritten
blob has a new etag and runs again — as an Event Grid ``BlobCreated`` event would make it.
"""

from __future__ import annotations

from collections.abc import Iterable

from prism.storage.blobs import BlobInfo, BlobStore
from prism.storage.errors import NotFoundError

RECEIPTS_CONTAINER = "azure-webjobs-hosts"
HOST_ID = "prism-devhost"


RECEIPTS = "blobreceipts"


def _prefix(function: str) -> str:
    return f"{RECEIPTS}/{HOST_ID}/{function}/"


def receipt_name(function: str, container: str, blob: str, etag: str) -> str:
    """Where the receipt of one blob version is kept."""
    return f"{_prefix(function)}{etag.strip(chr(34))}/{container}/{blob}"


def _of(function: str, blob: BlobInfo) -> str:
    return receipt_name(function, blob.container, blob.name, blob.etag)


def _complete(receipt: BlobInfo) -> bool:
    """An incomplete receipt holds its start count; a complete one is empty."""
    return receipt.size == 0


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
    """Delete every receipt of the local host, complete or not: each blob still in its
    containers then runs again (how a stack whose results were lost gets them back).
    Returns how many were complete."""
    if not store.container_exists(RECEIPTS_CONTAINER):
        return 0
    complete = 0
    for receipt in list(store.list(RECEIPTS_CONTAINER, f"{RECEIPTS}/{HOST_ID}/")):
        store.delete(RECEIPTS_CONTAINER, receipt.name)
        complete += _complete(receipt)
    return complete


class BlobReceipts:
    """The local host's receipts, in the receipts container (created on first use)."""

    def __init__(self, store: BlobStore) -> None:
        self.store = store
        self._ready = False

    def _ensure(self) -> None:
        if not self._ready:
            self.store.ensure_container(RECEIPTS_CONTAINER)
            self._ready = True

    def names(self, function: str) -> list[str]:
        """The complete receipts of ``function``."""
        self._ensure()
        listed = self.store.list(RECEIPTS_CONTAINER, prefix=_prefix(function))
        return [receipt.name for receipt in listed if _complete(receipt)]

    def has(self, function: str, blob: BlobInfo) -> bool:
        """Whether ``function`` has a complete receipt for this blob version (one HEAD)."""
        self._ensure()
        try:
            return _complete(self.store.properties(RECEIPTS_CONTAINER, _of(function, blob)))
        except NotFoundError:
            return False

    def start(self, function: str, blob: BlobInfo) -> int:
        """Count one more start on ``blob`` before it runs, in its incomplete receipt: a
        run that crashes the host still counts, so a blob that always crashes it reaches
        ``maxDequeueCount`` and is poisoned instead of crashing every restart. The
        count, from 1."""
        self._ensure()
        name = _of(function, blob)
        try:
            held = self.store.download(RECEIPTS_CONTAINER, name)
        except NotFoundError:
            held = b""
        # Anything but a count (a complete receipt, or bytes someone else wrote) starts
        # again from 1 rather than failing every run of the blob for good.
        count = int(held) + 1 if held.isdigit() else 1
        self.store.upload(RECEIPTS_CONTAINER, name, str(count).encode())
        return count

    def complete(self, function: str, blob: BlobInfo) -> None:
        """Mark ``blob`` done for ``function``: it is never run again."""
        self._ensure()
        self.store.upload(RECEIPTS_CONTAINER, _of(function, blob), b"")
