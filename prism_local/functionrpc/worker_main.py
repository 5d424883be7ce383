"""The worker process: Microsoft's Python worker runtime (``azure-functions-runtime``)
serving one Functions app, spoken to in FunctionRpc messages over a socket.

On Azure the Functions host starts a language worker and exchanges ``StreamingMessage``
frames with it; the runtime's handlers do the indexing, the binding conversion and the
invocation. Here the local host starts ``python -m prism_local.functionrpc.worker_main`` and the
frames travel length-prefixed over a socket it inherits (stdout and stderr stay the
app's, so a ``print`` cannot corrupt the stream, and the worker's log reaches the
host's log). Each invocation runs as its own task: async functions share this
process's event loop, sync ones run in the runtime's thread pool — as on Azure.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prism_local.functionrpc import messages
from prism_local.functionrpc.framing import read_frame, write_frame
from prism_local.logs import configure_logging

log = logging.getLogger("prism_local.devhost.worker")

# request payload → (the runtime's handler, the response payload)
HANDLERS = {
    "worker_init_request": ("worker_init_request", "worker_init_response"),
    "functions_metadata_request": ("functions_metadata_request", "function_metadata_response"),
    "function_load_request": ("function_load_request", "function_load_response"),
    "invocation_request": ("invocation_request", "invocation_response"),
    "function_environment_reload_request": (
        "function_environment_reload_request", "function_environment_reload_response",
    ),
}  # fmt: skip


@dataclass
class RuntimeRequest:
    """What the runtime's handlers take: the message, and the host's properties."""

    name: str
    request: Any
    properties: dict[str, Any] = field(default_factory=dict)


async def serve(sock: socket.socket) -> None:
    import azure_functions_runtime as runtime

    protos = messages()
    runtime.start_threadpool_executor()
    reader, writer = await asyncio.open_connection(sock=sock)
    sending = asyncio.Lock()
    tasks: set[asyncio.Task[None]] = set()

    async def answer(message: Any) -> None:
        kind = message.WhichOneof("content")
        handler_name, response_field = HANDLERS[kind]
        handler = getattr(runtime, handler_name)
        request = RuntimeRequest(kind, message, {"protos": protos, "host": "127.0.0.1"})
        response = await handler(request)
        reply = protos.StreamingMessage(request_id=message.request_id)
        getattr(reply, response_field).CopyFrom(response)
        async with sending:
            await write_frame(writer, reply.SerializeToString())

    while (frame := await read_frame(reader)) is not None:
        message = protos.StreamingMessage.FromString(frame)
        kind = message.WhichOneof("content")
        if kind == "worker_terminate":
            break
        if kind not in HANDLERS:
            log.warning("worker: ignoring a %s message", kind)
            continue
        task = asyncio.ensure_future(answer(message))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    for task in tasks:
        task.cancel()
    writer.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m prism_local.functionrpc.worker_main")
    parser.add_argument("--app-dir", type=Path, required=True)
    parser.add_argument("--fd", type=int, required=True, help="the socket inherited from the host")
    args = parser.parse_args(argv)
    configure_logging()
    # The runtime logs each invocation under "azure.functions" at INFO.
    logging.getLogger("azure.functions").setLevel(logging.INFO)
    # As the Functions host starts a worker: in the app's folder, importable from there.
    os.chdir(args.app_dir)
    sys.path.insert(0, str(args.app_dir))
    asyncio.run(serve(socket.socket(fileno=args.fd)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
