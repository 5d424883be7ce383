"""The host's side of the language worker: start Microsoft's Python worker runtime in a
process of its own, initialise it, learn the app's functions from its indexing, and
send it invocations — all as FunctionRpc ``StreamingMessage`` frames, the way the
Functions host drives a worker on Azure.

The worker converts every binding itself (HTTP requests, queue messages, SDK-type blob
clients, timers) and reports each invocation's outcome, return value and output
bindings in its ``InvocationResponse``; the host only carries out what it reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import sys
import uuid
from collections.abc import Callable, Mapping, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any, Protocol

from prism.errors import ConfigurationError
from prism_local.devhost.indexing import FunctionSpec, function_spec
from prism_local.devhost.pools import run_cpu
from prism_local.functionrpc import messages
from prism_local.functionrpc.framing import read_frame, write_frame

log = logging.getLogger("prism_local.devhost.worker")

WORKER_PACKAGE = "azure-functions-runtime"
# Where the Functions host finds the app's entry point (PYTHON_SCRIPT_FILE_NAME).
SCRIPT_FILE_SETTING = "PYTHON_SCRIPT_FILE_NAME"
# Indexing imports the app: generous, but bounded (Flex Consumption allows 30 s).
START_TIMEOUT_SECONDS = 120.0
STOP_GRACE_SECONDS = 5.0
HOST_VERSION = "prism-devhost"


class WorkerFailedError(RuntimeError):
    """The worker refused a request, or its process ended."""


class WorkerUnavailableError(WorkerFailedError):
    """No worker received the request: its process had ended before it was sent, so the
    request can go to the next worker as it is."""


def worker_package() -> dict[str, str]:
    """Which worker runtime serves the app: its package and installed version."""
    return {"package": WORKER_PACKAGE, "version": version(WORKER_PACKAGE)}


class Worker(Protocol):
    """A language worker: it indexes the app, then runs invocations."""

    async def start(self) -> list[FunctionSpec]: ...

    async def invoke(
        self, spec: FunctionSpec, input_data: Sequence[Any], trigger_metadata: Mapping[str, Any]
    ) -> Any:
        """The worker's ``InvocationResponse`` for one invocation."""

    async def alive(self) -> bool:
        """Whether the worker can take invocations (its process is running)."""

    async def ended(self) -> None:
        """Return once the worker has ended, stopped or not (its process exited)."""

    async def stop(self) -> None: ...


def invocation_failure(response: Any) -> str | None:
    """Why an ``InvocationResponse`` failed, or None if it succeeded."""
    return _failure(response.result)


def _failure(result: Any) -> str | None:
    """The failure a ``StatusResult`` reports, or None on success."""
    protos = messages()
    if result.status == protos.StatusResult.Success:
        return None
    exception = result.exception
    return f"{exception.type or 'error'}: {exception.message}".strip() or "failed"


