"""The result document and its ids: what every stored result looks like, and which
inputs share one."""

from __future__ import annotations

import re
from typing import Any, cast

import pytest

from prism import results
from prism.errors import ErrorCode, PermanentError
from prism.onnx.registry import ModelRef
from prism.results import (
    Source,
    Timings,
    blob_result_id,
    content_result_id,
    public_view,
    read_result,
    result_document,
    utc_now,
)
from prism.storage import DocumentContainer
from tests.fakes import FakeDocuments

MODEL = ModelRef("efficientnet-lite0", "1", "2", "c0ffee")
CONTENT = "ab" * 32
SOURCE = Source(kind="http", name="cat.jpg", size=3)


def test_stored_result_ids_stay_the_ids_of_their_inputs() -> None:
    # Ids are stored: a changed formula would make every stored result unreachable and
    # write a second document for each input delivered again.
    assert blob_result_id("incoming", "photos/cat.jpg", '"0x8DC1"') == (
        "286af0caa131461de3c5dfe0a60f897c3b153b351e4e68dbc25296bcc24b47ea"
    )
    assert content_result_id(CONTENT, "image", MODEL) == (
        "61c3337e8de2256750065ba73095bf17918a15408b7f00a65515ddca7a84d069"
    )


def test_an_http_result_id_names_the_schema_version(monkeypatch: pytest.MonkeyPatch) -> None:
    current = content_result_id(CONTENT, "image", MODEL)
    monkeypatch.setattr(results, "SCHEMA_VERSION", results.SCHEMA_VERSION - 1)
    # A v1 answer is never served as a v2 one: the older version's id is another id.
    assert content_result_id(CONTENT, "image", MODEL) != current


@pytest.mark.parametrize(
    "other",
    [
        ("cd" * 32, "image", MODEL),
        (CONTENT, "text", MODEL),
        (CONTENT, "image", ModelRef("efficientnet-lite0", "2", "2", "c0ffee")),
        (CONTENT, "image", ModelRef("efficientnet-lite0", "1", "3", "c0ffee")),
        (CONTENT, "image", ModelRef("efficientnet-lite0", "1", "2", "decaf")),
        (CONTENT, "image", ModelRef("mobilenet", "1", "2", "c0ffee")),
    ],
    ids=["content", "modality", "version", "preprocessing", "config", "model"],
)
def test_an_http_result_id_changes_with_whatever_shapes_the_result(
    other: tuple[str, str, ModelRef],
) -> None:
    assert content_result_id(*other) != content_result_id(CONTENT, "image", MODEL)
    assert content_result_id(*other) == content_result_id(*other)


def test_a_blob_result_id_is_one_per_blob_version_and_never_an_http_one() -> None:
    first = blob_result_id("incoming", "a.txt", '"1"')
    assert first == blob_result_id("incoming", "a.txt", '"1"')
    assert len({first, blob_result_id("incoming", "a.txt", '"2"'),
                blob_result_id("incoming", "b.txt", '"1"'),
                blob_result_id("other", "a.txt", '"1"')}) == 4  # fmt: skip
    assert results.RESULT_ID.fullmatch(first)


def document(**fields: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {"document_id": "d" * 64, "modality": "image", "source": SOURCE}
    return result_document(**(arguments | fields))


def test_an_ok_document_holds_its_result_and_every_field_of_the_schema() -> None:
    timings = Timings()
    timings.add("inference", 12.5)
    made = document(
        result={"label": "tabby"},
        content_sha256=CONTENT,
        model=MODEL,
        timings=timings,
        cache="miss",
        search={"vector": "AAAA"},
    )
    created = made.pop("created_at")
    assert made == {
        "id": "d" * 64,
        "schema_version": 2,
        "modality": "image",
        "status": "ok",
        "source": {"kind": "http", "name": "cat.jpg", "size": 3},
        "content_sha256": CONTENT,
        "model": {
            "name": "efficientnet-lite0",
            "version": "1",
            "preprocessing_version": "2",
            "config": "c0ffee",
        },
        "timings_ms": {"inference": 12.5},
        "cache": "miss",
        "result": {"label": "tabby"},
        "error": None,
        "search": {"vector": "AAAA"},
    }
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", created)


def test_a_rejected_document_holds_its_coded_error_and_no_result() -> None:
    error = PermanentError(ErrorCode.CORRUPT, "the image data is truncated")
    blob = Source("blob", "a.jpg", 9, "image/jpeg", "incoming", "a.jpg", '"1"')
    made = document(error=error, source=blob)
    assert made["status"] == "rejected"
    assert made["error"] == {"code": "corrupt", "message": "the image data is truncated"}
    assert made["result"] is None and made["model"] is None and made["cache"] is None
    assert made["timings_ms"] == {} and "search" not in made
    assert made["source"] == {"kind": "blob", "name": "a.jpg", "size": 9,
                              "media_type": "image/jpeg", "container": "incoming",
                              "blob": "a.jpg", "etag": '"1"'}  # fmt: skip


def test_a_document_holds_exactly_one_of_a_result_and_an_error() -> None:
    error = PermanentError(ErrorCode.CORRUPT, "bad")
    message = r"^a result document holds exactly one of result and error$"
    with pytest.raises(ValueError, match=message):
        document()
    with pytest.raises(ValueError, match=message):
        document(result={"label": "tabby"}, error=error)


def test_only_a_result_is_searchable_never_a_rejection() -> None:
    error = PermanentError(ErrorCode.CORRUPT, "bad")
    with pytest.raises(ValueError, match=r"^only a result \(not a rejection\) is searchable$"):
        document(error=error, search={"vector": "AAAA"})


def test_timings_add_up_per_stage_to_the_microsecond() -> None:
    timings = Timings()
    timings.add("cache", 1.00049)
    timings.add("cache", 2.0)
    timings.add("download", 0.1234567)
    assert timings.values == {"cache": 3.0, "download": 0.123}


def test_the_public_view_leaves_out_the_stores_system_properties() -> None:
    stored = {"id": "x", "status": "ok", "_etag": '"1"', "_ts": 5, "_rid": "r"}
    assert public_view(stored) == {"id": "x", "status": "ok"}


def test_a_result_is_read_by_one_point_read_on_its_own_partition() -> None:
    store = FakeDocuments()
    made = document(result={"label": "tabby"})
    store.upsert(made)
    assert read_result(cast(DocumentContainer, store), made["id"]) == made
    assert read_result(cast(DocumentContainer, store), "e" * 64) is None


def test_times_are_utc_with_milliseconds() -> None:
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", utc_now())
