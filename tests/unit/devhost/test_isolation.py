"""The local host keeps answering HTTP whatever storage and the worker do: storage calls
that hang in the SDK hold only the host's storage threads, CPU work on a request stays
off the event loop, and a worker that dies while idle is replaced before a request
needs it. (tests/reliability/test_storage_stall.py does the same to the real host
with Azurite paused and the worker killed.)"""

from __future__ import annotations

import asyncio
import json
import threading

import pytest

from prism.storage import ReceivedMessage
from prism_local.devhost import DevHost, HostConfig
from prism_local.devhost import host as host_module
from prism_local.devhost.bindings import HttpCall, Inputs, http_inputs
from prism_local.devhost.indexing import FunctionSpec
from prism_local.devhost.pools import STORAGE_THREADS
from tests.fake_worker import FakeInvocation, FakeWorker
from tests.fakes import FakeMessageQueues
from tests.unit.devhost.test_host import ENVIRON, QUEUE_TRIGGER, FakeConnections

ECHO: list[dict[str, object]] = [
    {"name": "req", "type": "httpTrigger", "direction": "IN", "route": "v1/echo/{word}",
     "methods": ["POST"], "authLevel": "FUNCTION"},
    {"name": "$return", "type": "http", "direction": "OUT"},
]  # fmt: skip


async def echo(invocation: FakeInvocation) -> tuple[int, bytes]:
    return 201, json.dumps({"word": invocation.route_params["word"]}).encode()


async def nothing(invocation: FakeInvocation) -> None:
    return None


def echo_request(host: DevHost) -> asyncio.Future[int]:
    async def status() -> int:
        return (await host.handle_http("POST", "/api/v1/echo/hi?code=k", {}, b"data")).status

    return asyncio.ensure_future(status())


class HangingQueues(FakeMessageQueues):
    """Every receive hangs until the test lets it go, as against a storage service that
    took the connection and went silent (Azurite SIGSTOPped)."""

    def __init__(self) -> None:
        super().__init__()
        self.let_go = threading.Event()
        self.hanging = 0
        self._count = threading.Lock()

    def receive(
        self, queue: str, *, max_messages: int, visibility_timeout: int
    ) -> list[ReceivedMessage]:
        with self._count:
            self.hanging += 1
        self.let_go.wait(60)
        return []


def test_http_answers_while_every_storage_thread_hangs_on_a_trigger_poll() -> None:
    queues = HangingQueues()
    # More queue triggers than the host has storage threads: every one of them hangs.
    triggers = {f"work{n}": ([QUEUE_TRIGGER], nothing) for n in range(STORAGE_THREADS + 4)}
    worker = FakeWorker({**triggers, "echo": (ECHO, echo)})
    host = DevHost(worker, HostConfig(), ENVIRON, FakeConnections(queues, ENVIRON))

    async def scenario() -> int:
        stop = asyncio.Event()
        serving = asyncio.ensure_future(host.serve(stop))
        try:
            # Generous: far above what an answer takes; the test is not about time.
            async with asyncio.timeout(30):
                while queues.hanging < STORAGE_THREADS:
                    await asyncio.sleep(0.01)
                return await echo_request(host)
        finally:
            queues.let_go.set()
            stop.set()
            await serving

    assert asyncio.run(scenario()) == 201


def test_a_request_body_is_copied_into_its_invocation_off_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    framed_on: list[int] = []

    def recording(spec: FunctionSpec, call: HttpCall) -> Inputs:
        framed_on.append(threading.get_ident())
        return http_inputs(spec, call)

    monkeypatch.setattr(host_module, "http_inputs", recording)
    host = DevHost(FakeWorker({"echo": (ECHO, echo)}), HostConfig(), ENVIRON,
                   FakeConnections(FakeMessageQueues(), ENVIRON))  # fmt: skip

    async def scenario() -> tuple[int, int]:
        await host.start()
        try:
            return threading.get_ident(), await echo_request(host)
        finally:
            await host.stop()

    loop_thread, status = asyncio.run(scenario())
    assert status == 201
    assert framed_on and loop_thread not in framed_on


def echo_host() -> tuple[DevHost, FakeWorker]:
    worker = FakeWorker({"echo": (ECHO, echo)})
    host = DevHost(worker, HostConfig(), ENVIRON, FakeConnections(FakeMessageQueues(), ENVIRON))
    return host, worker


def test_a_worker_that_dies_while_idle_is_replaced_before_the_next_request() -> None:
    host, worker = echo_host()

    async def scenario() -> tuple[int, bool]:
        await host.start()
        try:
            worker.crash()
            async with asyncio.timeout(30):
                while worker.starts < 2:  # noticed with no request to find it dead
                    await asyncio.sleep(0.01)
                return await echo_request(host), await worker.alive()
        finally:
            await host.stop()

    assert asyncio.run(scenario()) == (201, True)


def test_a_request_arriving_as_the_worker_dies_waits_for_the_new_one() -> None:
    host, worker = echo_host()

    async def scenario() -> int:
        await host.start()
        try:
            worker.crash()
            async with asyncio.timeout(30):
                return await echo_request(host)
        finally:
            await host.stop()

    assert asyncio.run(scenario()) == 201
    assert worker.starts == 2 and worker.invocations == ["echo"]
