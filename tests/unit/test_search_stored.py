"""Search of stored results (``GET /api/v1/search``): the ``search`` field the pipeline
writes, the Cosmos DB vector query's text and parameters, the exact scan the local
emulator uses, the request's parsing and the choice between the two backends."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import pytest

from prism.embedding import cosine, decode_embedding, encode_embedding
from prism.errors import ConfigurationError, ErrorCode, PermanentError
from prism.http_contract import SearchParameters
from prism.modalities.base import Outcome
from prism.modality import Modality
from prism.search import (
    HIT_FIELDS,
    MAX_QUERY_CHARS,
    VECTOR_DIMENSIONS,
    VECTOR_PATH,
    SearchRequest,
    configured_backend,
    int8_codes,
    search_backend,
    search_field,
    search_stored,
)
from prism.settings import load_settings
from prism.storage import DocumentContainer
from prism.storage.documents import Where, nearest_query
from tests.fakes import FakeDocuments
from tests.unit.stubs import StubEngine, make_pipeline

# A toy text model: one axis per topic word, a little of every other axis.
AXES = ("cat", "coffee", "rain")


def toy_vector(text: str) -> np.ndarray:
    vector = np.full(VECTOR_DIMENSIONS, 0.01, dtype=np.float32)
    for index, axis in enumerate(AXES):
        if axis in text:
            vector[index] = 1.0
    return vector / np.linalg.norm(vector)


class Embedder:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, texts: Sequence[str]) -> list[np.ndarray]:
        self.calls.append(list(texts))
        return [toy_vector(text) for text in texts]


def audio(text: str) -> dict[str, Any]:
    return {"transcript": {"text": text, "segments": [], "model": "m"}}


def image(label: str) -> dict[str, Any]:
    return {"labels": [{"label": label, "probability": 0.9}]}


def text(words: str) -> dict[str, Any]:
    return {"embedding": encode_embedding(toy_vector(words)), "labels": []}


def stored(number: int, name: str, modality: str, result: dict[str, Any]) -> dict[str, Any]:
    document = {
        "id": f"{number:064x}",
        "modality": modality,
        "status": "ok",
        "source": {"kind": "blob", "blob": name, "name": name},
        "result": result,
        "created_at": f"2026-11-{20 + number:02d}T12:00:00.000Z",
    }
    field = search_field(modality, result, Embedder())
    if field is not None:
        document["search"] = field
    return document


def library() -> FakeDocuments:
    documents = FakeDocuments()
    for document in [
        stored(1, "cat.jpg", "image", image("tiger cat")),
        stored(2, "rain.flac", "audio", audio("rain tomorrow")),
        stored(3, "coffee.txt", "text", text("coffee beans")),
        stored(4, "quiet.wav", "audio", audio("")),  # nothing to be found by
        stored(5, "cat-notes.txt", "text", text("my cat")),
        # Written before the field existed: found by neither backend.
        {**stored(6, "old.jpg", "image", image("cat")), "search": None},
        {"id": f"{7:064x}", "modality": "image", "status": "rejected", "result": None,
         "created_at": "2026-11-27T12:00:00.000Z", "source": {"blob": "bad.jpg"}},
    ]:  # fmt: skip
        documents.upsert(document)
    return documents


def request(**params: str) -> SearchRequest:
    return SearchParameters.from_params(params).request()


# ---- the stored field ---------------------------------------------------------------


def test_a_text_result_is_found_by_the_codes_of_its_own_embedding_without_a_model_call() -> None:
    embed = Embedder()
    result = text("coffee")
    field = search_field("text", result, embed)
    assert embed.calls == []
    assert field == {"vector": int8_codes(decode_embedding(result["embedding"]))}
    assert cosine(field["vector"], toy_vector("coffee")) > 0.999


def test_audio_and_images_are_found_by_the_embedding_of_their_words() -> None:
    embed = Embedder()
    field = search_field("image", image("tiger cat"), embed)
    assert embed.calls == [["tiger cat"]]
    assert field is not None and field["words"] == "tiger cat"
    vector = field["vector"]
    assert len(vector) == VECTOR_DIMENSIONS and all(type(v) is int for v in vector)
    assert min(vector) >= -127 and max(vector) == 127  # the compact form's codes
    assert cosine(vector, toy_vector("tiger cat")) > 0.999
    assert search_field("audio", audio("rain"), embed) == {
        "vector": int8_codes(toy_vector("rain")), "words": "rain"
    }  # fmt: skip


def test_results_with_nothing_to_be_found_by_get_no_field() -> None:
    embed = Embedder()
    assert search_field("audio", audio("  "), embed) is None
    assert search_field("image", {"labels": []}, embed) is None
    assert search_field("text", {"labels": []}, embed) is None
    assert embed.calls == []


def test_int8_codes_keep_negative_values() -> None:
    assert int8_codes([1.0, -1.0, 0.5, 0.0]) == [127, -127, 64, 0]


# ---- the Cosmos DB query ------------------------------------------------------------


def test_the_vector_query_ranks_by_vector_distance_with_every_value_a_parameter() -> None:
    conditions = [Where("status", "=", "ok"), Where("modality", "=", "image"),
                  Where("created_at", ">=", "2026-11-30T00:00:00.000Z"),
                  Where("created_at", "<", "2026-12-01T00:00:00.000Z")]  # fmt: skip
    sql, parameters = nearest_query(VECTOR_PATH, [3, -1, 0], conditions, fields=HIT_FIELDS,
                                    limit=7)  # fmt: skip
    assert sql == (
        "SELECT TOP @limit c.id AS id, c.modality AS modality, c.source AS source, "
        "c.created_at AS created_at, c.search.words AS search_words, "
        "VectorDistance(c.search.vector, @vector) AS score FROM c "
        "WHERE c.status = @p0 AND c.modality = @p1 AND c.created_at >= @p2 "
        "AND c.created_at < @p3 ORDER BY VectorDistance(c.search.vector, @vector)"
    )
    assert parameters == [
        {"name": "@limit", "value": 7},
        {"name": "@vector", "value": [3, -1, 0]},
        {"name": "@p0", "value": "ok"},
        {"name": "@p1", "value": "image"},
        {"name": "@p2", "value": "2026-11-30T00:00:00.000Z"},
        {"name": "@p3", "value": "2026-12-01T00:00:00.000Z"},
    ]


def test_the_vector_query_takes_no_unchecked_name_and_no_empty_vector() -> None:
    with pytest.raises(ValueError, match="dot-separated names"):
        nearest_query("search.vector) OR (1=1", [1], [], fields=HIT_FIELDS, limit=1)
    with pytest.raises(ValueError, match="dot-separated names"):
        nearest_query(VECTOR_PATH, [1], [], fields=["id, c._rid"], limit=1)
    with pytest.raises(ValueError, match="needs a vector"):
        nearest_query(VECTOR_PATH, [], [], fields=HIT_FIELDS, limit=1)
    with pytest.raises(ValueError, match="limit"):
        nearest_query(VECTOR_PATH, [1], [], fields=HIT_FIELDS, limit=0)


class VectorSearchingDocuments(FakeDocuments):
    """Answers a vector search with fixed rows, as Cosmos DB projects them; a scan
    (``page``) is a failure: the vector backend must never list results."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        super().__init__()
        self.rows = rows
        self.calls: list[dict[str, Any]] = []

    def nearest(self, vector_path: str, vector: Sequence[float],
                conditions: Sequence[Where] = (), *, fields: Sequence[str],
                limit: int) -> list[dict[str, Any]]:  # fmt: skip
        self.calls.append({"path": vector_path, "vector": list(vector),
                           "conditions": list(conditions), "fields": list(fields),
                           "limit": limit})  # fmt: skip
        return self.rows

    def page(self, *args: Any, **kwargs: Any) -> list[dict[str, object]]:
        raise AssertionError("the vector backend scanned the results")


