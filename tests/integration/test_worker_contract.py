"""One set of invocations, two workers: Microsoft's Python worker runtime serving
tests/fixtures/apps/contract_app.py, and the unit tests' fake worker. A check that
passes on one and fails on the other is a fake that lies."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from prism.storage import ReceivedMessage
from prism_local.devhost import RuntimeWorker, Worker
from prism_local.devhost.bindings import HttpCall, http_inputs, http_result, queue_inputs
from prism_local.devhost.indexing import FunctionSpec
from prism_local.devhost.worker import WorkerUnavailableError, invocation_failure
from tests.fake_worker import FakeInvocation, FakeWorker

APPS = Path(__file__).resolve().parent.parent / "fixtures" / "apps"


async def work(invocation: FakeInvocation) -> None:
    if invocation.body == b"count":
        raise RuntimeError(f"dequeue count {invocation.dequeue_count}")
    if b"fail" in invocation.body:
        raise RuntimeError("failed on purpose")


async def echo(invocation: FakeInvocation) -> tuple[int, bytes]:
    payload = {"word": invocation.route_params["word"], "body": invocation.body.decode()}
    return 201, json.dumps(payload).encode()


def fake() -> Worker:
    queue: dict[str, object] = {"name": "msg", "type": "queueTrigger", "direction": "IN",
                                "queueName": "jobs", "connection": "STORE"}  # fmt: skip
    http: list[dict[str, object]] = [
        {"name": "req", "type": "httpTrigger", "direction": "IN", "route": "echo/{word}",
         "methods": ["POST"], "authLevel": "ANONYMOUS"},
        {"name": "$return", "type": "http", "direction": "OUT"},
    ]  # fmt: skip
    return FakeWorker({"work": ([queue], work), "echo": (http, echo)})


def real() -> Worker:
    return RuntimeWorker(APPS, {}, script_file="contract_app.py")


@pytest.fixture(params=[pytest.param(real, marks=pytest.mark.integration, id="runtime"),
                        pytest.param(fake, id="fake")])  # fmt: skip
def worker(request: pytest.FixtureRequest) -> Callable[[], Worker]:
    factory: Callable[[], Worker] = request.param
    return factory


def with_worker(make: Callable[[], Worker], scenario: Callable[..., Awaitable[Any]]) -> Any:
    async def run() -> Any:
        worker = make()
        specs = {spec.name: spec for spec in await worker.start()}
        try:
            return await scenario(worker, specs)
        finally:
            await worker.stop()

    return asyncio.run(run())


def message(body: bytes, dequeue_count: int = 1) -> tuple[ReceivedMessage, bytes]:
    now = datetime.now(UTC)
    received = ReceivedMessage("jobs", "id-1", "receipt", dequeue_count, "", now, now)
    return received, body


def test_both_index_the_same_functions_and_bindings(worker: Callable[[], Worker]) -> None:
    async def scenario(_: Worker, specs: dict[str, FunctionSpec]) -> None:
        assert sorted(specs) == ["echo", "work"]
        assert specs["work"].trigger.type == "queueTrigger"
        assert specs["echo"].trigger.get("route") == "echo/{word}"
        assert [o.name for o in specs["echo"].outputs] == ["$return"]

    with_worker(worker, scenario)


def test_a_queue_invocation_succeeds_or_reports_the_functions_failure(
    worker: Callable[[], Worker],
) -> None:
    async def scenario(worker: Worker, specs: dict[str, FunctionSpec]) -> list[str | None]:
        outcomes = []
        for body, count in ((b"ok", 1), (b"please fail", 1), (b"count", 3)):
            inputs = queue_inputs(specs["work"], *message(body, count))
            response = await worker.invoke(specs["work"], inputs.data, inputs.trigger_metadata)
            outcomes.append(invocation_failure(response))
        return outcomes

    ok, failed, counted = with_worker(worker, scenario)
    assert ok is None
    assert failed is not None and "failed on purpose" in failed
    assert counted is not None and "dequeue count 3" in counted


def test_an_http_invocation_answers_with_its_route_parameter_and_body(
    worker: Callable[[], Worker],
) -> None:
    async def scenario(worker: Worker, specs: dict[str, FunctionSpec]) -> Any:
        call = HttpCall("POST", "http://h/api/echo/hi", {}, {}, {"word": "hi"}, b"data")
        inputs = http_inputs(specs["echo"], call)
        return http_result(await worker.invoke(specs["echo"], inputs.data, {}))

    result = with_worker(worker, scenario)
    assert result is not None and result.status == 201
    assert json.loads(result.body) == {"word": "hi", "body": "data"}


def test_a_stopped_worker_has_ended_and_refuses_what_it_never_received(
    worker: Callable[[], Worker],
) -> None:
    async def scenario() -> None:
        stopped = worker()
        specs = {spec.name: spec for spec in await stopped.start()}
        await stopped.stop()
        async with asyncio.timeout(30):  # returns at once: the worker is gone
            await stopped.ended()
        assert not await stopped.alive()
        call = HttpCall("POST", "http://h/api/echo/hi", {}, {}, {"word": "hi"}, b"data")
        inputs = http_inputs(specs["echo"], call)
        # Never sent, so the host may send it to the next worker as it is.
        with pytest.raises(WorkerUnavailableError):
            await stopped.invoke(specs["echo"], inputs.data, {})

    asyncio.run(scenario())
