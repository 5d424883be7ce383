"""Reading Event Grid dead-letter blobs: canonical payloads, then hostile ones.

The canonical events follow the shape Microsoft documents for a dead-lettered
BlobCreated event in the Event Grid schema ("Event Grid message delivery and retry",
https://learn.microsoft.com/azure/event-grid/delivery-and-retry): the storage event
(`id`, `eventTime`, `eventType`, `subject`, `data` with `api`, `url`, …) plus
`deadLetterReason`, `deliveryAttempts`, `lastDeliveryOutcome`, `publishTime` and
`lastDeliveryAttemptTime`; a blob holds a JSON array of one or more of them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prism.errors import TransientError
from prism.storage import BlobInfo, BlobStore
from prism.storage.blob_events import (
    BLOB_CREATED,
    MAX_EVENTS_BYTES,
    BlobEventsFormatError,
    parse_blob_events,
)
from prism_tools.deadletter import replay_dead_letters

INCOMING = {"incoming"}


def blob_created(name: str, container: str = "incoming", **changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": f"id-{name}",
        "eventTime": "2026-11-29T17:18:13.1647262Z",
        "eventType": BLOB_CREATED,
        "dataVersion": "",
        "metadataVersion": "1",
        "topic": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-prism"
        "/providers/Microsoft.Storage/storageAccounts/stprismexample",
        "subject": f"/blobServices/default/containers/{container}/blobs/{name}",
        "data": {
            "api": "PutBlockList",
            "clientRequestId": "6d79dbfb-0e37-4fc4-981f-442c9ca89bd2",
            "requestId": "831e1650-001e-001b-66ab-eeb76e000000",
            "eTag": "0x8D4BCC2E4835CD0",
            "contentType": "image/jpeg",
            "contentLength": 524288,
            "blobType": "BlockBlob",
            "url": f"https://stprismexample.blob.core.windows.net/{container}/{name}",
            "sequencer": "00000000000004420000000000028963",
            "storageDiagnostics": {"batchId": "b68529f3-68cd-4744-baa4-3c0498ec19f0"},
        },
        "deadLetterReason": "MaxDeliveryAttemptsExceeded",
        "deliveryAttempts": 30,
        "lastDeliveryOutcome": "Probation",
        "publishTime": "2026-11-29T17:18:14.0265758Z",
        "lastDeliveryAttemptTime": "2026-11-30T17:18:14.0465788Z",
    }
    event.update(changes)
    return event


def payload(*events: Any) -> bytes:
    return json.dumps(list(events)).encode()


def test_a_canonical_dead_letter_gives_its_blob_and_reason() -> None:
    letters = parse_blob_events(payload(blob_created("photos/cat.jpg")), INCOMING)

    assert [(b.container, b.name, b.event_id, b.reason) for b in letters.blobs] == [
        ("incoming", "photos/cat.jpg", "id-photos/cat.jpg", "MaxDeliveryAttemptsExceeded")
    ]
    assert letters.skipped == []


def test_several_events_keep_their_order_and_a_redelivered_one_counts_once() -> None:
    events = [blob_created("b.txt"), blob_created("a.txt"), blob_created("b.txt", id="again")]

    letters = parse_blob_events(payload(*events), INCOMING)

    assert [blob.name for blob in letters.blobs] == ["b.txt", "a.txt"]


def test_an_undeliverable_400_is_replayed_like_an_expired_one() -> None:
    event = blob_created(
        "x.wav",
        deadLetterReason="UndeliverableDueToClientError",
        lastDeliveryOutcome="BadRequest",
        deliveryAttempts=1,
    )

    [blob] = parse_blob_events(payload(event), INCOMING).blobs

    assert blob.reason == "UndeliverableDueToClientError"


def test_cloudevents_schema_is_read_too() -> None:
    event = {
        "specversion": "1.0",
        "type": BLOB_CREATED,
        "source": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/"
        "storageAccounts/stprismexample",
        "id": "ce-1",
        "subject": "/blobServices/default/containers/incoming/blobs/notes.md",
        "data": {"api": "PutBlob"},
        "deadLetterReason": "TimeToLiveExceeded",
    }

    [blob] = parse_blob_events(payload(event), INCOMING).blobs

    assert (blob.name, blob.event_id) == ("notes.md", "ce-1")


def test_names_with_spaces_unicode_and_dots_inside_segments_pass_unchanged() -> None:
    names = ["my photo (1).jpg", "données/été.txt", "a..b/c.d", "x" * 1024]

    letters = parse_blob_events(payload(*(blob_created(n) for n in names)), INCOMING)

    assert [blob.name for blob in letters.blobs] == names


@pytest.mark.parametrize(
    ("event", "why"),
    [
        ("just a string", "not an event object but str"),
        (None, "not an event object but NoneType"),
        ([blob_created("nested.txt")], "not an event object but list"),
        (blob_created("gone.txt", eventType="Microsoft.Storage.BlobDeleted"), "is not"),
        (blob_created("t.txt", eventType="microsoft.storage.blobcreated"), "is not"),
        (blob_created("t.txt", eventType=None), "event type None"),
        (blob_created("x.txt", container="quarantine"), "'quarantine' is not one routed here"),
        (blob_created("x.txt", subject=None), "subject None does not name a blob"),
        (blob_created("x.txt", subject=42), "subject None does not name a blob"),
        (blob_created("x", subject="/blobServices/default/containers/incoming"), "does not name"),
        (blob_created("x", subject="/blobServices/default/containers/incoming/blobs/"), "name"),
        (blob_created("../quarantine/evil.txt"), "is not a blob name Azure Storage keeps"),
        (blob_created("a/./b.txt"), "is not a blob name Azure Storage keeps"),
        (blob_created("a//b.txt"), "is not a blob name Azure Storage keeps"),
        (blob_created("/leading.txt"), "is not a blob name Azure Storage keeps"),
        (blob_created("line\nbreak.txt"), "is not a blob name Azure Storage keeps"),
        (blob_created("nul\x00.txt"), "is not a blob name Azure Storage keeps"),
        (blob_created("x" * 1025), "is not a blob name Azure Storage keeps"),
    ],
)
def test_anything_but_a_blob_created_event_for_a_storable_incoming_blob_is_skipped(
    event: Any, why: str
) -> None:
    letters = parse_blob_events(payload(blob_created("ok.txt"), event), INCOMING)

    assert [blob.name for blob in letters.blobs] == ["ok.txt"]
    [skipped] = letters.skipped
    assert why in skipped.why


def test_the_event_id_of_a_skipped_event_is_kept_for_the_operator() -> None:
    letters = parse_blob_events(payload(blob_created("q", container="quarantine")), INCOMING)

    assert [s.event_id for s in letters.skipped] == ["id-q"]


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"", "not JSON"),
        (b"\xff\xfe[]", "not JSON"),
        (b'[{"eventType": ', "not JSON"),
        (json.dumps(blob_created("single.txt")).encode(), "a JSON dict, not an array"),
        (b'"text"', "a JSON str, not an array"),
        (b"[" * 100_000 + b"]" * 100_000, "not JSON"),
        (b" " * (MAX_EVENTS_BYTES + 1), "larger than any array of events"),
    ],
)
def test_a_blob_that_is_not_an_array_of_events_is_unreadable(raw: bytes, why: str) -> None:
    with pytest.raises(BlobEventsFormatError, match=why):
        parse_blob_events(raw, INCOMING)


def test_an_empty_array_holds_nothing() -> None:
    letters = parse_blob_events(b"[]", INCOMING)

    assert (letters.blobs, letters.skipped) == ([], [])


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["id", "eventType", "type", "subject", "data", "x"]),
            children,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@given(st.one_of(st.binary(max_size=200), _JSON.map(lambda v: json.dumps(v).encode())))
def test_any_payload_gives_storable_incoming_blobs_or_a_format_error(raw: bytes) -> None:
    try:
        letters = parse_blob_events(raw, INCOMING)
    except BlobEventsFormatError:
        return
    for blob in letters.blobs:
        assert blob.container == "incoming"
        assert blob.name
        assert ".." not in blob.name.split("/")


class DeadLetterStore:
    """The dead-letter container in memory: name → payload (list, download, delete)."""

    def __init__(self, blobs: dict[str, bytes]) -> None:
        self.blobs = blobs

    def list(self, container: str, prefix: str | None = None) -> Iterator[BlobInfo]:
        for name, data in list(self.blobs.items()):
            yield BlobInfo(container, name, f'"{name}"', len(data), None, datetime.now(UTC))

    def download(self, container: str, name: str, *, if_match: str | None = None) -> bytes:
        return self.blobs[name]

    def delete(self, container: str, name: str, *, if_match: str | None = None) -> bool:
        return self.blobs.pop(name, None) is not None


def test_a_blob_whose_ingest_fails_keeps_its_dead_letter_and_the_replay_goes_on() -> None:
    store = DeadLetterStore(
        {"sub/1.json": payload(blob_created("a.txt")), "sub/2.json": payload(blob_created("b.txt"))}
    )
    routed: list[str] = []

    def ingest(container: str, name: str) -> None:
        if name == "a.txt":
            raise TransientError("read the head of incoming/a.txt: ServiceRequestError")
        routed.append(name)

    report = replay_dead_letters(cast(BlobStore, store), "deadletter", INCOMING, ingest)

    assert routed == ["b.txt"]
    assert [(f.dead_letter, f.blob and f.blob.name) for f in report.failed] == [
        ("sub/1.json", "a.txt")
    ]
    assert "ServiceRequestError" in report.failed[0].why
    assert report.deleted == ["sub/2.json"]
    assert list(store.blobs) == ["sub/1.json"]  # kept: the next replay retries it
