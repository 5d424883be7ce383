"""``prism migrate-results`` (prism_tools.migration): schema 1 results copied into the current
container in schema 2 with their search field, idempotently and resumably, and the
search field backfilled in place — over the in-memory documents fake."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import pytest

from prism.embedding import cosine, decode_embedding
from prism.errors import ErrorCode, PermanentError, TransientError
from prism.search import VECTOR_DIMENSIONS, int8_codes
from prism.storage import DocumentContainer
from prism.storage.documents import deterministic_id
from prism.storage.errors import StorageRequestError
from prism_tools.cli import main
from prism_tools.migration import (
    MigrationReport,
    is_current,
    migrate_results,
    upgrade_document,
    with_retries,
)
from tests.fakes import FakeDocuments


def unit_vector(seed: str) -> np.ndarray:
    rng = np.random.default_rng(int(hashlib.sha256(seed.encode()).hexdigest()[:8], 16))
    vector = rng.normal(size=VECTOR_DIMENSIONS)
    return np.asarray(vector / np.linalg.norm(vector), dtype=np.float32)


class Embedder:
    """A stand-in text model: a fixed unit vector per text; records every call."""

    def __init__(self, refuse: str | None = None) -> None:
        self.calls: list[list[str]] = []
        self.refuse = refuse

    def __call__(self, texts: Sequence[str]) -> list[np.ndarray]:
        self.calls.append(list(texts))
        if self.refuse is not None and self.refuse in texts:
            raise PermanentError(ErrorCode.TOO_LONG, "the text is too long")
        return [unit_vector(text) for text in texts]


def result_id(name: str) -> str:
    return deterministic_id("blob", "incoming", name, '"0x1"')


SYSTEM = {"_rid": "abc==", "_self": "dbs/x/colls/y/docs/z", "_etag": '"0000"', "_ts": 1764500000}


def v1(
    name: str, modality: str, result: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    """A schema 1 result as the v1 container holds it (system properties included)."""
    document: dict[str, Any] = {
        "id": result_id(name),
        "schema_version": 1,
        "modality": modality,
        "status": "ok" if result is not None else "rejected",
        "source": {
            "kind": "blob",
            "container": "incoming",
            "blob": name,
            "etag": '"0x1"',
            "size": 10,
            "name": name,
        },
        "content_sha256": hashlib.sha256(name.encode()).hexdigest(),
        "model": {"name": "m", "version": "1", "preprocessing_version": "1", "config": "c"},
        "timings_ms": {"inference": 3.5},
        "cache": "miss",
        "result": result,
        "error": None if result is not None else {"code": "corrupt", "message": "broken"},
        "created_at": f"2026-06-01T00:00:{len(name):02d}.000Z",
        **SYSTEM,
    }
    document.update(extra)
    return document


def text_v1(name: str = "notes.txt") -> dict[str, Any]:
    floats = [float(v) for v in unit_vector(name)]
    return v1(name, "text", {"labels": [{"label": "weather", "score": 0.52}], "tokens": 28,
                             "truncated": False, "format": "txt", "embedding": floats})  # fmt: skip


def image_v1(name: str = "cat.jpg") -> dict[str, Any]:
    labels = [{"label": "tiger cat", "probability": 0.38}, {"label": "tabby", "probability": 0.3},
              {"label": "lynx", "probability": 0.01}]  # fmt: skip
    return v1(name, "image", {"labels": labels, "width": 451, "height": 300, "format": "jpeg"})


def audio_v1(name: str = "talk.flac", text: str = "hello from prism") -> dict[str, Any]:
    transcript = {"text": text, "segments": [{"start": 0.8, "end": 1.9, "text": text}],
                  "model": "whisper"}  # fmt: skip
    return v1(name, "audio", {"duration": 7.5, "transcript": transcript})


def old_container(*documents: dict[str, Any]) -> FakeDocuments:
    source = FakeDocuments(partition_key_field="modality", container="results")
    for document in documents:
        # Cosmos DB keeps a document without the partition key field too (its partition
        # value is undefined): stored directly, as the adapter's upsert refuses it.
        source.documents[(str(document["id"]), document.get("modality"))] = dict(document)
    return source


def every_kind() -> list[dict[str, Any]]:
    return [text_v1(), image_v1(), audio_v1(), audio_v1("silence.wav", ""), v1("bad.jpg", "image")]


class CountingDocuments(FakeDocuments):
    """Counts upserts; fails the upserts a test asks to fail."""

    def __init__(self, container: str = "results-v2") -> None:
        super().__init__(container=container)
        self.upserts = 0
        self.failing: int = 0  # fail this many upserts next (transiently)
        self.down_after: int | None = None  # every upsert after this many fails

    def upsert(self, document: Any) -> dict[str, object]:
        if self.down_after is not None and self.upserts >= self.down_after:
            raise TransientError("Cosmos DB: HTTP 503 Service Unavailable")
        if self.failing:
            self.failing -= 1
            raise TransientError("Cosmos DB: HTTP 429 Too Many Requests")
        self.upserts += 1
        return super().upsert(document)


def migrate(
    source: FakeDocuments, target: FakeDocuments, embed: Any, **options: Any
) -> MigrationReport:
    options.setdefault("sleep", lambda seconds: None)
    return migrate_results(
        cast(DocumentContainer, source), cast(DocumentContainer, target), embed, **options
    )


def stored(target: FakeDocuments, document: dict[str, Any]) -> dict[str, Any]:
    found = target.read(document["id"], document["id"])
    assert found is not None, document["source"]["name"]
    return cast(dict[str, Any], found)


# ---- the upgrade ------------------------------------------------------------------------


def test_a_schema_1_result_is_upgraded_keeping_everything_users_read() -> None:
    originals = every_kind()
    target = CountingDocuments()
    embed = Embedder()
    report = migrate(old_container(*originals), target, embed)
    assert report.finished and report.read == report.upgraded == 5
    assert report.skipped_total == 0
    for original in originals:
        copied = stored(target, original)
        assert copied["schema_version"] == 2
        assert not any(key.startswith("_") for key in copied)  # the target sets its own
        for key in ("id", "modality", "status", "source", "content_sha256", "model",
                    "timings_ms", "cache", "error", "created_at"):  # fmt: skip
            assert copied[key] == original[key], key
        if original["result"] is not None:
            kept = {k: v for k, v in original["result"].items() if k != "embedding"}
            assert {k: v for k, v in copied["result"].items() if k != "embedding"} == kept
    # Labels, transcript and timestamps above; the embedding, compact and as faithful as
    # docs/scale.md says: cosine to the float original above 0.9999.
    text = stored(target, originals[0])
    floats = originals[0]["result"]["embedding"]
    assert text["result"]["embedding"]["encoding"] == "int8"
    assert cosine(decode_embedding(text["result"]["embedding"]), floats) > 0.9999
    assert text["search"] == {"vector": int8_codes(floats)}  # a text's own codes
    image, audio = stored(target, originals[1]), stored(target, originals[2])
    assert image["search"] == {"words": "tiger cat, tabby",
                               "vector": int8_codes(unit_vector("tiger cat, tabby"))}  # fmt: skip
    assert audio["search"]["words"] == "hello from prism"
    assert "search" not in stored(target, originals[3])  # no speech: nothing to find it by
    assert "search" not in stored(target, originals[4])  # a rejection is never searchable
    assert sorted(call[0] for call in embed.calls) == ["hello from prism", "tiger cat, tabby"]
    assert report.embedded == 2 and report.searchable_added == 3


def test_the_compact_embedding_keeps_a_cosine_above_0_9999_for_every_vector() -> None:
    worst = 1.0
    for index in range(200):
        floats = [float(v) for v in unit_vector(f"sentence {index}")]
        document = v1(f"{index}.txt", "text", {"labels": [], "embedding": floats})
        upgraded = upgrade_document(document, Embedder()).document
        worst = min(worst, cosine(decode_embedding(upgraded["result"]["embedding"]), floats))
    assert worst > 0.9999


def test_a_document_already_current_is_what_the_upgrade_leaves_alone() -> None:
    once = upgrade_document(image_v1(), Embedder()).document
    assert is_current(once)
    twice = upgrade_document(once, Embedder())
    assert twice.document == once and not twice.embedded


# ---- idempotent, resumable ----------------------------------------------------------------


def test_a_second_run_writes_nothing_and_calls_no_model() -> None:
    source, target = old_container(*every_kind()), CountingDocuments()
    migrate(source, target, Embedder())
    before, writes = dict(target.documents), target.upserts
    embed = Embedder()
    again = migrate(source, target, embed)
    assert again.finished and again.upgraded == 0 and again.already_current == 5
    assert target.upserts == writes and target.documents == before and embed.calls == []


def test_a_run_stopped_by_a_storage_fault_resumes_and_ends_as_one_uninterrupted_run() -> None:
    documents = [*every_kind(), text_v1("more.txt"), image_v1("dog.jpg")]
    target = CountingDocuments()
    target.down_after = 3  # Cosmos DB goes down after three writes
    slept: list[float] = []
    report = migrate(old_container(*documents), target, Embedder(), attempts=3, sleep=slept.append)
    assert not report.finished and report.upgraded == 3
    assert report.stopped is not None and "run the same command again" in report.stopped
    assert "failed 3 times" in report.stopped and slept == [0.5, 1.0]
    target.down_after = None  # it is back: run again
    resumed = migrate(old_container(*documents), target, Embedder())
    assert resumed.finished
    assert (resumed.already_current, resumed.upgraded) == (3, len(documents) - 3)
    uninterrupted = CountingDocuments()
    migrate(old_container(*documents), uninterrupted, Embedder())
    assert target.documents == uninterrupted.documents  # nothing lost, nothing twice


def test_a_transient_fault_is_retried_with_a_doubling_backoff() -> None:
    target = CountingDocuments()
    target.failing = 2
    slept: list[float] = []
    report = migrate(old_container(text_v1()), target, Embedder(), sleep=slept.append)
    assert report.finished and report.upgraded == 1 and slept == [0.5, 1.0]


def test_a_source_that_cannot_be_read_stops_the_run_with_how_to_resume() -> None:
    class Unreachable(FakeDocuments):
        def page_by_id(self, *, limit: int, after_id: str | None = None) -> list[dict[str, object]]:
            raise TransientError("connect to Cosmos DB: ServiceRequestError")

    report = migrate(Unreachable(), CountingDocuments(), Embedder(), attempts=2)
    assert not report.finished and report.read == 0
    assert report.stopped is not None and "reading results" in report.stopped
    assert "run the same command again to resume" in report.stopped


def test_a_text_model_that_fails_transiently_stops_the_run_with_how_to_resume() -> None:
    def unavailable(texts: Sequence[str]) -> list[np.ndarray]:
        raise TransientError("the text model is not loaded yet")

    target = CountingDocuments()
    report = migrate(old_container(text_v1(), image_v1()), target, unavailable)
    assert not report.finished and report.stopped is not None
    assert "run the same command again" in report.stopped
    assert report.upgraded == target.upserts  # what was written is counted, no more


def test_with_retries_gives_up_after_its_attempts_and_keeps_other_errors() -> None:
    calls: list[int] = []

    def flaky() -> int:
        calls.append(1)
        raise TransientError("HTTP 503")

    with pytest.raises(TransientError, match="failed 4 times"):
        with_retries(flaky, "writing x", attempts=4, sleep=lambda s: None)
    assert len(calls) == 4
    with pytest.raises(ValueError, match="invalid literal"):
        with_retries(lambda: int("x"), "parsing", attempts=4, sleep=lambda s: None)


# ---- dry run, malformed documents --------------------------------------------------------


def test_a_dry_run_counts_what_a_run_would_do_and_writes_nothing() -> None:
    documents = [*every_kind(), {"id": "settings", "kind": "not a result"}]
    target = CountingDocuments()
    dry = migrate(old_container(*documents), target, None, dry_run=True)
    assert target.upserts == 0 and target.documents == {}
    real = migrate(old_container(*documents), CountingDocuments(), Embedder())
    assert dry.dry_run and dry.finished
    for key in ("read", "upgraded", "already_current", "embedded", "searchable_added"):
        assert getattr(dry, key) == getattr(real, key), key
    assert dry.skipped == real.skipped


def test_malformed_documents_are_skipped_with_their_reasons_and_the_rest_go_on() -> None:
    no_probability = image_v1("odd.jpg")
    no_probability["result"]["labels"] = [{"label": "a"}, {"label": "b"}]
    bad_embedding = text_v1("bad.txt")
    bad_embedding["result"]["embedding"] = ["x"] * VECTOR_DIMENSIONS
    no_time = text_v1("undated.txt")
    del no_time["created_at"]
    documents = [
        {"id": "not-a-result-id", "schema_version": 2},
        v1("future.txt", "text", {"labels": []}, schema_version=9),
        v1("empty.txt", "text", None, status="ok"),
        v1("what.txt", "hologram", {"labels": []}),
        no_probability, bad_embedding, no_time, text_v1("good.txt"),
    ]  # fmt: skip
    target = CountingDocuments()
    report = migrate(old_container(*documents), target, Embedder())
    assert report.finished and report.read == 8 and report.upgraded == 1
    assert report.skipped == {
        "not a Prism result: its id is not a result id": 1,
        "not a Prism result: no known schema_version": 1,
        "malformed: an ok result without its result object": 1,
        "not a Prism result: no known modality": 1,
        "malformed: the image result's words cannot be read": 1,
        "malformed: the embedding is not a list of finite numbers": 1,
        "malformed: no created_at (the listing orders by it)": 1,
    }
    assert {s.id for s in report.skipped_examples} >= {"not-a-result-id", no_time["id"]}
    assert list(target.documents) == [(result_id("good.txt"), result_id("good.txt"))]


def test_a_document_the_target_refuses_is_skipped_with_the_reason() -> None:
    class Refusing(CountingDocuments):
        def upsert(self, document: Any) -> dict[str, object]:
            if document["modality"] == "image":
                raise StorageRequestError("upsert results-v2/x: HTTP 413 Request Entity Too Large")
            return super().upsert(document)

    report = migrate(old_container(text_v1(), image_v1()), Refusing(), Embedder())
    assert report.finished and report.upgraded == 1
    assert list(report.skipped) == [
        "refused by the target: upsert results-v2/x: HTTP 413 Request Entity Too Large"
    ]


def test_words_the_text_model_refuses_leave_the_result_copied_and_unsearchable_once() -> None:
    source, target = old_container(audio_v1(text="far too long")), CountingDocuments()
    report = migrate(source, target, Embedder(refuse="far too long"))
    assert report.upgraded == 1 and report.unsearchable == 1 and report.searchable_added == 0
    assert "search" not in stored(target, audio_v1())
    again = migrate(source, target, Embedder(refuse="far too long"))
    assert again.upgraded == 0 and again.already_current == 1 and target.upserts == 1


# ---- the target's own copies, and the backfill in place -----------------------------------


def test_a_result_the_target_already_holds_with_its_search_field_is_not_overwritten() -> None:
    newer = upgrade_document(image_v1(), Embedder()).document | {"cache": "hit"}
    target = CountingDocuments()
    target.upsert(newer)
    target.upserts = 0
    report = migrate(old_container(image_v1(), text_v1()), target, Embedder())
    assert report.already_current == 1 and report.upgraded == 1
    assert stored(target, newer)["cache"] == "hit"


def test_in_place_the_search_field_is_added_to_results_written_before_it() -> None:
    results = CountingDocuments(container="results")
    before_search = [
        {k: v for k, v in upgrade_document(d, Embedder()).document.items() if k != "search"}
        for d in (text_v1(), image_v1(), audio_v1())
    ]
    current = upgrade_document(image_v1("dog.jpg"), Embedder()).document
    silent = upgrade_document(audio_v1("quiet.wav", ""), Embedder()).document
    for document in (*before_search, current, silent):
        results.upsert(document | {"_etag": '"1"'})
    results.upserts = 0
    embed = Embedder()
    report = migrate(results, results, embed)
    assert report.finished and report.read == 5
    assert (report.upgraded, report.already_current, report.searchable_added) == (3, 2, 3)
    assert results.upserts == 3 and len(embed.calls) == 2  # the text needs no model call
    for document in before_search:
        backfilled = stored(results, document)
        assert backfilled["search"]["vector"]
        assert {k: v for k, v in backfilled.items() if k != "search"} == document
    again = migrate(results, results, Embedder())
    assert again.upgraded == 0 and again.already_current == 5 and results.upserts == 3


# ---- the command -------------------------------------------------------------------------


def test_the_command_prints_a_summary_or_json_and_fails_when_the_run_stopped(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import prism_tools.commands.migrate as command

    source, target = old_container(*every_kind(), {"id": "x"}), CountingDocuments()
    monkeypatch.setattr(command, "containers", lambda *a, **k: (source, target))
    monkeypatch.setattr(command, "lazy_text_model", Embedder)
    assert main(["migrate-results", "--dry-run", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["dry_run"] and printed["upgraded"] == 5 and printed["skipped"] == 1
    assert printed["skipped_by_reason"] == {"not a Prism result: its id is not a result id": 1}
    assert target.upserts == 0
    assert main(["migrate-results"]) == 0
    out = capsys.readouterr().out
    assert "results → results-v2" in out and "upgraded         5" in out
    target.documents.clear()
    target.down_after = 0
    assert main(["migrate-results", "--attempts", "1"]) == 1
    assert "run the same command again" in capsys.readouterr().out


def test_in_place_and_a_source_together_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate-results", "--in-place", "--source", "results"]) == 2
    assert "--in-place" in capsys.readouterr().err