def test_on_azure_cosmos_db_ranks_with_the_query_as_int8_codes_and_the_filters() -> None:
    row = {"id": "a" * 64, "modality": "image", "source": {"blob": "cat.jpg"},
           "created_at": "2026-11-30T12:00:00.000Z", "search_words": "tiger cat",
           "score": 0.81234567}  # fmt: skip
    unranked = {
        "id": "b" * 64,
        "modality": "audio",
        "source": {"blob": "quiet.wav"},
        "created_at": "2026-11-30T12:00:00.000Z",
    }  # no vector, so no score
    documents = VectorSearchingDocuments([row, unranked])
    embed = Embedder()
    found = search_stored(
        cast(DocumentContainer, documents),
        request(q="a cat", modality="image", since="2026-11-30", limit="3"),
        embed,
        backend="vector",
    )
    assert embed.calls == [["a cat"]]
    assert documents.calls == [{
        "path": "search.vector",
        "vector": int8_codes(toy_vector("a cat")),
        "conditions": [Where("status", "=", "ok"), Where("modality", "=", "image"),
                       Where("created_at", ">=", "2026-11-30T00:00:00.000Z")],
        "fields": list(HIT_FIELDS),
        "limit": 3,
    }]  # fmt: skip
    assert found == {
        "query": "a cat",
        "backend": "vector",
        "count": 1,
        "results": [{"id": "a" * 64, "name": "cat.jpg", "modality": "image", "score": 0.8123,
                     "matched": "tiger cat", "created_at": "2026-11-30T12:00:00.000Z"}],
    }  # fmt: skip


