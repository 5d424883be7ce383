"""The local host's HTTP front: HTTP/1.1 parsed by ``h11`` (python-hyper's maintained
protocol library) on asyncio streams, with the limits the Functions host (Kestrel)
applies, so a function sees a request only when it is complete and well-formed:

* the body is complete — ``Content-Length`` bytes, or chunked to its last chunk — or
  the request is answered 400 and never reaches a function (a client that stops
  sending half-way does not get its first bytes stored as the whole file);
* one ``Content-Length`` (a repeated one is refused, as Kestrel does, even if the
  values agree), and a body over the limit is refused (413) before it is read;
* request headers within :data:`HEADER_TIMEOUT_SECONDS` and a body that keeps
  arriving (:data:`BODY_IDLE_TIMEOUT_SECONDS`), else 408: a client that sends half a
  request line holds nothing for long;
* every answer the front itself gives is JSON ``{"error": {"code", "message"}}``.

Requests are handed to an async handler on the same event loop as the functions.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import h11

log = logging.getLogger("prism_local.devhost.http")

# Kestrel's defaults: RequestHeadersTimeout 30 s, MaxRequestHeadersTotalSize 32 KiB;
# the Functions host's request body limit is 100 MiB (FUNCTIONS_REQUEST_BODY_SIZE_LIMIT).
HEADER_TIMEOUT_SECONDS = 30.0
BODY_IDLE_TIMEOUT_SECONDS = 30.0
KEEP_ALIVE_TIMEOUT_SECONDS = 120.0
MAX_HEADER_BYTES = 32 * 1024
MAX_REQUEST_BODY_BYTES = 100 * 1024 * 1024
_READ_CHUNK = 64 * 1024
_END_OF_HEADERS = re.compile(rb"\r?\n\r?\n")
_CONTENT_LENGTH_LINE = re.compile(rb"\r?\ncontent-length[ \t]*:([^\r\n]*)", re.IGNORECASE)

_REASONS = {400: "bad_request", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed",
            408: "request_timeout", 413: "too_large", 431: "headers_too_large",
            500: "internal", 501: "not_implemented"}  # fmt: skip


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class HttpRequest:
    method: str
    target: str
    headers: list[tuple[str, str]]  # as received (names keep their case), in order
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


Handler = Callable[[HttpRequest], Awaitable[HttpAnswer]]


def error_answer(status: int, message: str, headers: Mapping[str, str] | None = None) -> HttpAnswer:
    """The JSON error body every status gets, whoever gives it."""
    body = json.dumps({"error": {"code": _REASONS.get(status, "error"), "message": message}})
    fields = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
    return HttpAnswer(status, fields, body.encode())


class _Refused(Exception):
    """The request cannot be served; answer ``status`` and close the connection."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class HttpFront:
    def __init__(
        self,
        handler: Handler,
        *,
        max_body_bytes: int = MAX_REQUEST_BODY_BYTES,
        header_timeout: float = HEADER_TIMEOUT_SECONDS,
        body_idle_timeout: float = BODY_IDLE_TIMEOUT_SECONDS,
    ) -> None:
        self.handler = handler
        self.max_body_bytes = max_body_bytes
        self.header_timeout = header_timeout
        self.body_idle_timeout = body_idle_timeout

    async def start(self, host: str, port: int) -> asyncio.Server:
        return await asyncio.start_server(self._serve_connection, host, port)

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        connection = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEADER_BYTES)
        served = 0
        try:
            while True:
                try:
                    request = await self._read_request(connection, reader, served > 0)
                    if request is None:
                        return  # the client closed (or stayed silent) between requests
                    answer = await self.handler(request)
                except _Refused as refused:
                    answer = error_answer(refused.status, refused.message)
                    await self._send(connection, writer, answer, close=True)
                    return
                except h11.RemoteProtocolError as exc:
                    status = exc.error_status_hint if exc.error_status_hint >= 400 else 400
                    answer = error_answer(status, f"malformed request: {exc}")
                    await self._send(connection, writer, answer, close=True)
                    return
                await self._send(connection, writer, answer, head=request.method == "HEAD")
                if connection.our_state is h11.MUST_CLOSE or connection.their_state is not h11.DONE:
                    return
                connection.start_next_cycle()
                served += 1
        except (ConnectionError, h11.LocalProtocolError, OSError):
            return  # the peer went away mid-answer: nothing to tell it
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    @staticmethod
    async def _next_event(
        connection: h11.Connection,
        reader: asyncio.StreamReader,
        idle_timeout: float | None = None,
        head: bytearray | None = None,
    ) -> h11.Event:
        while True:
            event = connection.next_event()
            if isinstance(event, h11.Event):
                return event
            if event is h11.PAUSED:  # cannot happen: each cycle is finished first
                raise _Refused(400, "a request arrived out of turn")
            try:
                data = await asyncio.wait_for(reader.read(_READ_CHUNK), idle_timeout)
            except TimeoutError:
                raise _Refused(408, f"the request body stopped for {idle_timeout:g} s") from None
            if head is not None:
                head += data
            connection.receive_data(data)

    async def _read_request(
        self, connection: h11.Connection, reader: asyncio.StreamReader, keep_alive: bool
    ) -> HttpRequest | None:
        head = bytearray(connection.trailing_data[0])
        if keep_alive and not head:
            # Between requests the client may stay silent for a while; then it is gone.
            try:
                first = await asyncio.wait_for(reader.read(_READ_CHUNK), KEEP_ALIVE_TIMEOUT_SECONDS)
            except TimeoutError:
                return None
            head += first
            connection.receive_data(first)
        try:
            # One deadline for the whole head: a client that trickles a byte at a time
            # holds the connection no longer than one that sends nothing.
            async with asyncio.timeout(self.header_timeout):
                event = await self._next_event(connection, reader, head=head)
        except TimeoutError:
            raise _Refused(
                408, f"the request line and headers did not arrive within {self.header_timeout:g} s"
            ) from None
        if isinstance(event, h11.ConnectionClosed):
            return None
        if not isinstance(event, h11.Request):
            raise _Refused(400, "expected a request")
        header_block = _END_OF_HEADERS.split(bytes(head), maxsplit=1)[0]
        lines = _CONTENT_LENGTH_LINE.finditer(header_block)
        lengths = [value for line in lines for value in line.group(1).split(b",")]
        if len(lengths) > 1:
            raise _Refused(400, "more than one Content-Length")
        declared = next((int(v) for k, v in event.headers if k == b"content-length"), None)
        if declared is not None and declared > self.max_body_bytes:
            raise _Refused(413, f"request bodies are limited to {self.max_body_bytes} bytes")
        body = bytearray()
        while True:
            try:
                part = await self._next_event(connection, reader, self.body_idle_timeout)
            except h11.RemoteProtocolError:  # h11's word for a body cut short by EOF
                part = h11.ConnectionClosed()
            if isinstance(part, h11.Data):
                body += part.data
                if len(body) > self.max_body_bytes:
                    raise _Refused(
                        413, f"request bodies are limited to {self.max_body_bytes} bytes"
                    )
            elif isinstance(part, h11.EndOfMessage):
                break
            else:  # ConnectionClosed before the end: the body is incomplete
                expected = f" of {declared}" if declared is not None else ""
                raise _Refused(400, f"incomplete request body: {len(body)}{expected} bytes arrived")
        return HttpRequest(
            method=event.method.decode("ascii"),
            target=event.target.decode("ascii", "replace"),
            headers=[
                (k.decode("latin-1"), v.decode("latin-1")) for k, v in event.headers.raw_items()
            ],
            body=bytes(body),
        )

    @staticmethod
    async def _send(
        connection: h11.Connection,
        writer: asyncio.StreamWriter,
        answer: HttpAnswer,
        *,
        close: bool = False,
        head: bool = False,
    ) -> None:
        if connection.our_state is not h11.SEND_RESPONSE:
            # h11 cannot frame an answer now (e.g. the request line never parsed):
            # write a minimal one by hand, then close.
            writer.write(
                b"HTTP/1.1 %d \r\nContent-Type: application/json; charset=utf-8\r\n"
                b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
                % (answer.status, len(answer.body), answer.body)
            )
            await writer.drain()
            return
        framing = ("content-length", "transfer-encoding", "connection")  # h11 frames it
        headers = [(k, v) for k, v in answer.headers.items() if k.lower() not in framing]
        headers.append(("Content-Length", str(len(answer.body))))
        if close or connection.their_state is not h11.DONE:
            headers.append(("Connection", "close"))
        writer.write(connection.send(h11.Response(status_code=answer.status, headers=headers)))
        if answer.body and not head:
            writer.write(connection.send(h11.Data(data=answer.body)))
        writer.write(connection.send(h11.EndOfMessage()))
        await writer.drain()
