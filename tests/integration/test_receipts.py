from __future__ import annotations

import pytest

from prism.storage import AzureBlobStore, StorageConnection
from prism.storage.clients import blob_store
from prism.storage.receipts import RECEIPTS_CONTAINER, BlobReceipts, receipt_name

pytestmark = pytest.mark.integration


@pytest.fixture
def store(storage_connection: StorageConnection) -> AzureBlobStore:
    return blob_store(storage_connection)


def test_a_started_blob_counts_its_starts_and_is_done_only_once_completed(
    store: AzureBlobStore, unique_name: str
) -> None:
    store.ensure_container(unique_name)
    blob = store.upload(unique_name, "x.txt", b"data")
    receipts = BlobReceipts(store)
    function = unique_name  # receipts of a function no other test uses

    assert [receipts.start(function, blob) for _ in range(3)] == [1, 2, 3]
    assert not receipts.has(function, blob)
    assert receipts.names(function) == []  # an incomplete receipt leaves the blob pending

    receipts.complete(function, blob)

    assert receipts.has(function, blob)
    assert receipts.names(function) == [receipt_name(function, unique_name, "x.txt", blob.etag)]


def test_a_run_leaves_one_receipt_blob_and_deletes_nothing(
    store: AzureBlobStore, unique_name: str
) -> None:
    store.ensure_container(unique_name)
    blob = store.upload(unique_name, "x.txt", b"data")
    receipts = BlobReceipts(store)

    receipts.start(unique_name, blob)
    receipts.complete(unique_name, blob)

    # Of every blob the host keeps (under any prefix), one for this run, complete.
    kept = [r for r in store.list(RECEIPTS_CONTAINER) if f"/{unique_name}/" in r.name]
    assert [(r.name, r.size) for r in kept] == [
        (receipt_name(unique_name, unique_name, "x.txt", blob.etag), 0)
    ]
