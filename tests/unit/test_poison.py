"""Replaying poison queues (:mod:`prism.poison`): every message ends replayed, skipped
with its reason, or failed with its fault, and the replay goes on with the next one.
Over the in-memory queues of ``tests/fakes.py`` (contract-tested against Azurite).
"""

from __future__ import annotations

import json
from typing import Any

from prism.errors import TransientError
from prism.poison import replay_blob_trigger_poison, replay_job_poison
from prism.storage import (
    BLOB_TRIGGER_POISON_QUEUE,
    LeaseLostError,
    ReceivedMessage,
    poison_queue_name,
)
from tests.fakes import FakeMessageQueues
from tests.unit.test_replay_poison_command import TOO_DEEP, fill, job, trigger_message


def test_every_kind_of_unreplayable_job_message_is_skipped_with_its_reason() -> None:
    queues = FakeMessageQueues()
    poison = poison_queue_name("prism-text")
    fill(queues, poison, b"not json", b"null", TOO_DEEP, b"9" * 5000, job("ok.txt"))
    queues.ensure_queue(poison)
    queues.send_content(poison, "%%% not base64 %%%")

    report = replay_job_poison(queues, {"text": "prism-text"})

    assert report.replayed == {"prism-text": 1}
    assert len(report.skipped) == 5
    assert all(s.queue == poison and s.reason for s in report.skipped)
    assert report.failed == []


def test_a_job_poison_queue_that_cannot_be_read_is_a_failure_and_the_next_is_replayed() -> None:
    class FirstQueueDown(FakeMessageQueues):
        def receive(self, queue: str, **kwargs: Any) -> list[ReceivedMessage]:
            if queue == poison_queue_name("prism-image"):
                raise TransientError(f"receive from queue {queue}: HTTP 503")
            return super().receive(queue, **kwargs)

    queues = FirstQueueDown()
    fill(queues, poison_queue_name("prism-text"), job("a.txt"))

    report = replay_job_poison(queues, {"image": "prism-image", "text": "prism-text"})

    assert report.replayed == {"prism-image": 0, "prism-text": 1}
    assert [(f.queue, f.message_id) for f in report.failed] == [("prism-image-poison", None)]


def test_blob_trigger_messages_that_name_no_incoming_blob_are_skipped_and_left() -> None:
    queues = FakeMessageQueues()
    routed: list[str] = []
    bodies = [
        b"[1, 2]", b"null", b"not json", TOO_DEEP,
        trigger_message("other", "x.txt"),  # another app's: left for its owner
        trigger_message("incoming", "../quarantine/x"),  # resolves to another blob
        json.dumps({"ContainerName": "incoming", "BlobName": 5}).encode(),
        trigger_message("incoming", "a.txt"),
    ]  # fmt: skip
    fill(queues, BLOB_TRIGGER_POISON_QUEUE, *bodies)

    report = replay_blob_trigger_poison(queues, "incoming", lambda c, n: routed.append(n))

    assert routed == ["a.txt"]
    assert report.replayed == {BLOB_TRIGGER_POISON_QUEUE: 1}
    assert len(report.skipped) == len(bodies) - 1
    assert "left for its owner" in report.skipped[4].reason
    assert queues.approximate_count(BLOB_TRIGGER_POISON_QUEUE) == len(bodies) - 1


def test_a_blob_whose_ingest_fails_keeps_its_message_and_the_next_blob_is_routed() -> None:
    queues = FakeMessageQueues()
    fill(queues, BLOB_TRIGGER_POISON_QUEUE,
         trigger_message("incoming", "a.txt"), trigger_message("incoming", "b.txt"))  # fmt: skip
    routed: list[str] = []

    def ingest(container: str, name: str) -> None:
        if name == "a.txt":
            raise TransientError("upsert result: HTTP 503")
        routed.append(name)

    report = replay_blob_trigger_poison(queues, "incoming", ingest)

    assert routed == ["b.txt"]
    (failed,) = report.failed
    assert failed.reason == "a.txt: not routed: dependency_unavailable: upsert result: HTTP 503"
    assert queues.approximate_count(BLOB_TRIGGER_POISON_QUEUE) == 1


def test_a_routed_blob_whose_message_lease_was_lost_is_reported_not_counted() -> None:
    class LeaseLost(FakeMessageQueues):
        def delete(self, message: ReceivedMessage) -> None:
            raise LeaseLostError(f"delete message {message.id}: the pop receipt is stale")

    queues = LeaseLost()
    fill(queues, BLOB_TRIGGER_POISON_QUEUE, trigger_message("incoming", "a.txt"))

    report = replay_blob_trigger_poison(queues, "incoming", lambda c, n: None)

    assert report.replayed == {BLOB_TRIGGER_POISON_QUEUE: 0}
    (failed,) = report.failed
    assert "routed, message kept" in failed.reason


def test_a_pass_sees_each_message_once_even_when_its_lease_runs_out() -> None:
    queues = FakeMessageQueues()
    fill(queues, BLOB_TRIGGER_POISON_QUEUE, b"[]", trigger_message("incoming", "a.txt"))
    seen: list[str] = []

    def slow_ingest(container: str, name: str) -> None:
        seen.append(name)
        queues.clock.advance(3600)  # every lease of the pass runs out meanwhile

    report = replay_blob_trigger_poison(queues, "incoming", slow_ingest)

    assert seen == ["a.txt"]
    assert len(report.skipped) == 1
