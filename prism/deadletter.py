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

:func:`parse_dead_letters` reads one such blob strictly: whatever is not a BlobCreated
event for a blob of the containers asked for is skipped with its reason, never guessed
at. :func:`replay_dead_letters` hands each blob to the pipeline's ingest — idempotent,
so a replay that stops half-way can simply run again — and deletes a dead-letter blob
only once every event in it was routed. A blob that cannot be read or routed now (a
storage fault) is reported and kept; the replay goes on with the rest.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from prism.errors import StorageError, TransientError
from prism.storage import BlobStore, NotFoundError
from prism.storage.blob_events import BLOB_CREATED, BLOB_SUBJECT
from prism.storage.blobs import is_storable_blob_name

# Event Grid caps one event at 1 MB; a dead-letter blob holds a handful. Anything far
# larger is not a dead letter and is not read into memory.
MAX_DEAD_LETTER_BYTES = 16 * 1024 * 1024


class DeadLetterFormatError(ValueError):
    """A dead-letter blob that is not a JSON array of events: left where it is."""


@dataclass(frozen=True)
class DeadLetteredBlob:
    """A blob whose BlobCreated event was dead-lettered."""

    container: str
    name: str
    event_id: str | None
    reason: str | None  # Event Grid's deadLetterReason, e.g. MaxDeliveryAttemptsExceeded


@dataclass(frozen=True)
class SkippedEvent:
    event_id: str | None
    why: str


@dataclass(frozen=True)
class DeadLetters:
    """What one dead-letter blob holds: blobs to route again, and what was left out."""

    blobs: list[DeadLetteredBlob]
    skipped: list[SkippedEvent]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _event_blob(event: Any, containers: Collection[str]) -> DeadLetteredBlob | SkippedEvent:
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
        return SkippedEvent(event_id, f"container {container!r} is not one replay routes")
    if not is_storable_blob_name(name):
        return SkippedEvent(event_id, f"{name[:80]!r} is not a blob name Azure Storage keeps")
    return DeadLetteredBlob(container, name, event_id, _text(event.get("deadLetterReason")))


def parse_dead_letters(payload: bytes, containers: Collection[str]) -> DeadLetters:
    """The blobs of ``containers`` whose BlobCreated events one dead-letter blob holds,
    each once and in order; every other entry comes back as skipped, with why."""
    if len(payload) > MAX_DEAD_LETTER_BYTES:
        raise DeadLetterFormatError(f"{len(payload)} bytes: larger than any dead letter")
    try:
        events = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise DeadLetterFormatError(f"not JSON: {type(exc).__name__}") from exc
    if not isinstance(events, list):
        raise DeadLetterFormatError(f"a JSON {type(events).__name__}, not an array of events")
    blobs: dict[tuple[str, str], DeadLetteredBlob] = {}
    skipped: list[SkippedEvent] = []
    for event in events:
        outcome = _event_blob(event, containers)
        if isinstance(outcome, SkippedEvent):
            skipped.append(outcome)
        else:
            # Delivery is at least once: the same blob may be dead-lettered twice.
            blobs.setdefault((outcome.container, outcome.name), outcome)
    return DeadLetters(list(blobs.values()), skipped)


@dataclass(frozen=True)
class FailedReplay:
    """What could not be done now (a storage fault): the dead-letter blob stays, and
    running the replay again retries it. ``blob`` is None when the dead-letter blob
    itself could not be read or deleted."""

    dead_letter: str
    blob: DeadLetteredBlob | None
    why: str


@dataclass
class ReplayReport:
    """What a replay did, per dead-letter blob."""

    routed: list[DeadLetteredBlob] = field(default_factory=list)
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
        if info.size > MAX_DEAD_LETTER_BYTES:
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
            letters = parse_dead_letters(payload, containers)
        except DeadLetterFormatError as exc:
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
