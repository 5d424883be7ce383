"""A language worker in memory, for the local host's unit tests only.

``tests/integration/test_worker_contract.py`` sends the same invocations to this fake
and to Microsoft's worker runtime, so the fake cannot drift from what the real worker
answers.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from prism_local.devhost.indexing import FunctionSpec, function_spec
from prism_local.devhost.worker import WorkerUnavailableError
from prism_local.functionrpc import messages


@dataclass(frozen=True)
class FakeInvocation:
    """What a fake worker's function sees of one invocation: the trigger's bytes, the
    queue message's dequeue count, and an HTTP request's route parameters."""

    body: bytes
    dequeue_count: int | None = None
    route_params: Mapping[str, str] = field(default_factory=dict)


# A fake function: async, takes the invocation, returns an HTTP (status, body) or None;
# raising fails the invocation, as a function that raises does in the worker.
FakeFunction = Callable[[FakeInvocation], Awaitable[tuple[int, bytes] | None]]


class FakeWorker:
    """:class:`prism_local.devhost.worker.Worker` in memory, speaking the same FunctionRpc
    messages as Microsoft's runtime: functions are callables given by name with their
    raw bindings (``function.json`` entries)."""

    def __init__(
        self, functions: Mapping[str, tuple[list[dict[str, object]], FakeFunction]]
    ) -> None:
        self.functions = dict(functions)
        self.running = False
        self.starts = 0
        self.invocations: list[str] = []
        self._ended: asyncio.Event | None = None

    async def start(self) -> list[FunctionSpec]:
        self.running = True
        self.starts += 1
        self._ended = asyncio.Event()
        return [
            function_spec(name, f"id-{name}", [json.dumps(binding) for binding in bindings])
            for name, (bindings, _) in self.functions.items()
        ]

    async def alive(self) -> bool:
        return self.running

    async def ended(self) -> None:
        assert self._ended is not None, "the worker was never started"
        await self._ended.wait()

    async def stop(self) -> None:
        self.running = False
        if self._ended is not None:
            self._ended.set()

    def crash(self) -> None:
        """Its process dies: it ends without having been stopped."""
        self.running = False
        if self._ended is not None:
            self._ended.set()

    async def invoke(
        self, spec: FunctionSpec, input_data: Sequence[Any], trigger_metadata: Mapping[str, Any]
    ) -> Any:
        protos = messages()
        if not self.running:
            raise WorkerUnavailableError("the worker process is not running")
        self.invocations.append(spec.name)
        (binding,) = input_data
        data = binding.data
        route_params: dict[str, str] = {}
        if data.WhichOneof("data") == "http":
            body = bytes(data.http.body.bytes)
            route_params = dict(data.http.params)
        else:
            body = data.string.encode() if data.WhichOneof("data") == "string" else data.bytes
        count = trigger_metadata.get("DequeueCount")
        invocation = FakeInvocation(
            body, None if count is None else json.loads(count.json), route_params
        )
        response = protos.InvocationResponse(invocation_id="fake")
        try:
            answer = await self.functions[spec.name][1](invocation)
        except Exception as exc:
            response.result.status = protos.StatusResult.Failure
            response.result.exception.message = str(exc)
            return response
        response.result.status = protos.StatusResult.Success
        if answer is not None:
            status, content = answer
            response.return_value.http.status_code = str(status)
            response.return_value.http.body.bytes = content
        return response
