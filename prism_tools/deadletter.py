"""Event Grid dead letters: blob events Event Grid gave up delivering, routed again.

When the ingest function cannot take a BlobCreated event (app down, key rotated) Event
Grid retries for up to 30 attempts or 24 hours, then — at once for a 400, 401, 403 or
413 — writes the event into the subscription's dead-letter container. Each dead-letter
blob is named ``<SUBSCRIPTION NAME>/<year>/<month>/<day>/<hour>/<guid>.json`` and holds a
JSON array of one or more events in the subscription's schema, each with
``deadLetterReason``, ``deliveryAttempts``, ``lastDeliveryOutcome``, ``publishTime`` and
``lastDeliveryAttemptTime`` added (Microsoft: "Set dead-letter location and retry
policy", https://learn.microsoft.com/azure/event-grid/manage-event-delivery, and
"Event Grid message delivery and retry",
https://learn.microsoft.com/azure/event-grid/delivery-and-retry).

:func:`parse_blob_events` reads one such blob strictly: whatever is not a BlobCreated
event for a blob of the containers asked for is skipped with its reason, never guessed
at. :func:`replay_dead_letters` hands each blob to the pipeline's ingest — idempotent,
so a replay that stops half-way can simply run again — and deletes a dead-letter blob
only once every event in it was routed. A blob that cannot be read or routed now (a
storage fault) is reported and kept; the replay goes on with the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from prism.errors import StorageError, TransientError
from prism.storage import BlobStore, NotFoundError
from prism.storage.blob_events import (
    MAX_EVENTS_BYTES,
    BlobEventsFormatError,
    EventBlob,
    SkippedEvent,
    parse_blob_events,
)


@dataclass(frozen=True)
class FailedReplay:
    """What could not be done now (a storage fault): the dead-letter blob stays, and
    running the replay again retries it. ``blob`` is None when the dead-letter blob
    itself could not be read or deleted."""

    dead_letter: str
    blob: EventBlob | None
    why: str


@dataclass
class ReplayReport:
    """What a replay did, per dead-letter blob."""

    routed: list[EventBlob] = field(default_factory=list)
    skipped: dict[str, list[SkippedEvent]] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)
    failed: list[FailedReplay] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def replay_dead_letters(
    store: BlobStore,
    dead_letter_container: str,
    containers: Collection[str],
    ingest: Callable[[str, str], object],
    *,
    delete: bool = True,
) -> ReplayReport:
    """Route every dead-lettered blob of ``containers`` through ``ingest(container,
    name)`` (the pipeline's), then delete each dead-letter blob all of whose events were
    routed — only the version that was read. A dead-letter blob with skipped events or
    in no readable form stays, for an operator to look at. A storage fault on one blob
    (reading it, routing one of its events, deleting it) is reported and the replay
    goes on; that dead-letter blob stays, so running the replay again retries it."""
    report = ReplayReport()
    for info in store.list(dead_letter_container):
        if info.size > MAX_EVENTS_BYTES:
            report.unreadable[info.name] = f"{info.size} bytes: larger than any dead letter"
            continue
        try:
            payload = store.download(dead_letter_container, info.name, if_match=info.etag)
        except NotFoundError:
            continue  # replayed and deleted by a concurrent run
        except (TransientError, StorageError) as error:  # changed since listed, or a fault
            report.failed.append(FailedReplay(info.name, None, f"not read: {error}"))
            continue
        try:
            letters = parse_blob_events(payload, containers)
        except BlobEventsFormatError as exc:
            report.unreadable[info.name] = str(exc)
            continue
        failed = False
        for blob in letters.blobs:
            try:
                ingest(blob.container, blob.name)
            except (TransientError, StorageError) as error:
                report.failed.append(FailedReplay(info.name, blob, f"not routed: {error}"))
                failed = True
                continue
            report.routed.append(blob)
        if letters.skipped:
            report.skipped[info.name] = letters.skipped
        elif delete and not failed:
            try:
                if store.delete(dead_letter_container, info.name, if_match=info.etag):
                    report.deleted.append(info.name)
            except (TransientError, StorageError) as error:
                report.failed.append(FailedReplay(info.name, None, f"not deleted: {error}"))
    return report
