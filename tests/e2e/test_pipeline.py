"""Files in, results out: the real app, local host, emulators and models."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from prism.jobs import Job
from prism.pipeline import build_pipeline
from prism.poison import replay_blob_trigger_poison
from prism.results import blob_result_id, utc_now
from prism.storage import BLOB_TRIGGER_POISON_QUEUE, poison_queue_name
from tests.e2e.conftest import PipelineUnderTest

pytestmark = pytest.mark.e2e
SAMPLES = Path(__file__).resolve().parents[2] / "samples"
GOOD = sorted(p for p in SAMPLES.iterdir() if p.is_file() and p.name != "README.md")
BAD_CODES = {
    "empty.txt": "empty",
    "invoice.pdf": "encrypted",
    "latin1.txt": "invalid_encoding",
    "truncated.jpg": "corrupt",
}
DEAD_COSMOS = "https://127.0.0.1:9/"  # the discard port: nothing listens there


def test_files_of_every_modality_get_exactly_one_result_each(pipeline: PipelineUnderTest) -> None:
    submissions = pipeline.client.submit(GOOD)
    pipeline.run_until_idle()
    assert pipeline.client.wait(submissions, timeout=5)
    documents = pipeline.documents()
    assert len(documents) == len(GOOD)
    by_file = {Path(s.file).name: s.result for s in submissions}
    assert all(d is not None and d["status"] == "ok" for d in by_file.values()), by_file
    assert Counter(d["modality"] for d in documents if d) == {
        "image": 4, "text": 3, "audio": 1, "document": 2, "video": 1,
    }  # fmt: skip
    cat = by_file["cat.jpg"]
    assert cat is not None
    assert cat["model"]["name"] == "efficientnet-lite0"
    assert cat["source"]["etag"] and len(cat["content_sha256"]) == 64
    assert set(cat["timings_ms"]) >= {"queue_wait", "download", "inference"}
    assert pipeline.queue_depths() == dict.fromkeys(pipeline.queue_depths(), 0)


def test_each_bad_input_code_is_a_rejected_result_and_nothing_is_poisoned(
    pipeline: PipelineUnderTest,
) -> None:
    submissions = pipeline.client.submit(sorted((SAMPLES / "bad").iterdir()))
    pipeline.run_until_idle()
    assert pipeline.client.wait(submissions, timeout=5)
    codes = {Path(s.file).name: (s.result or {})["error"]["code"] for s in submissions}
    assert codes == BAD_CODES
    assert all(depth == 0 for depth in pipeline.queue_depths().values())
    quarantined = {b.name.split("-", 1)[1] for b in pipeline.client.blobs.list(
        pipeline.settings.quarantine_container)}  # fmt: skip
    assert quarantined == set(BAD_CODES)
    assert not list(pipeline.client.blobs.list(pipeline.settings.incoming_container))


def test_the_same_blob_delivered_twice_gives_one_result(pipeline: PipelineUnderTest) -> None:
    (submission,) = pipeline.client.submit([SAMPLES / "review.txt"])
    pipeline.run_until_idle()
    # Event Grid delivers at least once: a second delivery of the same BlobCreated event
    # is a second job for the same blob version.
    info = pipeline.client.blobs.properties(pipeline.settings.incoming_container, submission.blob)
    job = Job(
        id=blob_result_id(info.container, info.name, info.etag),
        container=info.container,
        blob=info.name,
        etag=info.etag,
        size=info.size,
        modality="text",
        media_type="text/plain",
        enqueued_at=utc_now(),
    )
    pipeline.client.queues.send(pipeline.settings.text_queue, job.to_json())
    output = pipeline.run_until_idle()
    assert "'infer_text': 1" in output  # the redelivery really ran
    assert [d["id"] for d in pipeline.documents()] == [submission.id]


def test_the_same_message_delivered_twice_gives_one_result(pipeline: PipelineUnderTest) -> None:
    container = pipeline.settings.incoming_container
    info = pipeline.client.blobs.upload(container, "twice.txt", b"Delivered more than once.")
    job = Job(
        id=blob_result_id(container, "twice.txt", info.etag),
        container=container,
        blob="twice.txt",
        etag=info.etag,
        size=info.size,
        modality="text",
        media_type="text/plain",
        enqueued_at=utc_now(),
    )
    for _ in range(2):
        pipeline.client.queues.send(pipeline.settings.text_queue, job.to_json())
    output = pipeline.run_until_idle()
    assert "'infer_text': 3" in output  # two copies plus the blob event's own job
    assert [d["id"] for d in pipeline.documents()] == [job.id]


def test_a_transient_fault_is_retried_then_poisoned_then_replayed(
    pipeline: PipelineUnderTest,
) -> None:
    (submission,) = pipeline.client.submit([SAMPLES / "forecast.md"])
    # Cosmos DB unreachable: every attempt fails with a transient error.
    output = pipeline.run_until_idle(PRISM_COSMOS__accountEndpoint=DEAD_COSMOS)
    assert "'infer_text': 5" in output.split("failed")[1]  # maxDequeueCount attempts
    poison = poison_queue_name(pipeline.settings.text_queue)
    assert pipeline.queue_depths()[poison] == 1
    assert pipeline.documents() == []

    assert pipeline.client.replay_poison().replayed[pipeline.settings.text_queue] == 1
    pipeline.run_until_idle()
    assert pipeline.client.wait([submission], timeout=5)
    assert submission.result is not None and submission.result["status"] == "ok"
    assert pipeline.queue_depths()[poison] == 0
    assert len(pipeline.documents()) == 1


def test_a_blob_the_router_gave_up_on_is_routed_again_by_replay(
    pipeline: PipelineUnderTest,
) -> None:
    (submission,) = pipeline.client.submit([SAMPLES / "bad" / "empty.txt"])
    # Recording the rejection needs Cosmos DB: unreachable, every ingest attempt fails.
    output = pipeline.run_until_idle(PRISM_COSMOS__accountEndpoint=DEAD_COSMOS)
    assert "poisoned {'ingest': 1}" in output
    assert pipeline.documents() == []

    core = build_pipeline(pipeline.settings, storage=pipeline.storage, cosmos=pipeline.cosmos)

    def replay() -> int:
        container = pipeline.settings.incoming_container
        report = replay_blob_trigger_poison(core.queues, container, core.ingest)
        assert report.failed == []
        return report.replayed[BLOB_TRIGGER_POISON_QUEUE]

    assert replay() == 1
    assert pipeline.client.wait([submission], timeout=5)
    assert submission.result is not None
    assert submission.result["error"]["code"] == "empty"
    assert replay() == 0  # nothing left of ours


def test_a_message_that_is_not_a_job_goes_straight_to_poison_and_replay_leaves_it(
    pipeline: PipelineUnderTest,
) -> None:
    pipeline.client.queues.send(pipeline.settings.image_queue, b'{"hello": "world"}')
    output = pipeline.run_until_idle()
    assert "'infer_image': 1" in output.split("failed")[0]  # handled once, not retried
    poison = poison_queue_name(pipeline.settings.image_queue)
    assert pipeline.queue_depths()[poison] == 1
    report = pipeline.client.replay_poison()
    assert report.replayed[pipeline.settings.image_queue] == 0
    assert [s.queue for s in report.skipped] == [poison]
    assert "not a valid Prism job message" in report.skipped[0].reason


def test_stored_results_are_searched_by_meaning_across_modalities(
    pipeline: PipelineUnderTest,
) -> None:
    from prism.inference.engine import Engine
    from prism.queries import every_result
    from prism.search import rank, stored_candidates, text_embedder

    submissions = pipeline.client.submit(GOOD)
    pipeline.run_until_idle()
    assert pipeline.client.wait(submissions, timeout=5)
    candidates = list(stored_candidates(every_result(pipeline.client.results)))
    assert len(candidates) == len(GOOD)
    embed = text_embedder(Engine(pipeline.settings))
    # The integration test's queries (tests/integration/test_models.py), on stored results.
    expected = {"a cat": "cat.jpg", "will it rain tomorrow": "forecast.md",
                "a spoken greeting": "greeting.flac",
                # printed on the scanned page and the sign: their words come from OCR
                "boxes of printer paper delivered to the front desk": "scanned.pdf",
                "a shop that sells bagels": "sign.jpg",
                # spoken in the video
                "when does the rocket take off": "launch.mp4"}  # fmt: skip
    for query, name in expected.items():
        hits = rank(query, candidates, embed, limit=3)
        assert hits[0].key.endswith(name), (query, hits)  # blob names: <submission>-<file>


@pytest.mark.parametrize(("modality", "suffix"), [("document", ".pdf"), ("video", ".mp4")])
def test_hostile_documents_and_videos_are_rejected_with_their_codes_and_nothing_is_left_queued(
    pipeline: PipelineUnderTest, tmp_path: Path, modality: str, suffix: str
) -> None:
    from tests.fixtures.hostile import hostile_documents, hostile_videos

    expected = {}
    corpus = hostile_documents() if modality == "document" else hostile_videos()
    for name, (data, code) in corpus.items():
        if data:  # the empty file is refused at ingest, as every empty file is
            (tmp_path / f"{name}{suffix}").write_bytes(data)
            expected[f"{name}{suffix}"] = code
    submissions = pipeline.client.submit(sorted(tmp_path.iterdir()))
    pipeline.run_until_idle()
    assert pipeline.client.wait(submissions, timeout=5)
    codes = {Path(s.file).name: (s.result or {})["error"]["code"] for s in submissions}
    assert codes == expected
    modalities = {Path(s.file).name: (s.result or {})["modality"] for s in submissions}
    assert set(modalities.values()) == {modality}  # routed by content, refused by its reader
    assert all(depth == 0 for depth in pipeline.queue_depths().values())