# ---- the exact scan (the local emulator) --------------------------------------------


def scan(**params: str) -> dict[str, Any]:
    return search_stored(cast(DocumentContainer, library()), request(**params), Embedder(),
                         backend="scan")  # fmt: skip


def test_the_scan_ranks_every_modality_by_its_stored_vector() -> None:
    found = scan(q="a cat")
    names = [hit["name"] for hit in found["results"]]
    # Only results with a stored vector: not the silent audio, the rejection, the old one.
    assert sorted(names) == ["cat-notes.txt", "cat.jpg", "coffee.txt", "rain.flac"]
    assert sorted(names[:2]) == ["cat-notes.txt", "cat.jpg"]
    hits = {hit["name"]: hit for hit in found["results"]}
    assert hits["cat.jpg"]["matched"] == "tiger cat"
    assert hits["cat-notes.txt"]["matched"] == "embedding"
    assert found["backend"] == "scan" and found["count"] == 4
    # The score is the cosine of the codes, which is the floats' within quantization.
    expected = cosine(toy_vector("a cat"), toy_vector("tiger cat"))
    assert hits["cat.jpg"]["score"] == pytest.approx(expected, abs=0.01)
    assert scan(q="rain")["results"][0]["name"] == "rain.flac"
    assert scan(q="coffee")["results"][0]["name"] == "coffee.txt"


def test_the_scan_keeps_the_filters_and_the_limit() -> None:
    assert [h["name"] for h in scan(q="a cat", modality="text")["results"]] == [
        "cat-notes.txt", "coffee.txt"
    ]  # fmt: skip
    # Created 2026-11-21 (cat.jpg) … 2026-11-25 (cat-notes.txt).
    window = scan(q="a cat", since="2026-11-22", until="2026-11-25")
    assert sorted(h["name"] for h in window["results"]) == ["coffee.txt", "rain.flac"]
    assert scan(q="a cat", limit="1")["count"] == 1


def test_the_scan_reads_every_page() -> None:
    from prism.search import scan_nearest

    documents = library()
    codes = int8_codes(toy_vector("a cat"))
    conditions = [Where("status", "=", "ok")]
    everything = scan_nearest(cast(DocumentContainer, documents), codes, conditions, 10)
    paged = scan_nearest(cast(DocumentContainer, documents), codes, conditions, 10, page_size=2)
    assert paged == everything and len(paged) == 4


# ---- the request --------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"q": ""},
        {"q": "   "},
        {"q": "x" * (MAX_QUERY_CHARS + 1)},
        {"q": "a\x00cat"},
        {"q": "cat", "limit": "0"},
        {"q": "cat", "limit": "51"},
        {"q": "cat", "limit": "ten"},
        {"q": "cat", "limit": "１０"},
        {"q": "cat", "modality": "unrouted"},
        {"q": "cat", "since": "last week"},
        {"q": "cat", "status": "ok"},  # a listing's filter, not search's
        {"q": "cat", "prefix": "a"},
        {"query": "cat"},
    ],
)
def test_a_malformed_search_is_a_coded_bad_request(params: dict[str, str]) -> None:
    with pytest.raises(PermanentError) as raised:
        request(**params)
    assert raised.value.code is ErrorCode.BAD_REQUEST and raised.value.http_status == 400
    assert raised.value.message


def test_a_query_of_words_in_any_script_or_a_number_is_searched() -> None:
    assert [request(q=q).query for q in ("猫", "кот", "2026", "a\u200bcat")] == [
        "猫", "кот", "2026", "a\u200bcat"
    ]  # fmt: skip


def test_a_search_request_takes_its_words_filters_limit_and_the_function_key() -> None:
    parsed = request(q="  a cat ", modality="audio", until="2026-12-01", limit="50", code="k")
    assert parsed.query == "a cat" and parsed.limit == 50
    assert parsed.conditions == (
        Where("modality", "=", "audio"),
        Where("created_at", "<", "2026-12-01T00:00:00.000Z"),
    )
    assert request(q="x" * MAX_QUERY_CHARS).limit == 10


# ---- which backend ------------------------------------------------------------------


def test_auto_scans_only_against_the_local_emulator() -> None:
    assert search_backend("auto", emulator=True) == "scan"
    assert search_backend("auto", emulator=False) == "vector"
    assert search_backend("vector", emulator=True) == "vector"
    assert search_backend("scan", emulator=False) == "scan"


def test_the_backend_follows_the_configured_cosmos_db_endpoint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PRISM_COSMOS__accountEndpoint", "https://127.0.0.1:8081/")
    assert configured_backend("auto") == "scan"
    monkeypatch.setenv("PRISM_COSMOS__accountEndpoint", "https://prism.documents.azure.com:443/")
    assert configured_backend("auto") == "vector"
    assert configured_backend("scan") == "scan"


