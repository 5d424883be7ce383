"""The local host's HTTP front, spoken to over real sockets the way a hostile client
would: half-sent bodies, chunked bodies, repeated lengths, silence."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from prism_local.devhost.http import HttpAnswer, HttpFront, HttpRequest

Exchange = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[bytes]]


def talk(exchange: Exchange, **front_options: Any) -> tuple[bytes, list[HttpRequest]]:
    """Serve one front on a free loopback port, run ``exchange`` as its client; the raw
    answer and the requests the handler saw."""
    seen: list[HttpRequest] = []

    async def echo(request: HttpRequest) -> HttpAnswer:
        seen.append(request)
        return HttpAnswer(200, {"Content-Type": "application/octet-stream"}, request.body)

    async def scenario() -> bytes:
        server = await HttpFront(echo, **front_options).start("127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            async with asyncio.timeout(10):
                answer = await exchange(reader, writer)
            writer.close()
            return answer
        finally:
            server.close()

    return asyncio.run(scenario()), seen


def send(raw: bytes, *, half_close: bool = False) -> Exchange:
    async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
        writer.write(raw)
        await writer.drain()
        if half_close:
            writer.write_eof()
        return await reader.read()  # until the server closes

    return exchange


def status_and_body(answer: bytes) -> tuple[int, bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def test_a_body_cut_off_before_its_length_is_refused_and_never_reaches_a_function() -> None:
    raw = b"POST /api/v1/infer HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n0123456789"
    answer, seen = talk(send(raw, half_close=True))
    status, body = status_and_body(answer)
    assert status == 400 and seen == []
    assert (
        json.loads(body)["error"]["message"] == "incomplete request body: 10 of 100 bytes arrived"
    )


def test_a_chunked_body_arrives_whole() -> None:
    raw = (b"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
           b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")  # fmt: skip
    answer, seen = talk(send(raw))
    assert status_and_body(answer) == (200, b"hello world")
    assert [request.body for request in seen] == [b"hello world"]


def test_a_chunked_body_cut_off_is_refused() -> None:
    raw = b"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"
    answer, seen = talk(send(raw, half_close=True))
    assert status_and_body(answer)[0] == 400 and seen == []


def test_a_repeated_content_length_is_refused_even_when_the_values_agree() -> None:
    for lengths in (b"Content-Length: 2\r\nContent-Length: 5\r\n", b"Content-Length: 2\r\n" * 2,
                    b"Content-Length: 2, 2\r\n"):  # fmt: skip
        raw = b"POST /x HTTP/1.1\r\nHost: h\r\n" + lengths + b"\r\nhi"
        answer, seen = talk(send(raw))
        status, body = status_and_body(answer)
        assert status == 400 and seen == [], lengths
        assert "error" in json.loads(body)


def test_a_declared_body_over_the_limit_is_refused_before_it_is_read() -> None:
    raw = b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n"
    answer, seen = talk(send(raw), max_body_bytes=10)
    assert status_and_body(answer)[0] == 413 and seen == []


def test_a_request_line_that_never_ends_is_answered_408_and_closed() -> None:
    answer, seen = talk(send(b"GET /api/v1/health HTTP/1.1\r\nHost: h\r\n"), header_timeout=0.2)
    status, body = status_and_body(answer)
    assert status == 408 and seen == []
    assert json.loads(body)["error"]["code"] == "request_timeout"


def test_a_body_that_stops_arriving_is_answered_408_and_closed() -> None:
    raw = b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n01234"
    answer, seen = talk(send(raw), body_idle_timeout=0.2)
    assert status_and_body(answer)[0] == 408 and seen == []


def test_garbage_is_a_json_400() -> None:
    answer, seen = talk(send(b"\x16\x03\x01 not http at all\r\n\r\n"))
    status, body = status_and_body(answer)
    assert status == 400 and seen == []
    assert json.loads(body)["error"]["code"] == "bad_request"


def test_keep_alive_serves_two_requests_on_one_connection() -> None:
    async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
        for body in (b"one", b"two"):
            writer.write(b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n" + body)
            await writer.drain()
            await reader.readuntil(body)
        return b"ok"

    answer, seen = talk(exchange)
    assert answer == b"ok" and [r.body for r in seen] == [b"one", b"two"]
