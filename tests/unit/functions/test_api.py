"""The HTTP API's handlers, called as the worker calls them, over an in-memory pipeline:
ids and numbers from callers, blocking calls kept off the event loop, the health route."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import azure.functions as func
import pytest

from functions import api
from prism import pipeline as pipeline_module
from prism.http_contract import ListParameters
from prism.pipeline import Pipeline
from tests.fakes import FakeDocuments, RecordingDocuments
from tests.unit.stubs import make_pipeline


def handler(name: str) -> Callable[[func.HttpRequest], Any]:
    for builder in api.bp._function_builders:
        function = builder.build()
        if function.get_function_name() == name:
            return function.get_user_function()
    raise LookupError(name)


def get(url: str, route_params: dict[str, str] | None = None) -> func.HttpRequest:
    query = url.partition("?")[2]
    params = dict(parse_qsl(query, keep_blank_values=True))
    return func.HttpRequest(
        "GET", f"http://h{url}", headers={}, params=params, route_params=route_params or {},
        body=b"",
    )  # fmt: skip


def call(name: str, url: str, route_params: dict[str, str] | None = None) -> tuple[int, Any]:
    response = asyncio.run(handler(name)(get(url, route_params)))
    return response.status_code, json.loads(response.get_body())


@pytest.fixture
def results(monkeypatch: pytest.MonkeyPatch) -> RecordingDocuments:
    documents = RecordingDocuments()
    monkeypatch.setattr(pipeline_module, "get_pipeline", lambda: make_pipeline(results=documents))
    return documents


@pytest.mark.parametrize("document_id", [".", "..", "%2e", "a" * 64 + "/x", "A" * 64, "0" * 63,
                                         "0" * 65, "docs", "' OR 1=1"])  # fmt: skip
def test_an_id_that_cannot_be_a_result_id_is_404_without_touching_storage(
    results: RecordingDocuments, document_id: str
) -> None:
    status, body = call("api_result", f"/api/v1/results/{document_id}", {"id": document_id})
    assert status == 404 and body["error"]["code"] == "not_found"
    assert results.asked == []
    assert document_id not in body["error"]["message"]


def test_a_well_formed_unknown_id_is_404_after_a_point_read(results: RecordingDocuments) -> None:
    status, _ = call("api_result", "/api/v1/results/x", {"id": "0" * 64})
    assert status == 404 and results.asked and set(results.asked) == {"0" * 64}


@pytest.mark.parametrize("limit", ["²", "１０", "١٠", "1_0", "-1", "0", "501", "", "ten"])
def test_limit_is_parsed_strictly(results: RecordingDocuments, limit: str) -> None:
    status, body = call("api_results", f"/api/v1/results?limit={limit}")
    assert status == 400 and body["error"]["code"] == "bad_request"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("continuation=garbled!", "bad_request"),  # not of a token's form
        ("continuation=garbled", "invalid_continuation"),  # of its form, but not issued
        ("continuation=eyJ2IjogMX0", "invalid_continuation"),  # {"v": 1}
        ("status=done", "bad_request"),
        ("since=last-week", "bad_request"),
        ("since=2026-11-30T16:08Z", "bad_request"),  # RFC 3339 times have seconds
        ("since=2026-02-30", "bad_request"),  # the form of a date, but no day
        ("blob=a%00b", "bad_request"),  # a control character
        ("latest=true&blob=a", "bad_request"),  # a blob's state is GET /v1/files
        ("modalty=text", "bad_request"),  # a mistyped filter would list everything
    ],
)
def test_a_malformed_listing_is_a_400_with_its_code_before_any_storage_call(
    results: RecordingDocuments, query: str, code: str
) -> None:
    status, body = call("api_results", f"/api/v1/results?{query}")
    assert status == 400 and body["error"]["code"] == code
    assert results.asked == []


def test_every_wrong_parameter_is_named_at_once_with_what_it_takes(
    results: RecordingDocuments,
) -> None:
    status, body = call("api_results", "/api/v1/results?limit=0&status=done&modality=x")
    message = body["error"]["message"]
    assert status == 400
    assert "limit: Input should be greater than or equal to 1" in message
    assert "status: must be one of ok, rejected" in message
    # The listing's modality takes unrouted; its message says so.
    assert "modality: must be one of image, audio, text, document, video, unrouted" in message


@pytest.mark.parametrize(
    ("query", "since", "until"),
    [
        ("since=2026-11-30", "2026-11-30T00:00:00.000Z", None),
        ("since=2026-11-30T17:08:55%2B01:00", "2026-11-30T16:08:55.000Z", None),
        ("until=2026-11-30t16:08:55.1234z", None, "2026-11-30T16:08:55.123Z"),
        ("until=2016-12-31T23:59:60Z", None, "2016-12-31T23:59:59.999Z"),  # a leap second
    ],
)
def test_times_are_any_rfc_3339_date_or_date_time_compared_in_utc(
    query: str, since: str | None, until: str | None
) -> None:
    parameters = ListParameters.from_params(dict(parse_qsl(query)))
    assert (parameters.since, parameters.until) == (since, until)


@pytest.mark.parametrize("query", ["blob=a&prefix=a", "since=2026-12-01&until=2026-11-30"])
def test_filters_that_keep_nothing_together_list_nothing_rather_than_refuse(
    results: RecordingDocuments, query: str
) -> None:
    # Each is schema-valid: the contract answers it with an empty page, not a 400.
    results.upsert({"id": f"{1:064x}", "created_at": "2026-11-30T12:00:00.000Z",
                    "modality": "text", "status": "ok", "source": {"blob": "b"}})  # fmt: skip
    status, body = call("api_results", f"/api/v1/results?{query}")
    assert status == 200 and body["results"] == []


def test_a_listing_takes_the_function_key_beside_its_filters(results: RecordingDocuments) -> None:
    status, body = call("api_results", "/api/v1/results?code=the-key&modality=text")
    assert status == 200 and body["results"] == []


def test_a_listing_answers_its_page_and_the_token_for_the_next(
    results: RecordingDocuments,
) -> None:
    for n in range(3):
        results.upsert({"id": f"{n:064x}", "created_at": f"2026-11-30T12:00:0{n}.000Z",
                        "modality": "text", "status": "ok"})  # fmt: skip
    status, first = call("api_results", "/api/v1/results?limit=2&modality=text")
    assert status == 200 and first["count"] == 2 and first["continuation"]
    status, second = call(
        "api_results", f"/api/v1/results?limit=2&modality=text&continuation={first['continuation']}"
    )
    assert status == 200 and [d["id"] for d in second["results"]] == [f"{0:064x}"]
    assert second["continuation"] is None


class BlockingDocuments(FakeDocuments):
    """Its read blocks until another coroutine on the event loop says so: if the API
    ran the read on the loop, that coroutine could never run and the read would fail."""

    def __init__(self) -> None:
        super().__init__()
        self.unblocked = threading.Event()
        self.loop_was_blocked = False  # the health route turns the failed read into a 503

    def read(self, document_id: str, partition_value: object) -> dict[str, object] | None:
        if not self.unblocked.wait(10):
            self.loop_was_blocked = True
            raise AssertionError("the event loop was blocked while storage was slow")
        return super().read(document_id, partition_value)

    def page(self, conditions: object = (), **options: Any) -> list[dict[str, object]]:
        self.read("any", "any")
        return []


@pytest.mark.parametrize(
    ("name", "url", "route_params"),
    [
        ("api_result", "/api/v1/results/x", {"id": "0" * 64}),
        ("api_results", "/api/v1/results?limit=5", {}),
        ("api_health", "/api/v1/health", {}),
    ],
)
def test_a_slow_storage_call_never_blocks_the_event_loop(
    monkeypatch: pytest.MonkeyPatch, name: str, url: str, route_params: dict[str, str]
) -> None:
    documents = BlockingDocuments()
    pipeline = make_pipeline(results=documents, blobs=AlwaysThere())
    monkeypatch.setattr(pipeline_module, "get_pipeline", lambda: pipeline)
    request = get(url, route_params)

    async def scenario() -> int:
        async def meanwhile() -> None:
            documents.unblocked.set()  # runs only if the loop is free

        response, _ = await asyncio.gather(handler(name)(request), meanwhile())
        status: int = response.status_code
        return status

    assert asyncio.run(scenario()) in (200, 404, 503)
    assert not documents.loop_was_blocked


class AlwaysThere:
    """Blob storage whose containers all exist (health reads only)."""

    def container_exists(self, container: str) -> bool:
        return True


def test_health_tells_anonymous_callers_only_which_dependency_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pipeline: Pipeline = make_pipeline(blobs=AlwaysThere())
    monkeypatch.setattr(pipeline_module, "get_pipeline", lambda: pipeline)
    status, body = call("api_health", "/api/v1/health")
    assert set(body) == {"status", "checks"}
    assert all(isinstance(ok, bool) for ok in body["checks"].values())
    assert body["checks"]["storage"] is True
    assert body["checks"]["queues"] is False  # the fake queues were never created
    assert status == 503 and body["status"] == "degraded"
    assert "Traceback" not in json.dumps(body) and "not found" not in json.dumps(body)
