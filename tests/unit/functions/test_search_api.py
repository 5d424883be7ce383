"""``GET /api/v1/search`` as the worker calls it, over an in-memory pipeline whose
results carry their search field: hits, coded 400s before any model or storage call,
the scan kept off the event loop, and a ``modality`` error that lists what each route
takes (search and infer: the modalities; the listing: unrouted too)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import azure.functions as func
import pytest

from prism import pipeline as pipeline_module
from prism.modality import Modality
from tests.unit.functions.test_api import BlockingDocuments, call, get, handler
from tests.unit.stubs import make_pipeline
from tests.unit.test_search_stored import WordsEngine, words_pipeline

MODALITIES = tuple(modality.value for modality in Modality)


@pytest.fixture
def pipeline(monkeypatch: pytest.MonkeyPatch) -> Any:
    built = words_pipeline()

    async def store() -> None:
        await built.infer_bytes(b"tiger cat", name="cat.jpg", modality=Modality.IMAGE)
        await built.infer_bytes(b"rain tomorrow", name="rain.jpg", modality=Modality.IMAGE)
        await built.infer_bytes(b"coffee", name="coffee.txt", modality=Modality.TEXT)

    asyncio.run(store())
    monkeypatch.setattr(pipeline_module, "get_pipeline", lambda: built)
    return built


def test_search_answers_stored_results_ranked_by_meaning(pipeline: Any) -> None:
    status, body = call("api_search", "/api/v1/search?q=cat&code=the-key")
    assert status == 200 and body["backend"] == "scan" and body["query"] == "cat"
    names = [hit["name"] for hit in body["results"]]
    assert names[0] == "cat.jpg" and sorted(names[1:]) == ["coffee.txt", "rain.jpg"]
    first = body["results"][0]
    assert first["matched"] == "tiger cat" and first["modality"] == "image"
    assert body["count"] == 3 and -1 <= first["score"] <= 1
    status, body = call("api_search", "/api/v1/search?q=cat&modality=text&limit=1")
    assert status == 200 and [hit["name"] for hit in body["results"]] == ["coffee.txt"]


@pytest.mark.parametrize(
    "query",
    ["", "q=", "q=cat&prefix=a", "q=cat&limit=0", "q=cat&limit=51", "q=cat&modality=pdf",
     "q=cat&since=soon", "q=cat&status=ok", "q=" + "x" * 501],
)  # fmt: skip
def test_a_malformed_search_is_a_coded_400_before_any_model_or_storage_call(
    pipeline: Any, query: str
) -> None:
    engine = pipeline.engine
    assert isinstance(engine, WordsEngine)
    before = list(engine.calls)
    status, body = call("api_search", f"/api/v1/search?{query}")
    assert status == 400 and body["error"]["code"] == "bad_request" and body["error"]["message"]
    assert engine.calls == before


@pytest.mark.parametrize(
    "q", ["\u200b", "\u200b\u200b\u200b", "\u2060", "\ufeff", "\u200d\u00ad", "?!", "\u00a0\u200b"]
)
def test_a_query_without_a_letter_or_digit_is_a_coded_400_not_arbitrary_hits(
    pipeline: Any, q: str
) -> None:
    engine = pipeline.engine
    before = list(engine.calls)

    status, body = call("api_search", f"/api/v1/search?q={q}")

    assert status == 400, body
    assert body["error"]["code"] == "bad_request"
    assert "q" in body["error"]["message"]
    assert "a letter or a digit" in body["error"]["message"]
    assert engine.calls == before


@pytest.mark.parametrize(
    ("route", "url", "takes"),
    [
        ("api_search", "/api/v1/search?q=cat&modality=pdf", MODALITIES),
        ("api_search", "/api/v1/search?q=cat&modality=unrouted", MODALITIES),
        ("api_results", "/api/v1/results?modality=pdf", (*MODALITIES, "unrouted")),
    ],
)
def test_a_modality_error_lists_exactly_what_its_route_takes(
    pipeline: Any, route: str, url: str, takes: tuple[str, ...]
) -> None:
    status, body = call(route, url)

    assert status == 400, body
    message = body["error"]["message"]
    assert message.endswith(f"must be one of {', '.join(takes)}"), message


def test_infers_modality_error_lists_every_modality_and_not_unrouted(pipeline: Any) -> None:
    request = func.HttpRequest(
        "POST", "http://h/api/v1/infer", headers={}, params={"modality": "unrouted"}, body=b"x"
    )

    response = asyncio.run(handler("api_infer")(request))

    assert response.status_code == 400
    message = json.loads(response.get_body())["error"]["message"]
    assert message.endswith(f"must be one of {', '.join(MODALITIES)}"), message


def test_the_scan_never_blocks_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    from prism.settings import load_settings

    documents = BlockingDocuments()
    settings = load_settings({}, text_batch_size=1, search="scan")
    blocked = make_pipeline(settings, results=documents, engine=WordsEngine(settings))
    monkeypatch.setattr(pipeline_module, "get_pipeline", lambda: blocked)

    async def scenario() -> int:
        async def meanwhile() -> None:
            documents.unblocked.set()  # runs only if the loop is free

        response, _ = await asyncio.gather(
            handler("api_search")(get("/api/v1/search?q=cat")), meanwhile()
        )
        status: int = response.status_code
        return status

    assert asyncio.run(scenario()) == 200
