from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest

from prism.storage import BlobInfo, BlobStore
from prism.storage.errors import NotFoundError
from prism.storage.receipts import (
    RECEIPTS_CONTAINER,
    BlobReceipts,
    forget_every_receipt,
    parse_receipt,
    receipt_name,
    unreceipted,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def blob(name: str, etag: str, age: int = 0) -> BlobInfo:
    return BlobInfo("incoming", name, etag, 1, None, T0 + timedelta(seconds=age))


def test_receipt_names_round_trip_blob_names_with_slashes_and_quoted_etags() -> None:
    name = receipt_name("ingest", "incoming", "a/b/c.jpg", '"0x8D1"')

    assert name == "blobreceipts/prism-devhost/ingest/0x8D1/incoming/a/b/c.jpg"
    assert parse_receipt("ingest", name) == ("0x8D1", "incoming", "a/b/c.jpg")


def test_receipts_of_another_function_are_not_this_ones() -> None:
    name = receipt_name("other", "incoming", "x", '"1"')
    assert parse_receipt("ingest", name) is None


def test_only_blob_versions_without_a_receipt_are_pending_oldest_first() -> None:
    done = blob("done.jpg", '"1"')
    rewritten = blob("done.jpg", '"2"', age=5)  # same name, new etag: runs again
    new = blob("new.jpg", '"1"', age=1)
    receipts = [receipt_name("ingest", "incoming", "done.jpg", '"1"')]

    assert unreceipted([rewritten, done, new], receipts, "ingest") == [new, rewritten]


def test_the_same_blob_is_pending_for_each_function_separately() -> None:
    b = blob("x", '"1"')
    receipts = [receipt_name("first", "incoming", "x", '"1"')]

    assert unreceipted([b], receipts, "first") == []
    assert unreceipted([b], receipts, "second") == [b]


class MemoryBlobs:
    """The calls receipts make of blob storage, in memory, with the service's meaning:
    an upload replaces the blob, a missing blob is NotFoundError, ``list`` filters by
    name prefix. Counts how often the receipts container was ensured."""

    def __init__(self) -> None:
        self.blobs: dict[tuple[str, str], bytes] = {}
        self.containers: set[str] = set()
        self.ensured = 0

    def ensure_container(self, container: str) -> None:
        self.ensured += 1
        self.containers.add(container)

    def container_exists(self, container: str) -> bool:
        return container in self.containers

    def upload(self, container: str, name: str, data: bytes, **_: object) -> BlobInfo:
        assert container in self.containers, "upload into a container never created"
        self.blobs[container, name] = data
        return self.properties(container, name)

    def properties(self, container: str, name: str) -> BlobInfo:
        if (container, name) not in self.blobs:
            raise NotFoundError(f"{container}/{name}")
        return BlobInfo(container, name, '"e"', len(self.blobs[container, name]), None, T0)

    def download(self, container: str, name: str, **_: object) -> bytes:
        self.properties(container, name)
        return self.blobs[container, name]

    def delete(self, container: str, name: str, **_: object) -> bool:
        self.properties(container, name)
        del self.blobs[container, name]
        return True

    def list(self, container: str, prefix: str | None = None) -> Iterator[BlobInfo]:
        for held, name in sorted(self.blobs):
            if held == container and name.startswith(prefix or ""):
                yield self.properties(container, name)


def receipts_in_memory() -> tuple[BlobReceipts, MemoryBlobs]:
    store = MemoryBlobs()
    return BlobReceipts(cast(BlobStore, store)), store


def test_a_blob_counts_its_starts_until_it_completes_and_then_never_runs_again() -> None:
    receipts, _ = receipts_in_memory()
    photo = blob("a.jpg", '"1"')
    assert not receipts.has("ingest", photo)
    assert [receipts.start("ingest", photo) for _ in range(3)] == [1, 2, 3]
    assert not receipts.has("ingest", photo)  # started, not done: runs again
    assert receipts.names("ingest") == []
    receipts.complete("ingest", photo)
    assert receipts.has("ingest", photo)
    assert receipts.names("ingest") == [receipt_name("ingest", "incoming", "a.jpg", '"1"')]


def test_a_completed_receipt_is_one_blob_versions_and_one_functions() -> None:
    receipts, _ = receipts_in_memory()
    receipts.complete("ingest", blob("a.jpg", '"1"'))
    assert not receipts.has("ingest", blob("a.jpg", '"2"'))  # overwritten: runs again
    assert not receipts.has("other", blob("a.jpg", '"1"'))
    assert receipts.names("other") == []


def test_a_receipt_holding_anything_but_a_count_starts_again_from_one() -> None:
    receipts, store = receipts_in_memory()
    photo = blob("a.jpg", '"1"')
    receipts.start("ingest", photo)
    name = receipt_name("ingest", "incoming", "a.jpg", '"1"')
    store.blobs[RECEIPTS_CONTAINER, name] = b"not a count"
    assert receipts.start("ingest", photo) == 1
    assert store.blobs[RECEIPTS_CONTAINER, name] == b"1"


def test_the_receipts_container_is_created_once_on_first_use() -> None:
    receipts, store = receipts_in_memory()
    photo = blob("a.jpg", '"1"')
    receipts.has("ingest", photo)
    receipts.start("ingest", photo)
    receipts.complete("ingest", photo)
    receipts.names("ingest")
    assert store.ensured == 1 and RECEIPTS_CONTAINER in store.containers


def test_forgetting_every_receipt_deletes_this_hosts_and_counts_the_complete_ones() -> None:
    receipts, store = receipts_in_memory()
    assert forget_every_receipt(cast(BlobStore, store)) == 0  # no container yet
    for name, done in (("a.jpg", True), ("b.jpg", True), ("c.jpg", False)):
        receipts.start("ingest", blob(name, '"1"'))
        if done:
            receipts.complete("ingest", blob(name, '"1"'))
    theirs = "blobreceipts/another-host/ingest/1/incoming/a.jpg"
    store.blobs[RECEIPTS_CONTAINER, theirs] = b""
    assert forget_every_receipt(cast(BlobStore, store)) == 2
    assert list(store.blobs) == [(RECEIPTS_CONTAINER, theirs)]
    assert not receipts.has("ingest", blob("a.jpg", '"1"'))


@pytest.mark.parametrize(
    "name",
    [
        "blobreceipts/prism-devhost/ingest/0x1/incoming",
        "blobreceipts/prism-devhost/ingest//incoming/a.jpg",
        "blobreceipts/prism-devhost/ingest/0x1//a.jpg",
        "blobreceipts/prism-devhost/ingest/0x1/incoming/",
        "blobreceipts/other-host/ingest/0x1/incoming/a.jpg",
    ],
)
def test_a_name_that_is_not_a_whole_receipt_of_this_host_is_none(name: str) -> None:
    assert parse_receipt("ingest", name) is None


def test_pending_blobs_of_the_same_age_come_in_name_order() -> None:
    b, a = blob("b.jpg", '"1"'), blob("a.jpg", '"1"')
    assert unreceipted([b, a], [], "ingest") == [a, b]
