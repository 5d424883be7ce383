"""Poisoned messages, replayed: what ``prism replay-poison`` does.

Two kinds of poison queue hold work that failed too often:

* ``<queue>-poison`` of each modality queue: job messages the Functions host gave up on
  (:func:`replay_job_poison` moves each one that can still succeed back, unchanged);
* ``webjobs-blobtrigger-poison``: the blobs whose trigger the host gave up on
  (:func:`replay_blob_trigger_poison` routes each incoming one again through ingest).

A replay never stops on one message. Each message ends in exactly one of three ways,
and the report says which, and why:

* **replayed** — back on its queue, or routed again;
* **skipped** — it can never succeed here (not a job, refused as unprocessable, not
  JSON, about another container), so it stays in the poison queue for an operator;
* **failed** — it may well succeed, but something around it failed now (storage
  unreachable, the message's lease lost): it stays, and running the replay again
  retries it.

Skipped and failed messages stay leased for the rest of the pass
(:data:`REPLAY_LEASE_SECONDS`), so a pass ends even when the queue holds nothing but
them; they are visible again afterwards. Every step is at least once: a crash between
sending and deleting leaves a duplicate, which the deterministic result ids make
harmless.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from prism.errors import PermanentError, StorageError, TransientError
from prism.storage import (
    BLOB_TRIGGER_POISON_QUEUE,
    MessageQueues,
    ReceivedMessage,
    poison_queue_name,
)
from prism.storage.blobs import is_storable_blob_name

REPLAY_BATCH = 32
# How long a replay pass leases each poisoned message it looks at.
REPLAY_LEASE_SECONDS = 60


@dataclass(frozen=True)
class SkippedMessage:
    """A message that can never succeed: left in its poison queue, with why."""

    queue: str
    message_id: str
    reason: str


@dataclass(frozen=True)
class FailedMessage:
    """A message that could not be replayed now (a storage fault, a lost lease): left in
    its poison queue for the next replay. ``message_id`` is None when a whole queue
    could not be read."""

    queue: str
    message_id: str | None
    reason: str


@dataclass
class ReplayReport:
    """Per poison queue's home queue, how many messages went back (or, for the blob
    trigger's poison queue, how many blobs were routed again); which stayed, and why."""

    replayed: dict[str, int] = field(default_factory=dict)
    skipped: list[SkippedMessage] = field(default_factory=list)
    failed: list[FailedMessage] = field(default_factory=list)

    def merge(self, other: ReplayReport) -> None:
        self.replayed.update(other.replayed)
        self.skipped.extend(other.skipped)
        self.failed.extend(other.failed)

    def summary(self) -> str:
        return (
            f"{sum(self.replayed.values())} replayed, {len(self.skipped)} skipped, "
            f"{len(self.failed)} failed"
        )


def _unseen(queues: MessageQueues, queue: str) -> Iterator[ReceivedMessage]:
    """Every message of ``queue`` once, each leased for the rest of the pass. A message
    seen again (its lease ran out during a long pass) is not handed out twice; a batch
    of nothing but such messages ends the pass."""
    seen: set[str] = set()
    while batch := queues.receive(
        queue, max_messages=REPLAY_BATCH, visibility_timeout=REPLAY_LEASE_SECONDS
    ):
        fresh = [message for message in batch if message.id not in seen]
        if not fresh:
            return
        for message in fresh:
            seen.add(message.id)
            yield message


def _job_skip_reason(message: ReceivedMessage) -> str | None:
    """Why this job message can never succeed, or None if it is a valid job."""
    from prism.jobs import Job, unprocessable_reason

    try:
        body = message.body()
        reason = unprocessable_reason(body)
        if reason is None:
            Job.from_json(body)
    # Not base64, or not a valid job (InvalidJobError: pydantic's parser reports JSON
    # nested too deep or a number out of range as invalid JSON, never raises them).
    except PermanentError as error:
        return error.message
    return reason


