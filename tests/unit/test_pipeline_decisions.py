"""The pipeline's decisions on one input, over in-memory storage and a stub engine: the
HTTP path (route, price, infer or serve what is stored, raise a rejection) and the
queue path's rejections and races (another delivery first, a version replaced)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest

from prism import telemetry
from prism.budget import Cost, MemoryBudget
from prism.errors import ErrorCode, PermanentError
from prism.jobs import Job
from prism.modalities.base import Outcome
from prism.modality import Modality
from prism.pipeline import Pipeline
from prism.results import content_result_id
from prism.settings import load_settings
from prism.storage.blobs import BlobInfo
from prism.storage.errors import ConditionFailedError, NotFoundError
from tests.fakes import FakeDocuments
from tests.unit.stubs import StubEngine, engine_of, job_fields, make_pipeline

WORDS = b"Plain words, posted over HTTP."


class PricingEngine(StubEngine):
    """Reads a 4-byte header to price a file; refuses payloads that start with "bad" or
    are not UTF-8, as the text modality would."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.priced: list[tuple[Modality, int, bytes]] = []
        self.headers: list[Modality] = []

    def header_bytes(self, modality: Modality) -> int:
        self.headers.append(modality)
        return 4

    def cost(self, modality: Modality, size: int, head: bytes) -> Cost:
        self.priced.append((modality, size, head))
        return super().cost(modality, size, head)

    def run(self, modality: Modality, payloads: Sequence[bytes]) -> list[Outcome]:
        try:
            payloads[0].decode()
        except UnicodeDecodeError:
            self.calls.extend(payloads)
            return [Outcome(error=PermanentError(ErrorCode.INVALID_ENCODING, "not UTF-8"))]
        if payloads[0].startswith(b"bad"):
            self.calls.extend(payloads)
            return [Outcome(error=PermanentError(ErrorCode.CORRUPT, "the words are corrupt"))]
        return super().run(modality, payloads)


def http_pipeline(
    model_dir: Path | None = None, engine_type: type[PricingEngine] = PricingEngine
) -> tuple[Pipeline, PricingEngine]:
    settings = load_settings(
        {}, text_batch_size=1, **({"model_dir": model_dir} if model_dir else {})
    )
    engine = engine_type(settings)
    return make_pipeline(settings, engine=engine), engine


def test_a_body_is_routed_by_its_content_and_recorded_as_an_http_source() -> None:
    pipeline, engine = http_pipeline()
    document = asyncio.run(pipeline.infer_bytes(WORDS, name="notes.txt"))
    assert document["modality"] == "text" and document["status"] == "ok"
    assert document["id"] == content_result_id(
        document["content_sha256"], "text", engine.model(Modality.TEXT)
    )
    assert document["source"] == {"kind": "http", "name": "notes.txt", "size": len(WORDS)}
    assert {"route", "cache", "inference"} <= set(document["timings_ms"])
    # Priced from its size and its first header bytes, before the model ran.
    assert engine.priced == [(Modality.TEXT, len(WORDS), WORDS[:4])]
    assert engine.headers == [Modality.TEXT]
    assert engine.calls == [WORDS]


def test_an_empty_body_is_refused_as_empty() -> None:
    pipeline, engine = http_pipeline()
    with pytest.raises(PermanentError) as caught:
        asyncio.run(pipeline.infer_bytes(b"", name="empty.txt"))
    assert caught.value.code is ErrorCode.EMPTY
    assert caught.value.message == "the request body is empty"
    assert engine.calls == []


def test_a_body_whose_content_belies_its_name_is_refused_naming_both() -> None:
    pipeline, _ = http_pipeline()
    with pytest.raises(PermanentError) as caught:
        asyncio.run(pipeline.infer_bytes(b"PK\x03\x04" + bytes(40), name="report.pdf"))
    assert caught.value.code is ErrorCode.UNSUPPORTED_TYPE
    assert "declared as PDF documents" in caught.value.message


