from __future__ import annotations

from dataclasses import replace

import pytest

from prism.storage import (
    AzureBlobStore,
    ConditionFailedError,
    NotFoundError,
    StorageConnection,
    message_queues,
)
from prism.storage.blob_events import parse_blob_events
from prism.storage.blobs import MAX_TAGS_PER_BLOB
from prism.storage.clients import blob_store
from prism.storage.receipts import RECEIPTS_CONTAINER, BlobReceipts, receipt_name

pytestmark = pytest.mark.integration


@pytest.fixture
def store(storage_connection: StorageConnection) -> AzureBlobStore:
    return blob_store(storage_connection)


@pytest.fixture
def container(store: AzureBlobStore, unique_name: str) -> str:
    store.ensure_container(unique_name)
    return unique_name


def test_upload_then_properties_report_size_type_etag_and_metadata(
    store: AzureBlobStore, container: str
) -> None:
    uploaded = store.upload(
        container, "a/cat.jpg", b"\xff\xd8\xffdata", content_type="image/jpeg", metadata={"k": "v"}
    )

    info = store.properties(container, "a/cat.jpg")

    assert (info.name, info.size, info.content_type) == ("a/cat.jpg", 7, "image/jpeg")
    assert info.etag == uploaded.etag
    assert info.metadata == {"k": "v"}


def test_ensure_container_twice_is_fine(store: AzureBlobStore, container: str) -> None:
    store.ensure_container(container)


def test_read_range_returns_only_the_range_and_is_empty_past_the_end(
    store: AzureBlobStore, container: str
) -> None:
    store.upload(container, "b", b"0123456789")

    assert store.read_range(container, "b", 0, 4) == b"0123"
    assert store.read_range(container, "b", 8, 100) == b"89"
    assert store.read_range(container, "b", 10, 4) == b""


def test_read_head_gives_the_whole_blobs_properties_and_only_its_first_bytes(
    store: AzureBlobStore, container: str
) -> None:
    uploaded = store.upload(container, "big.bin", bytes(range(256)) * 64, content_type="x/y")
    info, head = store.read_head(container, "big.bin", 100)
    assert head == bytes(range(100))
    assert (info.size, info.etag, info.content_type) == (16384, uploaded.etag, "x/y")


def test_read_head_of_an_empty_blob_is_empty_with_its_properties(
    store: AzureBlobStore, container: str
) -> None:
    store.upload(container, "empty.bin", b"")
    info, head = store.read_head(container, "empty.bin", 100)
    assert (info.size, head) == (0, b"")


def test_read_head_of_a_missing_blob_is_not_found(store: AzureBlobStore, container: str) -> None:
    with pytest.raises(NotFoundError):
        store.read_head(container, "nothing-here", 100)


def test_download_of_a_replaced_blob_with_its_old_etag_fails(
    store: AzureBlobStore, container: str
) -> None:
    old = store.upload(container, "b", b"old")
    store.upload(container, "b", b"new")

    assert store.download(container, "b") == b"new"
    with pytest.raises(ConditionFailedError):
        store.download(container, "b", if_match=old.etag)


def test_missing_blob_is_a_not_found_error(store: AzureBlobStore, container: str) -> None:
    with pytest.raises(NotFoundError):
        store.properties(container, "nope")


def test_tags_round_trip(store: AzureBlobStore, container: str) -> None:
    store.upload(container, "b", b"x")
    store.set_tags(container, "b", {"prism-status": "quarantined", "code": "corrupt"})
    assert store.tags(container, "b") == {"prism-status": "quarantined", "code": "corrupt"}


def test_setting_a_tag_keeps_the_tags_the_client_put_on_its_blob(
    store: AzureBlobStore, container: str
) -> None:
    store.upload(container, "b", b"x")
    store.client(container, "b").set_blob_tags({"owner": "alice", "project": "p-7"})

    store.set_tags(container, "b", {"prism-tiering": "on"})

    assert store.tags(container, "b") == {
        "owner": "alice", "project": "p-7", "prism-tiering": "on"
    }  # fmt: skip


def test_a_tag_already_there_takes_the_new_value_and_the_others_stay(
    store: AzureBlobStore, container: str
) -> None:
    uploaded = store.upload(container, "b", b"x")
    store.client(container, "b").set_blob_tags({"owner": "alice", "prism-tiering": "off"})

    assert store.set_tags(container, "b", {"prism-tiering": "on"}, if_match=uploaded.etag)

    assert store.tags(container, "b") == {"owner": "alice", "prism-tiering": "on"}


def test_a_blob_with_ten_tags_of_its_own_keeps_them_and_gets_none_more(
    store: AzureBlobStore, container: str
) -> None:
    own = {f"client-{i}": str(i) for i in range(MAX_TAGS_PER_BLOB)}
    store.upload(container, "b", b"x")
    store.client(container, "b").set_blob_tags(own)

    added = store.set_tags(container, "b", {"prism-tiering": "on"})

    assert store.tags(container, "b") == own
    assert added is False


