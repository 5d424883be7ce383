from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prism.storage import BlobInfo
from prism.storage.receipts import parse_receipt, receipt_name, unreceipted

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