def test_only_the_head_and_the_tail_of_a_body_decide_its_route(model_dir: Path) -> None:
    pipeline, engine = http_pipeline(model_dir)
    # Routing reads 4 KiB of each end, as ingest does: bytes between them that are not
    # UTF-8 are the text modality's to refuse (the model sees the body), not the router's.
    middle = b"words " * 700 + b"\xff\xfe\x00" * 50 + b"words " * 1000
    with pytest.raises(PermanentError) as refused_by_the_modality:
        asyncio.run(pipeline.infer_bytes(middle, name="a.txt"))
    assert refused_by_the_modality.value.code is ErrorCode.INVALID_ENCODING
    assert engine.calls == [middle]
    with pytest.raises(PermanentError):  # in the tail: the router refuses it
        asyncio.run(pipeline.infer_bytes(b"words " * 1000 + b"\xff\xfe\x00" * 50, name="b.txt"))
    assert engine.calls == [middle]


def test_a_rejection_found_while_decoding_is_raised_with_its_code_and_recorded() -> None:
    pipeline, _ = http_pipeline()
    with pytest.raises(PermanentError) as caught:
        asyncio.run(pipeline.infer_bytes(b"bad words", name="a.txt", modality=Modality.TEXT))
    assert (caught.value.code, caught.value.message) == (ErrorCode.CORRUPT, "the words are corrupt")
    (stored,) = cast(FakeDocuments, pipeline.results).documents.values()
    assert stored["status"] == "rejected" and stored["error"] == {
        "code": "corrupt",
        "message": "the words are corrupt",
    }
    # Asked again, the stored rejection answers, with the same code, and no model runs.
    with pytest.raises(PermanentError) as again:
        asyncio.run(pipeline.infer_bytes(b"bad words", name="a.txt", modality=Modality.TEXT))
    assert again.value.code is ErrorCode.CORRUPT
    assert engine_of(pipeline).calls == [b"bad words"]


def test_a_stored_answer_is_served_without_pricing_or_running_the_body_again() -> None:
    pipeline, engine = http_pipeline()
    first = asyncio.run(pipeline.infer_bytes(WORDS, name="a.txt", modality=Modality.TEXT))
    pipeline.infer_bytes.budget = MemoryBudget(1)  # a new body could never fit now
    again = asyncio.run(pipeline.infer_bytes(WORDS, name="b.txt", modality=Modality.TEXT))
    assert again == first
    assert len(engine.priced) == 1 and engine.calls == [WORDS]
    with pytest.raises(PermanentError) as caught:
        asyncio.run(pipeline.infer_bytes(b"other words", name="c.txt", modality=Modality.TEXT))
    assert caught.value.code is ErrorCode.OVER_BUDGET


class OneBlob:
    """One blob (any name in ``incoming``); replaced by a new version when
    ``replace_before`` is called. Records the calls made of it."""

    def __init__(self, data: bytes, replace_before: str = "") -> None:
        self.data, self.etag, self.replace_before = data, '"0x1"', replace_before
        self.copied: list[str] = []
        self.calls: list[str] = []

    def _call(self, name: str, if_match: str | None = None) -> None:
        self.calls.append(name)
        if name == self.replace_before:
            self.data, self.etag = b"a newer version", '"0x2"'
        if if_match is not None and if_match != self.etag:
            raise ConditionFailedError(f"a.txt is not {if_match}")

    def read_head(self, container: str, name: str, length: int) -> tuple[BlobInfo, bytes]:
        assert container == "incoming" and length >= 1
        self._call("read_head")
        info = BlobInfo(container, name, self.etag, len(self.data), None, datetime.now(UTC))
        return info, self.data[:length]

    def download(self, container: str, name: str, *, if_match: str | None = None) -> bytes:
        assert container == "incoming"
        self._call("download", if_match)
        return self.data

    def copy(self, container: str, name: str, target: str, **kwargs: Any) -> BlobInfo:
        self._call("copy", kwargs.get("if_match"))
        self.copied.append(name)
        return BlobInfo(target, name, self.etag, len(self.data), None, datetime.now(UTC))

    def set_tags(self, container: str, name: str, tags: dict[str, str], **_: Any) -> bool:
        return True

    def delete(self, container: str, name: str, **_: Any) -> bool:
        return True


