"""The local host's queue and HTTP semantics, against the fake queue service and the
fake worker (held to Azurite and to Microsoft's worker runtime by the contract tests
in tests/integration)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import pytest

from prism.errors import ConfigurationError
from prism.storage import MessageQueues, json_body, poison_queue_name
from prism_local.devhost import DevHost, HostConfig, QueueOptions
from prism_local.devhost.bindings import Connections
from prism_local.devhost.indexing import function_spec
from tests.fake_worker import FakeInvocation, FakeWorker
from tests.fakes import FakeMessageQueues

QUEUE = "jobs"
ENVIRON = {"JOBS": QUEUE, "STORE": "UseDevelopmentStorage=true", "PRISM_FUNCTION_KEY": "k"}


class FakeConnections(Connections):
    def __init__(self, queues: FakeMessageQueues, environ: Mapping[str, str]) -> None:
        super().__init__(environ)
        self.fake = queues

    def queues(self, name: str | None) -> MessageQueues:
        return self.fake


QUEUE_TRIGGER: dict[str, object] = {"name": "msg", "type": "queueTrigger", "direction": "IN",
                 "queueName": "%JOBS%", "connection": "STORE"}  # fmt: skip


def queue_app(behaviour: Any) -> FakeWorker:
    async def work(invocation: FakeInvocation) -> None:
        await behaviour(invocation)

    return FakeWorker({"work": ([QUEUE_TRIGGER], work)})


def host_for(worker: FakeWorker, queues: FakeMessageQueues, options: QueueOptions) -> DevHost:
    return DevHost(worker, HostConfig(queues=options), ENVIRON, FakeConnections(queues, ENVIRON))


def run(host: DevHost) -> None:
    asyncio.run(host.run_until_idle(timeout=10))


def test_message_that_keeps_failing_is_poisoned_after_max_dequeue_count() -> None:
    counts: list[int | None] = []

    async def fail(msg: FakeInvocation) -> None:
        counts.append(msg.dequeue_count)
        raise RuntimeError("transient")

    queues = FakeMessageQueues()
    queues.ensure_queue(QUEUE)
    queues.send(QUEUE, json_body({"n": 1}))
    host = host_for(queue_app(fail), queues, QueueOptions(max_dequeue_count=3))

    run(host)

    assert counts == [1, 2, 3]
    assert queues.approximate_count(QUEUE) == 0
    [poisoned] = queues.receive(poison_queue_name(QUEUE), max_messages=1, visibility_timeout=1)
    assert poisoned.json() == {"n": 1}


def test_message_that_fails_once_succeeds_on_redelivery_and_is_deleted() -> None:
    counts: list[int | None] = []

    async def flaky(msg: FakeInvocation) -> None:
        counts.append(msg.dequeue_count)
        if msg.dequeue_count == 1:
            raise RuntimeError("transient")

    queues = FakeMessageQueues()
    queues.ensure_queue(QUEUE)
    queues.send(QUEUE, b"{}")
    host = host_for(queue_app(flaky), queues, QueueOptions())

    run(host)

    assert counts == [1, 2]
    assert (host.stats.succeeded["work"], host.stats.failed["work"]) == (1, 1)
    assert queues.approximate_count(QUEUE) == 0
    assert poison_queue_name(QUEUE) not in queues.queues


def test_message_delivered_past_the_maximum_is_poisoned_without_running() -> None:
    ran: list[int | None] = []

    async def record(msg: FakeInvocation) -> None:
        ran.append(msg.dequeue_count)

    queues = FakeMessageQueues()
    queues.ensure_queue(QUEUE)
    queues.send(QUEUE, b"{}")
    for _ in range(2):  # two deliveries whose invocations died with their host
        [lost] = queues.receive(QUEUE, max_messages=1, visibility_timeout=1)
        queues.release(lost, visibility_timeout=0)

    run(host_for(queue_app(record), queues, QueueOptions(max_dequeue_count=2)))

    assert ran == []
    assert queues.approximate_count(poison_queue_name(QUEUE)) == 1


def test_message_that_is_not_base64_is_poisoned_at_once_without_running() -> None:
    async def never(msg: FakeInvocation) -> None:
        raise AssertionError("must not run")

    queues = FakeMessageQueues()
    queues.ensure_queue(QUEUE)
    queues.send_content(QUEUE, "{not base64}")
    host = host_for(queue_app(never), queues, QueueOptions(max_dequeue_count=5))

    run(host)

    assert host.stats.failed["work"] == 0  # never retried: decoding cannot succeed later
    [poisoned] = queues.receive(poison_queue_name(QUEUE), max_messages=1, visibility_timeout=1)
    assert poisoned.dequeue_count == 1


def test_message_encoding_none_hands_the_text_over_as_it_is() -> None:
    bodies: list[bytes] = []

    async def record(msg: FakeInvocation) -> None:
        bodies.append(msg.body)

    queues = FakeMessageQueues()
    queues.ensure_queue(QUEUE)
    queues.send_content(QUEUE, '{"plain": "text"}')
    run(host_for(queue_app(record), queues, QueueOptions(message_encoding="none")))

    assert bodies == [b'{"plain": "text"}']


def test_an_invocation_past_the_function_timeout_fails_and_is_retried() -> None:
    counts: list[int | None] = []

    async def hang_once(msg: FakeInvocation) -> None:
        counts.append(msg.dequeue_count)
        if msg.dequeue_count == 1:
            await asyncio.Event().wait()  # never finishes by itself

    queues = FakeMessageQueues()
    queues.ensure_queue(QUEUE)
    queues.send(QUEUE, b"{}")
    host = DevHost(
        queue_app(hang_once),
        HostConfig(queues=QueueOptions(), function_timeout=0.05),
        ENVIRON,
        FakeConnections(queues, ENVIRON),
    )
    run(host)

    assert counts == [1, 2]
    assert (host.stats.failed["work"], host.stats.succeeded["work"]) == (1, 1)


def test_host_json_function_timeout_and_message_encoding_are_read() -> None:
    config = HostConfig.from_json(
        {"version": "2.0", "functionTimeout": "00:05:00",
         "extensions": {"queues": {"messageEncoding": "none"}}}
    )  # fmt: skip
    assert (config.function_timeout, config.queues.message_encoding) == (300.0, "none")
    assert (
        HostConfig.from_json({"version": "2.0", "functionTimeout": "-1"}).function_timeout is None
    )
    with pytest.raises(ConfigurationError, match="messageEncoding"):
        HostConfig.from_json({"version": "2.0", "extensions": {"queues": {"messageEncoding": "x"}}})


def test_concurrency_stays_within_batch_size_plus_new_batch_threshold() -> None:
    running = {"now": 0, "peak": 0}

    async def slow(msg: FakeInvocation) -> None:
        running["now"] += 1
        running["peak"] = max(running["peak"], running["now"])
        await asyncio.sleep(0.01)
        running["now"] -= 1

    queues = FakeMessageQueues()
    queues.ensure_queue(QUEUE)
    for n in range(20):
        queues.send(QUEUE, json_body({"n": n}))
    options = QueueOptions(batch_size=2, new_batch_threshold=1)

    run(host_for(queue_app(slow), queues, options))

    assert 1 < running["peak"] <= options.max_concurrency == 3
    assert queues.approximate_count(QUEUE) == 0


def http_host() -> DevHost:
    async def echo(invocation: FakeInvocation) -> tuple[int, bytes]:
        payload = {"word": invocation.route_params["word"], "body": invocation.body.decode()}
        return 201, json.dumps(payload).encode()

    async def boom(invocation: FakeInvocation) -> None:
        raise RuntimeError("bug")

    def route(route: str, methods: list[str], auth_level: str) -> list[dict[str, object]]:
        return [
            {"name": "req", "type": "httpTrigger", "direction": "IN", "route": route,
             "methods": methods, "authLevel": auth_level},
            {"name": "$return", "type": "http", "direction": "OUT"},
        ]  # fmt: skip

    worker = FakeWorker(
        {
            "echo": (route("v1/echo/{word}", ["POST"], "FUNCTION"), echo),
            "boom": (route("boom", [], "ANONYMOUS"), boom),
        }
    )
    host = DevHost(worker, HostConfig(), ENVIRON, FakeConnections(FakeMessageQueues(), ENVIRON))
    asyncio.run(host.start())
    return host


def test_http_request_reaches_the_function_with_route_params_and_body() -> None:
    answer = asyncio.run(
        http_host().handle_http("POST", "/api/v1/echo/hi?code=k", {"Host": "h"}, b"data")
    )
    assert (answer.status, json.loads(answer.body)) == (201, {"word": "hi", "body": "data"})


def test_http_function_route_without_the_key_is_401_and_a_crash_is_500() -> None:
    host = http_host()
    assert asyncio.run(host.handle_http("POST", "/api/v1/echo/hi", {}, b"")).status == 401
    assert asyncio.run(host.handle_http("GET", "/api/boom", {}, b"")).status == 500


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("OPTIONS", "/api/v1/echo/hi", 405, "method_not_allowed"),
        ("TRACE", "/api/v1/echo/hi", 405, "method_not_allowed"),
        ("GET", "/api/nowhere", 404, "not_found"),
        ("POST", "/api/v1/echo/hi", 401, "unauthorized"),
        ("GET", "/api/boom", 500, "internal"),
    ],
)
def test_every_answer_the_host_gives_itself_is_a_json_error_with_its_code(
    method: str, path: str, status: int, code: str
) -> None:
    answer = asyncio.run(http_host().handle_http(method, path, {}, b""))
    assert answer.status == status
    assert answer.headers["Content-Type"].startswith("application/json")
    error = json.loads(answer.body)["error"]
    assert set(error) == {"code", "message"} and error["code"] == code


def test_a_wrong_method_is_answered_405_with_the_methods_the_route_takes() -> None:
    # RFC 9110 section 15.5.6: a 405 carries Allow.
    answer = asyncio.run(http_host().handle_http("TRACE", "/api/v1/echo/hi", {}, b""))
    assert answer.status == 405
    assert answer.headers["Allow"] == "POST"
    assert "takes POST" in json.loads(answer.body)["error"]["message"]


def test_indexing_rejects_bindings_the_local_host_cannot_carry_out() -> None:
    cosmos_output = {"name": "doc", "type": "cosmosDB", "direction": "OUT",
                     "databaseName": "d", "containerName": "c", "connection": "COSMOS"}  # fmt: skip
    with pytest.raises(ConfigurationError, match="cosmosDB"):
        function_spec("to_cosmos", "id", [json.dumps(QUEUE_TRIGGER), json.dumps(cosmos_output)])


def test_indexing_wants_exactly_one_trigger() -> None:
    with pytest.raises(ConfigurationError, match="expected one trigger"):
        function_spec("twice", "id", [json.dumps(QUEUE_TRIGGER)] * 2)
