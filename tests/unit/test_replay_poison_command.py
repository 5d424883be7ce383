"""``prism replay-poison``: one message that cannot be replayed never stops the replay.

Each message ends replayed, skipped (it can never succeed: left with its reason) or
failed (a storage fault now: left for the next replay); the command prints one line
per message left behind, a summary last, and exits non-zero only if something failed.
Over the in-memory queues of ``tests/fakes.py`` (contract-tested against Azurite).
"""

from __future__ import annotations

import json
from typing import cast

import pytest

import prism.client
import prism.pipeline
import prism_tools.commands.pipeline
from prism.client import PipelineClient
from prism.errors import TransientError
from prism.pipeline import Pipeline
from prism.storage import (
    BLOB_TRIGGER_POISON_QUEUE,
    BlobStore,
    DocumentContainer,
    ReceivedMessage,
    poison_queue_name,
)
from prism_tools.cli import main
from tests.fakes import FakeMessageQueues
from tests.unit.stubs import job_fields, make_pipeline

# Nested deeper than any JSON parser here recurses (json.loads: RecursionError;
# pydantic: "recursion limit exceeded").
TOO_DEEP = b"[" * 100_000


def job(blob: str) -> bytes:
    return json.dumps(job_fields(blob=blob)).encode()


def trigger_message(container: str, blob: str) -> bytes:
    """What the Functions host writes to webjobs-blobtrigger-poison."""
    return json.dumps(
        {"Type": "BlobTrigger", "FunctionId": "Host.Functions.ingest", "BlobType": "BlockBlob",
         "ContainerName": container, "BlobName": blob, "ETag": '"0x8D"'}
    ).encode()  # fmt: skip


class MoveFailsOnce(FakeMessageQueues):
    """Queues whose first move finds storage unreachable."""

    failed = False

    def move(self, message: ReceivedMessage, target_queue: str) -> str:
        if not self.failed:
            self.failed = True
            raise TransientError(f"send to queue {target_queue}: ServiceRequestError")
        return super().move(message, target_queue)


@pytest.fixture
def pipeline() -> Pipeline:
    return make_pipeline()


def text_poison(pipeline: Pipeline) -> str:
    return poison_queue_name(pipeline.settings.text_queue)


def fill(queues: FakeMessageQueues, queue: str, *bodies: bytes) -> None:
    queues.ensure_queue(queue)
    for body in bodies:
        queues.send(queue, body)


def queues_of(pipeline: Pipeline) -> FakeMessageQueues:
    assert isinstance(pipeline.queues, FakeMessageQueues)
    return pipeline.queues


def replay_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], pipeline: Pipeline
) -> tuple[int, list[str], str]:
    """Run ``prism replay-poison`` against ``pipeline``'s queues: (exit, stdout lines,
    stderr)."""
    client = PipelineClient(
        pipeline.settings,
        blobs=cast(BlobStore, None),
        queues=pipeline.queues,
        results=cast(DocumentContainer, None),
    )
    monkeypatch.setattr(prism_tools.commands.pipeline, "use_local_stack", lambda: None)
    monkeypatch.setattr(prism.client, "connect", lambda: client)
    monkeypatch.setattr(prism.pipeline, "get_pipeline", lambda: pipeline)
    code = main(["replay-poison"])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def test_replay_poison_skips_a_message_nested_too_deep_and_replays_the_jobs_behind_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], pipeline: Pipeline
) -> None:
    queues = queues_of(pipeline)
    fill(queues, text_poison(pipeline), job("a.txt"), TOO_DEEP, b"[1, 2]", job("b.txt"))

    code, out, err = replay_command(monkeypatch, capsys, pipeline)

    assert code == 0, err
    moved = [json.loads(m.body())["blob"] for m in queues.receive(
        pipeline.settings.text_queue, max_messages=32, visibility_timeout=1)]  # fmt: skip
    assert moved == ["a.txt", "b.txt"]
    skipped = [line for line in out if " skipped: " in line]
    assert len(skipped) == 2
    assert "recursion limit exceeded" in skipped[0]
    assert "not a JSON object" in skipped[1] or "not a valid Prism job" in skipped[1]
    assert out[-1] == "replay-poison: 2 replayed, 2 skipped, 0 failed"
    assert queues.approximate_count(text_poison(pipeline)) == 2  # the skipped ones stay


def test_replay_poison_reports_a_job_it_could_not_move_goes_on_and_exits_non_zero(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    queues = MoveFailsOnce()
    pipeline = make_pipeline(queues=queues)
    fill(queues, text_poison(pipeline), job("a.txt"), job("b.txt"))

    code, out, err = replay_command(monkeypatch, capsys, pipeline)

    assert code == 1, err
    (failed,) = [line for line in out if " failed: " in line]
    assert failed.startswith(f"{text_poison(pipeline)}: message ")
    assert "ServiceRequestError" in failed
    assert out[-1] == "replay-poison: 1 replayed, 0 skipped, 1 failed"
    assert pipeline.queues.approximate_count(pipeline.settings.text_queue) == 1
    assert err == ""


def test_replay_poison_skips_a_blob_trigger_message_whose_body_is_a_json_list(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], pipeline: Pipeline
) -> None:
    routed: list[tuple[str, str]] = []
    monkeypatch.setattr(
        pipeline, "ingest", lambda container, name: routed.append((container, name))
    )
    incoming = pipeline.settings.incoming_container
    fill(queues_of(pipeline), BLOB_TRIGGER_POISON_QUEUE,
         b'[{"ContainerName": "incoming"}]', trigger_message(incoming, "cat.jpg"))  # fmt: skip

    code, out, err = replay_command(monkeypatch, capsys, pipeline)

    assert code == 0, err
    assert routed == [(incoming, "cat.jpg")]
    (skipped,) = [line for line in out if " skipped: " in line]
    assert skipped.startswith(f"{BLOB_TRIGGER_POISON_QUEUE}: message ")
    assert skipped.endswith("a JSON list, not the blob trigger's object")
    assert out[-1] == "replay-poison: 1 replayed, 1 skipped, 0 failed"
