"""Uploads from the console: bytes posted over HTTP become a blob in the incoming
container, which the blob trigger then routes like any other upload."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

from prism.client import PipelineClient
from prism.errors import ErrorCode, PermanentError
from prism.storage import NotFoundError


def _too_large(size: int, limit: int) -> PermanentError:
    return PermanentError(ErrorCode.TOO_LARGE, f"the body is {size} bytes; the limit is {limit}")


def read_within_limit(declared_length: str | None, read: Callable[[], bytes], limit: int) -> bytes:
    """The body, refused by its declared length before it is read when that is over the
    limit, and by its real length otherwise (a chunked body declares none)."""
    if declared_length is not None and declared_length.isdigit() and int(declared_length) > limit:
        raise _too_large(int(declared_length), limit)
    body = read()
    if len(body) > limit:
        raise _too_large(len(body), limit)
    return body


def upload_file(client: PipelineClient, name: str | None, data: bytes) -> dict[str, Any]:
    """Put ``data`` into the incoming container; returns the id its result will have.

    Content is not judged here: ingest does, from the bytes (an empty file included),
    and records a coded rejection the console shows like any other result."""
    # Only the last path segment: a browser sends a bare name, anything else is noise.
    path = PurePosixPath(PurePosixPath((name or "").replace("\\", "/")).name or "upload")
    try:
        submission = client.upload(path, data)
    except NotFoundError:
        # The host and the Bicep create the container; a fresh emulator may not have it.
        client.blobs.ensure_container(client.settings.incoming_container)
        submission = client.upload(path, data)
    return {"id": submission.id, "blob": submission.blob, "name": path.name, "size": len(data)}
