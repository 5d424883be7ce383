"""How far a PDF's streams inflate, measured before PDFium reads a page.

PDFium inflates a page's content stream whole when it reads the page's text or draws
it: a 200 KB PDF whose one content stream inflates to 200 MB took 405 MB to read, and a
document within the byte limit could inflate to tens of gigabytes. Images are another
matter: PDFium draws them at the page's resolution as they inflate, never whole, so
only the other streams (content, forms, fonts) count.

One pass over the file: each ``stream`` keyword's dictionary is read back to the end of
the previous stream (so no byte is read twice), and a FlateDecode stream that is not an
image is inflated a megabyte at a time, counted and dropped — never held.
"""

from __future__ import annotations

import re
import zlib

from prism.errors import ErrorCode, PermanentError

MIB = 1024 * 1024
# The most one stream may inflate to (a page of dense vector drawing is a few MB), and
# all of them together (the inflating is the scan's CPU: about a second for this much).
MAX_STREAM_BYTES = 64 * MIB
MAX_INFLATED_BYTES = 256 * MIB
# How far back from ``stream`` its dictionary is looked for.
DICTIONARY_WINDOW = 4096
CHUNK = MIB
# "stream" and its end of line; \b: not the end of "endstream".
_STREAM = re.compile(rb"\bstream(?:\r\n|\n|\r)")


def check_streams(data: bytes) -> None:
    """Raise ``decompression_bomb`` if a stream of the PDF ``data`` (an image's aside)
    inflates past :data:`MAX_STREAM_BYTES`, or all of them past
    :data:`MAX_INFLATED_BYTES`. Streams that do not inflate are left to PDFium."""
    view = memoryview(data)
    total = 0
    position = 0
    while (found := _STREAM.search(data, position)) is not None:
        start = found.end()
        end = data.find(b"endstream", start)
        if end < 0:
            return  # truncated: PDFium tells what it can read
        dictionary = data[max(position, found.start() - DICTIONARY_WINDOW) : found.start()]
        position = end + len(b"endstream")
        if b"/FlateDecode" not in dictionary or b"/Image" in dictionary:
            continue
        inflated = inflated_size(view[start:end], MAX_STREAM_BYTES)
        total += inflated
        if inflated > MAX_STREAM_BYTES:
            raise _bomb(f"one of the PDF's streams inflates to more than {MAX_STREAM_BYTES // MIB}")
        if total > MAX_INFLATED_BYTES:
            raise _bomb(f"the PDF's streams inflate to more than {MAX_INFLATED_BYTES // MIB}")


def _bomb(what: str) -> PermanentError:
    return PermanentError(
        ErrorCode.DECOMPRESSION_BOMB,
        f"{what} MB (pages, forms and fonts; images aside): more than Prism reads within "
        "an instance's memory; save the document again, or split it",
    )


def inflated_size(compressed: memoryview, limit: int) -> int:
    """How many bytes ``compressed`` (zlib) inflates to, counting no further than just
    past ``limit``; what a corrupt stream gave before its error."""
    inflater = zlib.decompressobj()
    size = 0
    try:
        for offset in range(0, len(compressed), CHUNK):
            pending = bytes(compressed[offset : offset + CHUNK])
            while pending:
                size += len(inflater.decompress(pending, CHUNK))
                if size > limit or inflater.eof:
                    return size
                pending = inflater.unconsumed_tail
        return size + len(inflater.flush())
    except zlib.error:
        return size