def queue_pipeline(
    blob: OneBlob, *, results: Any = None, engine_type: type[Any] = StubEngine, **settings: Any
) -> Pipeline:
    loaded = load_settings({}, text_batch_size=1, **settings)
    return make_pipeline(loaded, blobs=blob, results=results, engine=engine_type(loaded))


def a_job(name: str = "a.txt") -> Job:
    return Job(**job_fields(blob=name))


def test_a_processed_job_records_the_time_of_every_stage() -> None:
    pipeline = queue_pipeline(OneBlob(b"some words"))
    document = asyncio.run(pipeline.process(a_job()))
    assert document is not None and document["status"] == "ok"
    assert set(document["timings_ms"]) == {
        "route", "queue_wait", "admission", "download", "cache", "inference"
    }  # fmt: skip
    assert document["timings_ms"]["route"] == 1.5  # the router's, carried by the job


def test_a_version_replaced_before_its_download_is_gone_not_processed() -> None:
    blob = OneBlob(b"some words", replace_before="download")
    pipeline = queue_pipeline(blob)
    assert asyncio.run(pipeline.process(a_job())) is None
    assert engine_of(pipeline).calls == [] and not cast(FakeDocuments, pipeline.results).documents


def test_a_job_over_the_budget_is_rejected_with_its_model_and_recorded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rejected: list[tuple[str, str]] = []
    monkeypatch.setattr(telemetry, "record_rejected", lambda m, code: rejected.append((m, code)))
    blob = OneBlob(b"x" * 4096)
    pipeline = queue_pipeline(blob)
    engine_of(pipeline).bytes_per_byte = 10**9  # far more than an instance has
    job = a_job()
    document = asyncio.run(pipeline.process(job))
    assert document is not None
    assert (document["id"], document["modality"], document["status"]) == (
        job.id,
        "text",
        "rejected",
    )
    assert document["error"]["code"] == "over_budget"
    assert document["model"]["name"] == "stub"
    assert {"route", "queue_wait", "admission"} <= set(document["timings_ms"])
    assert cast(FakeDocuments, pipeline.results).read(job.id, job.id) == document
    assert rejected == [("text", "over_budget")]
    assert blob.copied == ["a.txt"]  # quarantined


class AnotherDeliveryFirst(FakeDocuments):
    """Another delivery of the same job records its document just before this one."""

    def create(self, document: Any) -> dict[str, object] | None:
        self.upsert({**document, "created_at": "by the other delivery"})
        return super().create(document)


def test_of_two_deliveries_rejecting_a_job_the_first_ones_document_stands() -> None:
    pipeline = queue_pipeline(OneBlob(b"x" * 4096), results=AnotherDeliveryFirst())
    engine_of(pipeline).bytes_per_byte = 10**9
    document = asyncio.run(pipeline.process(a_job()))
    assert document is not None and document["created_at"] == "by the other delivery"


def test_a_job_for_a_blob_that_is_gone_is_dropped() -> None:
    class Gone(OneBlob):
        def read_head(self, container: str, name: str, length: int) -> tuple[BlobInfo, bytes]:
            raise NotFoundError(f"{container}/{name}")

    pipeline = queue_pipeline(Gone(b""))
    assert asyncio.run(pipeline.process(a_job())) is None
    assert pipeline.budget.peak_reserved == 0


def test_a_redelivered_job_whose_result_exists_is_that_result_read_once() -> None:
    blob = OneBlob(b"some words")
    pipeline = queue_pipeline(blob)
    first = asyncio.run(pipeline.process(a_job()))
    calls = list(blob.calls)
    assert asyncio.run(pipeline.process(a_job())) == first
    assert blob.calls == calls and engine_of(pipeline).calls == [b"some words"]


def test_a_redelivered_rejection_is_quarantined_again() -> None:
    # The first delivery may have stopped between writing the rejection and the move.
    blob = OneBlob(b"x")
    pipeline = queue_pipeline(blob)
    job = a_job()
    rejection = {"id": job.id, "status": "rejected", "error": {"code": "corrupt", "message": "x"}}
    cast(FakeDocuments, pipeline.results).upsert(rejection)
    assert asyncio.run(pipeline.process(job)) == rejection
    assert blob.copied == ["a.txt"] and blob.calls == ["copy"]


