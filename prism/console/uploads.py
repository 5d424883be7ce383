"""Uploads from the console: bytes posted over HTTP become a blob in the incoming
container, which the blob trigger then routes like any other upload."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from prism.client import PipelineClient
from prism.storage import NotFoundError


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
