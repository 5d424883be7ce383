"""Ingest's decisions on one blob: queue a job for its modality, reject and quarantine
it, or find it gone — from its properties and ranged reads, never a download."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest

from prism import telemetry
from prism.errors import ErrorCode
from prism.jobs import Job
from prism.pipeline import Pipeline
from prism.pipeline.ingest import TIERING_MIN_BYTES, TIERING_TAG
from prism.pipeline.quarantine import QUARANTINE_TAG
from prism.results import blob_result_id
from prism.routing import HEAD_BYTES, TAIL_BYTES
from prism.settings import load_settings
from prism.storage import BlobStore
from prism.storage.blobs import BlobInfo
from prism.storage.errors import ConditionFailedError, ContainerNotFoundError, NotFoundError
from tests.fakes import FakeDocuments, FakeMessageQueues
from tests.unit.stubs import make_pipeline

PNG = b"\x89PNG\r\n\x1a\n"
ZIP = b"PK\x03\x04" + bytes(26)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


class MemoryBlobs:
    """The blob calls ingest makes, in memory, with the service's conditions: a missing
    blob or container is NotFoundError / ContainerNotFoundError, and ``if_match`` with
    another etag is ConditionFailedError. Records every ranged read."""

    def __init__(self) -> None:
        self.blobs: dict[tuple[str, str], tuple[bytes, str, str | None]] = {}
        self.tags: dict[tuple[str, str], dict[str, str]] = {}
        self.containers = {"incoming"}
        self.ranges: list[tuple[str, str, int, int, str | None]] = []
        self.heads: list[int] = []

    def put(self, name: str, data: bytes, content_type: str | None = None) -> str:
        etag = f'"0x{len(self.blobs) + 1}"'
        self.blobs["incoming", name] = (data, etag, content_type)
        return etag

    def _held(self, container: str, name: str, if_match: str | None) -> tuple[bytes, str]:
        if container not in self.containers:
            raise ContainerNotFoundError(container)
        if (container, name) not in self.blobs:
            raise NotFoundError(f"{container}/{name}")
        data, etag, _ = self.blobs[container, name]
        if if_match is not None and if_match != etag:
            raise ConditionFailedError(f"{container}/{name} is not {if_match}")
        return data, etag

    def read_head(self, container: str, name: str, length: int) -> tuple[BlobInfo, bytes]:
        self.heads.append(length)
        data, etag = self._held(container, name, None)
        content_type = self.blobs[container, name][2]
        return BlobInfo(container, name, etag, len(data), content_type, T0), data[:length]

    def read_range(
        self, container: str, name: str, offset: int, length: int, *, if_match: str | None = None
    ) -> bytes:
        self.ranges.append((container, name, offset, length, if_match))
        data, _ = self._held(container, name, if_match)
        return data[offset : offset + length]

    def set_tags(
        self, container: str, name: str, tags: dict[str, str], *, if_match: str | None = None
    ) -> bool:
        self._held(container, name, if_match)
        self.tags.setdefault((container, name), {}).update(tags)
        return True

    def ensure_container(self, container: str) -> None:
        self.containers.add(container)

    def copy(
        self, container: str, name: str, target: str, *, if_match: str | None = None
    ) -> BlobInfo:
        data, etag = self._held(container, name, if_match)
        if target not in self.containers:
            raise ContainerNotFoundError(target)
        self.blobs[target, name] = (data, etag, self.blobs[container, name][2])
        return BlobInfo(target, name, etag, len(data), None, T0)

    def delete(self, container: str, name: str, *, if_match: str | None = None) -> bool:
        self._held(container, name, if_match)
        del self.blobs[container, name]
        return True


def ingest_pipeline(model_dir: Path | None = None) -> tuple[Pipeline, MemoryBlobs]:
    settings = load_settings(
        {}, text_batch_size=1, **({"model_dir": model_dir} if model_dir else {})
    )
    stubs = make_pipeline(settings)
    for queue in settings.modality_queues.values():
        stubs.queues.ensure_queue(queue)
    blobs = MemoryBlobs()
    pipeline = Pipeline(
        settings,
        blobs=cast(BlobStore, blobs),
        queues=stubs.queues,
        results=stubs.results,
        engine=stubs.engine,
        cache=stubs.cache,
    )
    return pipeline, blobs


def queued(pipeline: Pipeline, modality: str) -> list[Job]:
    queues = cast(FakeMessageQueues, pipeline.queues)
    name = pipeline.settings.modality_queues[modality]
    messages = queues.receive(name, max_messages=32, visibility_timeout=1)
    return [Job.from_json(message.body()) for message in messages]


def stored(pipeline: Pipeline) -> list[dict[str, Any]]:
    return list(cast(FakeDocuments, pipeline.results).documents.values())


def test_a_blob_is_queued_as_a_job_for_its_version_on_its_modalitys_queue() -> None:
    pipeline, blobs = ingest_pipeline()
    etag = blobs.put("notes/a.txt", b"Plain words, nothing else.", "text/plain")
    outcome = pipeline.ingest("incoming", "notes/a.txt")
    document_id = blob_result_id("incoming", "notes/a.txt", etag)
    assert (outcome.action, outcome.document_id, outcome.modality) == (
        "queued",
        document_id,
        "text",
    )
    assert outcome.error is None and outcome.route_ms is not None and outcome.route_ms >= 0
    (job,) = queued(pipeline, "text")
    assert (job.id, job.container, job.blob, job.etag, job.size) == (
        document_id,
        "incoming",
        "notes/a.txt",
        etag,
        26,
    )
    assert (job.modality, job.media_type) == ("text", "text/plain")
    assert job.route_ms == round(outcome.route_ms, 3)
    assert abs((datetime.now(UTC) - job.enqueued_at).total_seconds()) < 60
    assert queued(pipeline, "image") == [] and stored(pipeline) == []  # no result yet
    assert blobs.heads == [HEAD_BYTES] and blobs.ranges == []  # one ranged read, no more


@pytest.mark.parametrize(
    ("size", "tiered"),
    [(TIERING_MIN_BYTES - 1, False), (TIERING_MIN_BYTES, True), (TIERING_MIN_BYTES + 1, True)],
    ids=["just_under", "exactly", "over"],
)
def test_a_blob_of_at_least_the_tiering_size_is_tagged_for_tiering(size: int, tiered: bool) -> None:
    pipeline, blobs = ingest_pipeline()
    blobs.put("large.png", PNG + bytes(size - len(PNG)))
    assert pipeline.ingest("incoming", "large.png").action == "queued"
    assert blobs.tags.get(("incoming", "large.png")) == (dict([TIERING_TAG]) if tiered else None)


def test_an_unsupported_blob_is_recorded_as_rejected_then_quarantined_with_its_code() -> None:
    pipeline, blobs = ingest_pipeline()
    blobs.containers.add(pipeline.settings.quarantine_container)
    etag = blobs.put("photo.jpg", ZIP, "image/jpeg")
    outcome = pipeline.ingest("incoming", "photo.jpg")
    document_id = blob_result_id("incoming", "photo.jpg", etag)
    assert (outcome.action, outcome.document_id, outcome.modality) == (
        "rejected",
        document_id,
        "unrouted",
    )
    assert outcome.error is not None and outcome.error.code is ErrorCode.UNSUPPORTED_TYPE
    (document,) = stored(pipeline)
    assert document["id"] == document_id and document["status"] == "rejected"
    assert document["modality"] == "unrouted"
    assert document["error"]["code"] == "unsupported_type"
    assert document["source"] == {"kind": "blob", "name": "photo.jpg", "size": len(ZIP),
                                  "media_type": "image/jpeg", "container": "incoming",
                                  "blob": "photo.jpg", "etag": etag}  # fmt: skip
    assert set(document["timings_ms"]) == {"route"}
    quarantine = pipeline.settings.quarantine_container
    assert list(blobs.blobs) == [(quarantine, "photo.jpg")]  # moved, not copied
    assert blobs.tags[quarantine, "photo.jpg"] == {QUARANTINE_TAG: "unsupported_type"}
    assert queued(pipeline, "image") == []


def test_a_quarantine_container_that_does_not_exist_yet_is_created_for_the_move() -> None:
    pipeline, blobs = ingest_pipeline()
    blobs.put("archive.bin", ZIP)
    assert pipeline.ingest("incoming", "archive.bin").action == "rejected"
    assert list(blobs.blobs) == [(pipeline.settings.quarantine_container, "archive.bin")]


def test_an_empty_blob_is_rejected_as_empty() -> None:
    pipeline, blobs = ingest_pipeline()
    blobs.put("empty.txt", b"")
    outcome = pipeline.ingest("incoming", "empty.txt")
    assert outcome.action == "rejected"
    assert outcome.error is not None and outcome.error.code is ErrorCode.EMPTY


def test_a_blob_already_gone_is_neither_queued_nor_recorded() -> None:
    pipeline, _ = ingest_pipeline()
    outcome = pipeline.ingest("incoming", "moved-by-an-earlier-delivery.txt")
    assert outcome.action == "gone" and outcome.document_id is None
    assert stored(pipeline) == [] and queued(pipeline, "text") == []


def test_a_rejected_blob_already_moved_is_recorded_and_left_alone() -> None:
    pipeline, blobs = ingest_pipeline()
    blobs.containers.add(pipeline.settings.quarantine_container)
    etag = blobs.put("archive.zip", ZIP)
    source = cast(Any, pipeline).blobs
    replaced = b"PK\x05\x06" + bytes(18)

    def copy_of_a_replaced_version(*args: Any, **kwargs: Any) -> BlobInfo:
        blobs.blobs["incoming", "archive.zip"] = (replaced, '"0xnew"', None)  # replaced
        return MemoryBlobs.copy(source, *args, **kwargs)

    blobs.copy = copy_of_a_replaced_version  # type: ignore[method-assign]
    assert pipeline.ingest("incoming", "archive.zip").action == "rejected"
    # The newer version has its own event: this one's move stops, nothing is tagged.
    assert blobs.blobs == {("incoming", "archive.zip"): (replaced, '"0xnew"', None)}
    assert blobs.tags == {} and etag != '"0xnew"'
    assert stored(pipeline)[0]["status"] == "rejected"


def test_the_tail_is_read_only_when_the_magic_bytes_do_not_decide(model_dir: Path) -> None:
    pipeline, blobs = ingest_pipeline(model_dir)
    size = HEAD_BYTES + 1000
    blobs.put("large.png", PNG + bytes(size - len(PNG)))
    blobs.put("small.txt", b"short text")
    blobs.put("head-sized.txt", b"words " * (HEAD_BYTES // 6) + b"end!")  # the head is all
    etag = blobs.put("large.txt", b"words " * (size // 6) + b"end")
    for name in ("large.png", "small.txt", "head-sized.txt", "large.txt"):
        assert pipeline.ingest("incoming", name).action == "queued"
    # One ranged read: the last bytes of the version being routed, of the large text only.
    length = len(blobs.blobs["incoming", "large.txt"][0])
    assert blobs.ranges == [("incoming", "large.txt", length - TAIL_BYTES, TAIL_BYTES, etag)]


def test_a_text_whose_tail_is_not_utf8_is_not_routed_as_text(model_dir: Path) -> None:
    pipeline, blobs = ingest_pipeline(model_dir)
    blobs.put("mixed.txt", b"words " * 1000 + b"\xff\xfe\x00\x01" * 300)
    outcome = pipeline.ingest("incoming", "mixed.txt")
    assert outcome.action == "rejected" and queued(pipeline, "text") == []


def test_a_blob_replaced_while_it_was_routed_is_left_to_the_newer_versions_event(
    model_dir: Path,
) -> None:
    pipeline, blobs = ingest_pipeline(model_dir)
    blobs.put("draft.txt", b"words " * 1000)
    read_range = blobs.read_range

    def replaced_first(*args: Any, **kwargs: Any) -> bytes:
        blobs.blobs["incoming", "draft.txt"] = (b"new words", '"0xnew"', None)
        return read_range(*args, **kwargs)

    blobs.read_range = replaced_first  # type: ignore[method-assign]
    outcome = pipeline.ingest("incoming", "draft.txt")
    assert outcome.action == "gone"
    assert stored(pipeline) == [] and queued(pipeline, "text") == []


@pytest.mark.parametrize("meanwhile", ["replaced", "deleted"])
def test_a_rejected_version_is_moved_while_a_newer_one_or_none_is_left_alone(
    meanwhile: str,
) -> None:
    pipeline, blobs = ingest_pipeline()
    quarantine = pipeline.settings.quarantine_container
    blobs.containers.add(quarantine)
    blobs.put("archive.zip", ZIP)
    set_tags = blobs.set_tags

    def after_the_copy(*args: Any, **kwargs: Any) -> bool:
        # Between the copy and the delete: a new upload, or another delivery's delete.
        if meanwhile == "replaced":
            blobs.blobs["incoming", "archive.zip"] = (b"new", '"0xnew"', None)
        else:
            del blobs.blobs["incoming", "archive.zip"]
        return set_tags(*args, **kwargs)

    blobs.set_tags = after_the_copy  # type: ignore[method-assign]
    assert pipeline.ingest("incoming", "archive.zip").action == "rejected"
    assert blobs.blobs[quarantine, "archive.zip"][0] == ZIP
    assert blobs.tags[quarantine, "archive.zip"] == {QUARANTINE_TAG: "unsupported_type"}
    left = {"replaced": {("incoming", "archive.zip"): (b"new", '"0xnew"', None)}, "deleted": {}}
    assert {k: v for k, v in blobs.blobs.items() if k[0] == "incoming"} == left[meanwhile]


def test_a_one_byte_blob_is_routed_like_any_other() -> None:
    pipeline, blobs = ingest_pipeline()
    blobs.put("a.txt", b"a")
    assert pipeline.ingest("incoming", "a.txt").action == "queued"


@pytest.mark.parametrize(
    ("name", "content_type", "claimed"),
    [("photo.jpg", None, "JPEG images"), ("photo.jpg", "application/pdf", "PDF documents")],
    ids=["by_name", "by_content_type"],
)
def test_a_rejection_names_what_the_blob_was_declared_as(
    name: str, content_type: str | None, claimed: str
) -> None:
    pipeline, blobs = ingest_pipeline()
    blobs.put(name, ZIP, content_type)
    outcome = pipeline.ingest("incoming", name)
    assert outcome.error is not None
    assert outcome.error.message.startswith(
        f"the file is declared as {claimed} but its content is ZIP archives"
    )


def test_a_large_blob_replaced_before_it_is_tagged_leaves_the_newer_version_untagged() -> None:
    pipeline, blobs = ingest_pipeline()
    blobs.put("large.png", PNG + bytes(TIERING_MIN_BYTES))
    set_tags = blobs.set_tags

    def replaced_first(*args: Any, **kwargs: Any) -> bool:
        blobs.blobs["incoming", "large.png"] = (PNG + bytes(TIERING_MIN_BYTES), '"0xnew"', None)
        return set_tags(*args, **kwargs)

    blobs.set_tags = replaced_first  # type: ignore[method-assign]
    assert pipeline.ingest("incoming", "large.png").action == "gone"
    assert blobs.tags == {} and queued(pipeline, "image") == []


def test_ingest_records_each_route_and_each_rejection(monkeypatch: pytest.MonkeyPatch) -> None:
    routed: list[tuple[str, str, float]] = []
    rejected: list[tuple[str, str]] = []
    monkeypatch.setattr(telemetry, "record_routed", lambda *args: routed.append(args))
    monkeypatch.setattr(telemetry, "record_rejected", lambda *args: rejected.append(args))
    pipeline, blobs = ingest_pipeline()
    blobs.put("a.txt", b"words")
    blobs.put("b.zip", ZIP)
    pipeline.ingest("incoming", "a.txt")
    pipeline.ingest("incoming", "b.zip")
    ((modality, detected_by, route_ms),) = routed
    assert (modality, detected_by) == ("text", "text") and 0 <= route_ms < 3_600_000
    assert rejected == [("unrouted", "unsupported_type")]