def test_move_copies_into_the_target_container_and_deletes_the_source(
    store: AzureBlobStore, container: str, unique_name: str
) -> None:
    quarantine = f"{unique_name}q"
    store.ensure_container(quarantine)
    uploaded = store.upload(container, "bad.bin", b"\x00junk", content_type="application/x")

    moved = store.move(container, "bad.bin", quarantine, if_match=uploaded.etag)

    assert (moved.container, moved.name, moved.size) == (quarantine, "bad.bin", 5)
    assert store.download(quarantine, "bad.bin") == b"\x00junk"
    assert [b.name for b in store.list(container)] == []


def test_move_of_a_version_that_was_replaced_moves_nothing(
    store: AzureBlobStore, container: str, unique_name: str
) -> None:
    quarantine = f"{unique_name}q"
    store.ensure_container(quarantine)
    old = store.upload(container, "b", b"old")
    store.upload(container, "b", b"new")

    with pytest.raises(ConditionFailedError):
        store.move(container, "b", quarantine, if_match=old.etag)
    assert store.download(container, "b") == b"new"
    assert list(store.list(quarantine)) == []


def test_list_filters_by_prefix_and_delete_reports_existence(
    store: AzureBlobStore, container: str
) -> None:
    for name in ("x/1", "x/2", "y/1"):
        store.upload(container, name, b"d")

    assert sorted(b.name for b in store.list(container, prefix="x/")) == ["x/1", "x/2"]
    assert store.delete(container, "x/1")
    assert not store.delete(container, "x/1")


def test_a_blob_written_through_the_local_stack_is_announced_as_event_grid_would(
    storage_connection: StorageConnection, unique_name: str
) -> None:
    announced = replace(storage_connection, blob_events_queue=f"{unique_name}events")
    store = blob_store(announced)
    store.ensure_container(unique_name)

    uploaded = store.upload(unique_name, "dir/new.txt", b"hello")
    store.copy(unique_name, "dir/new.txt", unique_name, "copy.txt")
    # The Functions host's bookkeeping is no trigger's: never announced.
    store.ensure_container(RECEIPTS_CONTAINER)
    store.upload(RECEIPTS_CONTAINER, f"blobreceipts/{unique_name}", b"")

    queues = message_queues(storage_connection)
    bodies = [m.body() for m in queues.receive(f"{unique_name}events", max_messages=32,
                                               visibility_timeout=30)]  # fmt: skip
    assert len(bodies) == 2  # one event per blob the stack's subscription would deliver
    blobs = [blob for body in bodies for blob in parse_blob_events(body, {unique_name}).blobs]
    assert [(b.container, b.name) for b in blobs] == [
        (unique_name, "dir/new.txt"), (unique_name, "copy.txt")
    ]  # fmt: skip
    assert uploaded.etag  # the write itself is unchanged


# The local host's blob receipts; a test's container name is also the name of a function
# no other test has receipts for.


def test_a_started_blob_counts_its_starts_and_is_done_only_once_completed(
    store: AzureBlobStore, container: str
) -> None:
    blob, receipts = store.upload(container, "x.txt", b"data"), BlobReceipts(store)

    assert [receipts.start(container, blob) for _ in range(3)] == [1, 2, 3]
    assert not receipts.has(container, blob)
    assert receipts.names(container) == []  # an incomplete receipt leaves the blob pending

    receipts.complete(container, blob)

    assert receipts.has(container, blob)
    assert receipts.names(container) == [receipt_name(container, container, "x.txt", blob.etag)]


def test_a_run_leaves_one_receipt_blob_and_deletes_nothing(
    store: AzureBlobStore, container: str
) -> None:
    blob, receipts = store.upload(container, "x.txt", b"data"), BlobReceipts(store)

    receipts.start(container, blob)
    receipts.complete(container, blob)

    # Of every blob the host keeps (under any prefix), one for this run, complete.
    kept = [r for r in store.list(RECEIPTS_CONTAINER) if f"/{container}/" in r.name]
    assert [(r.name, r.size) for r in kept] == [
        (receipt_name(container, container, "x.txt", blob.etag), 0)
    ]


def test_a_receipt_holding_something_other_than_a_count_starts_again_from_one(
    store: AzureBlobStore, container: str
) -> None:
    blob, receipts = store.upload(container, "x.txt", b"data"), BlobReceipts(store)
    name = receipt_name(container, container, "x.txt", blob.etag)
    store.upload(RECEIPTS_CONTAINER, name, b"\xff-2")

    assert [receipts.start(container, blob) for _ in range(2)] == [1, 2]