class RuntimeWorker:
    """``azure-functions-runtime`` in a child process speaking FunctionRpc."""

    def __init__(
        self,
        app_dir: Path,
        environ: Mapping[str, str] | None = None,
        *,
        script_file: str = "function_app.py",
        python: str = sys.executable,
    ) -> None:
        self.app_dir = app_dir.resolve()
        self.environ = dict(os.environ if environ is None else environ)
        self.script_file = script_file
        self.python = python
        self._process: asyncio.subprocess.Process | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._sending: asyncio.Lock | None = None

    async def start(self) -> list[FunctionSpec]:
        protos = messages()  # generated before the worker imports them
        self._sending = asyncio.Lock()
        host_end, worker_end = socket.socketpair()
        environment = {**os.environ, **self.environ, SCRIPT_FILE_SETTING: self.script_file}
        with worker_end:
            self._process = await asyncio.create_subprocess_exec(
                self.python, "-m", "prism_local.functionrpc.worker_main",
                "--app-dir", str(self.app_dir), "--fd", str(worker_end.fileno()),
                pass_fds=(worker_end.fileno(),), env=environment,
                stdin=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
        reader, self._writer = await asyncio.open_connection(sock=host_end)
        self._reader_task = asyncio.ensure_future(self._read(reader))
        async with asyncio.timeout(START_TIMEOUT_SECONDS):
            init = await self._request(
                "worker_init_request",
                protos.WorkerInitRequest(
                    host_version=HOST_VERSION, function_app_directory=str(self.app_dir)
                ),
            )
            self._check("initialise", init.result)
            metadata = await self._request(
                "functions_metadata_request",
                protos.FunctionsMetadataRequest(function_app_directory=str(self.app_dir)),
            )
            self._check("index the app", metadata.result)
            specs = []
            for function in metadata.function_metadata_results:
                loaded = await self._request(
                    "function_load_request",
                    protos.FunctionLoadRequest(function_id=function.function_id, metadata=function),
                )
                self._check(f"load {function.name}", loaded.result)
                specs.append(
                    function_spec(function.name, function.function_id, list(function.raw_bindings))
                )
        names = [spec.name for spec in specs]
        if len(set(names)) != len(names):
            raise ConfigurationError(f"{self.script_file}: duplicate function names in {names}")
        log.info("worker %s %s (pid %d) indexed %d functions of %s",
                 WORKER_PACKAGE, version(WORKER_PACKAGE), self._process.pid, len(specs),
                 self.script_file)  # fmt: skip
        return specs

    @staticmethod
    def _check(what: str, result: Any) -> None:
        failure = _failure(result)
        if failure is not None:
            raise ConfigurationError(f"the worker could not {what}: {failure}")

    async def invoke(
        self, spec: FunctionSpec, input_data: Sequence[Any], trigger_metadata: Mapping[str, Any]
    ) -> Any:
        return await self._send(
            functools.partial(_invocation_frame, spec.function_id, input_data, trigger_metadata)
        )

    async def _request(self, field: str, payload: Any) -> Any:
        return await self._send(functools.partial(_frame, field, payload))

    async def _send(self, frame: Callable[[str], bytes]) -> Any:
        """Send the frame ``frame(request_id)`` builds; the payload of the answer."""
        if self._writer is None or self._sending is None or not self._running():
            raise WorkerUnavailableError("the worker process is not running")
        request_id = str(uuid.uuid4())
        # Framing copies the payload (an HTTP body of up to 100 MiB) more than once: CPU
        # work that must not hold up the event loop, which serves HTTP.
        data = await run_cpu(functools.partial(frame, request_id))
        answered: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = answered
        try:
            if not self._running():  # ended while the frame was built: none will answer
                raise WorkerUnavailableError("the worker process ended")
            try:
                async with self._sending:
                    await write_frame(self._writer, data)
            except (ConnectionError, OSError) as exc:  # its end of the socket is closed
                raise WorkerUnavailableError(f"the worker's stream is closed: {exc}") from exc
            return await answered
        finally:
            self._pending.pop(request_id, None)

    def _running(self) -> bool:
        """The process runs and its stream is open (a stream can break before the exit
        is seen, and a process can outlive its stream)."""
        return (
            self._process is not None
            and self._process.returncode is None
            and self._reader_task is not None
            and not self._reader_task.done()
        )

    async def _read(self, reader: asyncio.StreamReader) -> None:
        protos = messages()
        try:
            while (frame := await read_frame(reader)) is not None:
                message = await run_cpu(
                    functools.partial(protos.StreamingMessage.FromString, frame)
                )
                answered = self._pending.get(message.request_id)
                if answered is not None and not answered.done():
                    answered.set_result(getattr(message, message.WhichOneof("content")))
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            log.error("the worker's stream broke: %s", exc)
        finally:
            code = await self._exit_code()
            for answered in self._pending.values():
                if not answered.done():
                    answered.set_exception(
                        WorkerFailedError(f"the worker process ended (exit code {code})")
                    )

    async def _exit_code(self) -> int | None:
        if self._process is None:
            return None
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(STOP_GRACE_SECONDS):
                return await self._process.wait()
        return None

    async def alive(self) -> bool:
        return self._running()

    async def ended(self) -> None:
        # The reader ends with the stream, once the process has exited (or failed to
        # within STOP_GRACE_SECONDS of the stream breaking: stop() then kills it).
        if self._reader_task is not None:
            await asyncio.wait({self._reader_task})  # never cancels the reader itself

    async def stop(self) -> None:
        """Ask the worker to end, then make sure it has."""
        protos = messages()
        if self._writer is not None and self._sending is not None:
            if self._running():  # one that has ended cannot be asked
                with contextlib.suppress(ConnectionError, OSError, WorkerFailedError):
                    terminate = protos.StreamingMessage(worker_terminate=protos.WorkerTerminate())
                    async with self._sending:
                        await write_frame(self._writer, terminate.SerializeToString())
            self._writer.close()
        running = self._process is not None and self._process.returncode is None
        if running and self._process is not None and await self._exit_code() is None:
            self._process.kill()
            await self._process.wait()
        if self._reader_task is not None:
            await asyncio.gather(self._reader_task, return_exceptions=True)


def _frame(field: str, payload: Any, request_id: str) -> bytes:
    message = messages().StreamingMessage(request_id=request_id)
    getattr(message, field).CopyFrom(payload)
    return bytes(message.SerializeToString())


def _invocation_frame(
    function_id: str,
    input_data: Sequence[Any],
    trigger_metadata: Mapping[str, Any],
    request_id: str,
) -> bytes:
    message = messages().StreamingMessage(request_id=request_id)
    request = message.invocation_request
    request.invocation_id = str(uuid.uuid4())
    request.function_id = function_id
    request.input_data.extend(input_data)
    for key, value in trigger_metadata.items():
        request.trigger_metadata[key].CopyFrom(value)
    return bytes(message.SerializeToString())
