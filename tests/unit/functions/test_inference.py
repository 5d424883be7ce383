"""The inference functions' handling of messages that can never succeed."""

from __future__ import annotations

import asyncio
import json

import pytest
from azure.functions.queue import QueueMessage

from functions import inference
from prism import pipeline as pipeline_module
from prism.jobs import unprocessable_reason
from prism.storage import poison_queue_name
from tests.fakes import FakeMessageQueues
from tests.unit.stubs import job_fields, make_pipeline

VALID = job_fields()


@pytest.mark.parametrize(
    "body",
    [
        b"[1]",
        b"null",
        b'"x"',
        json.dumps(VALID | {"modality": "hologram"}).encode(),
        json.dumps(VALID | {"route_ms": "abc"}).encode(),
        json.dumps(VALID | {"enqueued_at": 5}).encode(),
        json.dumps(VALID | {"id": "a/b"}).encode(),
        json.dumps(VALID | {"blob": "x" * 40_000}).encode(),
        json.dumps(VALID | {"modality": "image"}).encode(),  # on the text queue
        # Each once passed the hand-written checks and crashed after: retried five times
        # and poisoned without the marker, so a replay would have requeued it.
        json.dumps(VALID | {"modality": ["text"]}).encode(),
        json.dumps(VALID).replace('"route_ms": 1.5', '"route_ms": 1' + "0" * 400).encode(),
        json.dumps(VALID | {"enqueued_at": "2026-11-30T12:00:00"}).encode(),
    ],
)
def test_a_message_that_can_never_succeed_is_poisoned_at_once_marked_with_why(
    monkeypatch: pytest.MonkeyPatch, body: bytes
) -> None:
    pipeline = make_pipeline()
    monkeypatch.setattr(pipeline_module, "get_pipeline", lambda: pipeline)
    message = QueueMessage(id="m1", body=body, dequeue_count=1)  # type: ignore[no-untyped-call]

    asyncio.run(inference.handle(message, "text"))  # returns: no retry

    queues = pipeline.queues
    assert isinstance(queues, FakeMessageQueues)
    poison = poison_queue_name(pipeline.settings.text_queue)
    [poisoned] = queues.receive(poison, max_messages=1, visibility_timeout=1)
    reason = unprocessable_reason(poisoned.body())
    assert reason is not None and reason.startswith("not a valid Prism job message")
