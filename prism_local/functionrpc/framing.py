"""Frames on the host–worker socket: a 4-byte big-endian length, then that many bytes
of one serialized ``StreamingMessage``."""

from __future__ import annotations

import asyncio

MAX_FRAME_BYTES = 256 * 1024 * 1024  # above the host's 100 MiB body limit, with room


async def read_frame(reader: asyncio.StreamReader) -> bytes | None:
    """The next frame, or None at the end of the stream."""
    try:
        header = await reader.readexactly(4)
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise ConnectionError("the stream ended inside a frame header") from exc
        return None
    length = int.from_bytes(header, "big")
    if length > MAX_FRAME_BYTES:
        raise ConnectionError(f"a frame of {length} bytes is over the limit")
    return await reader.readexactly(length)


async def write_frame(writer: asyncio.StreamWriter, payload: bytes) -> None:
    # Two writes, not one concatenated buffer: a payload can be 100 MiB, and the host
    # writes from the event loop that serves HTTP. (Not writelines: on a transport whose
    # peer has gone it fails with an AttributeError where write just drops the data.)
    writer.write(len(payload).to_bytes(4, "big"))
    writer.write(payload)
    await writer.drain()