def test_a_job_is_priced_under_its_modality_from_its_blobs_first_bytes() -> None:
    pipeline = queue_pipeline(OneBlob(b"some words"), engine_type=PricingEngine)
    engine = pipeline.engine
    assert isinstance(engine, PricingEngine)
    assert asyncio.run(pipeline.process(a_job())) is not None
    assert engine.priced == [(Modality.TEXT, 10, b"some")]
    assert engine.headers == [Modality.TEXT]


def test_the_same_content_under_another_name_is_a_cache_hit_that_runs_no_model() -> None:
    pipeline = queue_pipeline(OneBlob(b"some words"))
    first = asyncio.run(pipeline.process(a_job("a.txt")))
    second = asyncio.run(pipeline.process(a_job("b.txt")))
    assert first is not None and second is not None
    assert (first["cache"], second["cache"]) == ("miss", "hit")
    assert second["result"] == first["result"] and second["id"] != first["id"]
    assert engine_of(pipeline).calls == [b"some words"]
    assert "cache" in second["timings_ms"] and "inference" not in second["timings_ms"]


def test_of_two_workers_processing_one_input_the_first_ones_result_stands() -> None:
    pipeline = queue_pipeline(OneBlob(b"some words"), results=AnotherDeliveryFirst())
    document = asyncio.run(pipeline.process(a_job()))
    assert document is not None and document["created_at"] == "by the other delivery"


@pytest.mark.parametrize("batch_size", [1, 4])
def test_only_a_modality_that_batches_gets_a_batcher(batch_size: int) -> None:
    pipeline = make_pipeline(load_settings({}, text_batch_size=batch_size))

    async def scenario() -> bool:
        await pipeline.infer_bytes(WORDS, name="a.txt", modality=Modality.TEXT)
        made = asyncio.get_running_loop() in pipeline.predictor._batchers
        await pipeline.close()
        return made

    assert asyncio.run(scenario()) == (batch_size > 1)


class SlowEngine(PricingEngine):
    def run(self, modality: Modality, payloads: Sequence[bytes]) -> list[Outcome]:
        time.sleep(0.05)
        return super().run(modality, payloads)


def test_an_inputs_outcome_is_recorded_once_with_its_stage_times_in_milliseconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    processed: list[tuple[Any, ...]] = []
    cached: list[tuple[str, bool]] = []
    monkeypatch.setattr(
        telemetry,
        "record_processed",
        lambda modality, status, **times: processed.append((modality, status, times)),
    )
    monkeypatch.setattr(telemetry, "record_cache", lambda m, *, hit: cached.append((m, hit)))
    pipeline, _ = http_pipeline(engine_type=SlowEngine)
    document = asyncio.run(pipeline.infer_bytes(WORDS, name="a.txt", modality=Modality.TEXT))
    with pytest.raises(PermanentError):
        asyncio.run(pipeline.infer_bytes(b"bad words", name="b.txt", modality=Modality.TEXT))
    # The model call took at least 50 ms; well under an hour on any machine.
    assert 50 <= document["timings_ms"]["inference"] < 3_600_000
    assert cached == [("text", False), ("text", False)]
    (ok_modality, ok_status, ok_times), (_, bad_status, bad_times) = processed
    assert (ok_modality, ok_status, bad_status) == ("text", "ok", "rejected")
    assert ok_times["inference_ms"] == document["timings_ms"]["inference"]
    assert 0 <= ok_times["write_ms"] < 3_600_000
    assert (ok_times["error_code"], bad_times["error_code"]) == (None, "corrupt")


def test_a_cache_hit_is_recorded_with_no_inference_time(monkeypatch: pytest.MonkeyPatch) -> None:
    processed: list[dict[str, Any]] = []
    monkeypatch.setattr(
        telemetry, "record_processed", lambda modality, status, **times: processed.append(times)
    )
    pipeline = queue_pipeline(OneBlob(b"some words"))
    asyncio.run(pipeline.process(a_job("a.txt")))
    asyncio.run(pipeline.process(a_job("b.txt")))  # the same content: a hit
    assert processed[0]["inference_ms"] > 0
    assert processed[1]["inference_ms"] == 0.0