def _unparsable(error: RecursionError | ValueError) -> str:
    if isinstance(error, RecursionError):
        return "JSON nested too deep to parse (RecursionError)"
    return f"JSON the parser refuses ({type(error).__name__})"  # e.g. a 5,000-digit number


def replay_job_poison(queues: MessageQueues, modality_queues: Mapping[str, str]) -> ReplayReport:
    """Move every message of each ``<queue>-poison`` (``modality_queues``: modality →
    queue) that can still succeed back to ``<queue>``, unchanged. A message that can
    never succeed — refused as unprocessable, or not a valid job — is skipped with its
    reason, so a replay never loops; one that fails to move is reported and left."""
    report = ReplayReport()
    for queue in modality_queues.values():
        poison = poison_queue_name(queue)
        report.replayed[queue] = 0
        try:
            queues.ensure_queue(poison)
            for message in _unseen(queues, poison):
                reason = _job_skip_reason(message)
                if reason is not None:
                    report.skipped.append(SkippedMessage(poison, message.id, reason))
                    continue
                try:
                    queues.move(message, queue)
                except (TransientError, StorageError) as error:
                    report.failed.append(FailedMessage(poison, message.id, str(error)))
                    continue
                report.replayed[queue] += 1
        except (TransientError, StorageError) as error:  # the queue itself cannot be read
            report.failed.append(FailedMessage(poison, None, str(error)))
    return report


@dataclass(frozen=True)
class _BlobTarget:
    container: str
    name: str


def _blob_target(message: ReceivedMessage, container: str) -> _BlobTarget | str:
    """The incoming blob a blob-trigger poison message names, or why it names none.

    The Functions host writes ``{"Type": "BlobTrigger", "FunctionId": …,
    "BlobType": …, "ContainerName": …, "BlobName": …, "ETag": …}``."""
    try:
        body = message.json()
    except PermanentError as error:  # not base64, or not JSON
        return error.message
    except (RecursionError, ValueError) as error:  # nested too deep, a number too long
        return f"not a readable message: {_unparsable(error)}"
    if not isinstance(body, dict):
        return f"a JSON {type(body).__name__}, not the blob trigger's object"
    named = body.get("ContainerName")
    if named != container:
        return f"names container {json.dumps(named)[:80]}, not {container}: left for its owner"
    blob = body.get("BlobName")
    if not isinstance(blob, str) or not is_storable_blob_name(blob):
        return f"BlobName {json.dumps(blob)[:80]} is not a blob name"
    return _BlobTarget(container, blob)


def replay_blob_trigger_poison(
    queues: MessageQueues, container: str, ingest: Callable[[str, str], object]
) -> ReplayReport:
    """Route again, through ``ingest(container, name)`` (the pipeline's: idempotent),
    every blob of ``container`` whose trigger the host gave up on, and drop its poison
    message. Messages about other containers, or in no readable form, are skipped with
    their reason; a blob whose ingest fails keeps its message, for the next replay."""
    report = ReplayReport(replayed={BLOB_TRIGGER_POISON_QUEUE: 0})
    queue = BLOB_TRIGGER_POISON_QUEUE
    try:
        queues.ensure_queue(queue)
        for message in _unseen(queues, queue):
            target = _blob_target(message, container)
            if isinstance(target, str):
                report.skipped.append(SkippedMessage(queue, message.id, target))
                continue
            try:
                ingest(target.container, target.name)
            except (TransientError, StorageError) as error:
                report.failed.append(
                    FailedMessage(queue, message.id, f"{target.name}: not routed: {error}")
                )
                continue
            try:
                queues.delete(message)
            except (TransientError, StorageError) as error:
                # Routed (ingest is idempotent, so routing it again later is harmless),
                # but the message stays: say so rather than count it as done.
                report.failed.append(
                    FailedMessage(
                        queue, message.id, f"{target.name}: routed, message kept: {error}"
                    )
                )
                continue
            report.replayed[queue] += 1
    except (TransientError, StorageError) as error:  # the queue itself cannot be read
        report.failed.append(FailedMessage(queue, None, str(error)))
    return report