def test_the_search_setting_is_checked() -> None:
    assert load_settings({}).search == "auto"
    assert load_settings({"PRISM_SEARCH": "scan"}).search == "scan"
    with pytest.raises(ConfigurationError, match="PRISM_SEARCH"):
        load_settings({"PRISM_SEARCH": "fast"})


# ---- the pipeline writes the field --------------------------------------------------


class WordsEngine(StubEngine):
    """Images are labelled with their bytes, texts embedded by the toy model; words
    holding 'reject' are refused by the text model."""

    def run(self, modality: Modality, payloads: Sequence[bytes]) -> list[Outcome]:
        super().run(modality, payloads)
        outcomes = []
        for payload in payloads:
            words = payload.decode()
            if modality is Modality.IMAGE:
                outcomes.append(Outcome(result=image(words)))
            elif "reject" in words:
                outcomes.append(Outcome(error=PermanentError(ErrorCode.TOO_LONG, "too long")))
            else:
                outcomes.append(Outcome(result=text(words)))
        return outcomes


def words_pipeline() -> Any:
    settings = load_settings({}, text_batch_size=1, search="scan")
    return make_pipeline(settings, engine=WordsEngine(settings))


def test_the_pipeline_stores_every_ok_result_with_its_search_field() -> None:
    pipeline = words_pipeline()

    async def scenario() -> list[dict[str, Any]]:
        return [
            await pipeline.infer_bytes(b"tiger cat", name="cat.jpg", modality=Modality.IMAGE),
            await pipeline.infer_bytes(b"coffee", name="c.txt", modality=Modality.TEXT),
            await pipeline.infer_bytes(b"reject me", name="r.jpg", modality=Modality.IMAGE),
        ]

    cat, coffee, refused = asyncio.run(scenario())
    assert cat["search"] == {"vector": int8_codes(toy_vector("tiger cat")), "words": "tiger cat"}
    assert coffee["search"] == {
        "vector": int8_codes(decode_embedding(coffee["result"]["embedding"]))
    }
    # Words the text model refuses leave the result ok and unsearchable.
    assert refused["status"] == "ok" and "search" not in refused
    stored_cat = pipeline.results.read(cat["id"], cat["id"])
    assert stored_cat is not None and stored_cat["search"] == cat["search"]
    found = search_stored(pipeline.results, request(q="a cat"), Embedder(), backend="scan")
    assert [hit["name"] for hit in found["results"]] == ["cat.jpg", "c.txt"]


# ---- prism search --stored ----------------------------------------------------------


def test_prism_search_stored_ranks_as_the_api_does(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json
    from types import SimpleNamespace

    import prism.client
    import prism_tools.commands.pipeline
    from prism_tools.cli import main
    from prism_tools.commands import search as command

    documents = library()
    monkeypatch.setattr(prism_tools.commands.pipeline, "use_local_stack", lambda: None)
    monkeypatch.setattr(prism.client, "connect", lambda: SimpleNamespace(results=documents))
    monkeypatch.setattr(command, "get_engine", lambda: WordsEngine(load_settings({})))
    monkeypatch.setenv("PRISM_SEARCH", "scan")
    from prism.settings import get_settings

    get_settings.cache_clear()
    try:
        assert main(["search", "a cat", "--stored", "--modality", "text", "--json"]) == 0
        found = json.loads(capsys.readouterr().out)
        assert found["backend"] == "scan"
        assert [hit["name"] for hit in found["results"]] == ["cat-notes.txt", "coffee.txt"]
        # Created 2026-11-21 … 2026-11-25: only rain.flac and coffee.txt fall in this window.
        assert main(["search", "rain", "--stored", "--since", "2026-11-22",
                     "--until", "2026-11-24"]) == 0  # fmt: skip
        table = capsys.readouterr().out
        assert "rain.flac" in table and "coffee.txt" in table and "cat.jpg" not in table
        assert table.index("rain.flac") < table.index("coffee.txt")
        assert main(["search", "rain", "--stored", "--since", "soon"]) == 2
        assert "since" in capsys.readouterr().err
    finally:
        get_settings.cache_clear()


def test_importing_search_loads_no_sdk_and_no_numpy() -> None:
    # The CLI and the OpenAPI document import it: the SDKs load when a search runs.
    import subprocess
    import sys

    script = ("import sys, prism.search; print(sorted(m for m in ('azure.cosmos', "
              "'azure.storage.blob', 'numpy', 'onnxruntime') if m in sys.modules))")  # fmt: skip
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True).stdout.strip()  # fmt: skip
    assert loaded == "[]"
