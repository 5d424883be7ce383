"""Size limits on request bodies, shared by every HTTP route that accepts a file."""

from __future__ import annotations

from collections.abc import Callable

from prism.errors import ErrorCode, PermanentError
from prism.params import is_ascii_number


def _too_large(size: int, limit: int) -> PermanentError:
    return PermanentError(ErrorCode.TOO_LARGE, f"the body is {size} bytes; the limit is {limit}")


def read_within_limit(declared_length: str | None, read: Callable[[], bytes], limit: int) -> bytes:
    """The body, refused by its declared length before it is read when that is over the
    limit, and by its real length otherwise (a chunked body declares none)."""
    if declared_length is not None:
        if not is_ascii_number(declared_length.strip()):
            raise PermanentError(ErrorCode.BAD_REQUEST, "Content-Length is not a number")
        if int(declared_length) > limit:
            raise _too_large(int(declared_length), limit)
    body = read()
    if len(body) > limit:
        raise _too_large(len(body), limit)
    return body
