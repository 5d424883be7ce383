"""Uploads from the console: bytes posted over HTTP become a blob in the incoming
container, which the blob trigger then routes like any other upload."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from prism.client import PipelineClient
from prism.storage import ContainerNotFoundError


def upload_file(client: PipelineClient, name: str | None, data: bytes) -> dict[str, Any]:
    """Put ``data`` into the incoming container; returns the id its result will have.

    Content is not judged here: ingest does, from the bytes (an empty file included),
    and records a coded rejection the console shows like any other result."""
    # Only the last path segment: a browser sends a bare name, anything else is noise.
    path = PurePosixPath(PurePosixPath((name or "").replace("\\", "/")).name or "upload")
    try:
        submission = client.upload(path, data)
    except ContainerNotFoundError:
        # The Bicep creates the container; a fresh emulator may not have it yet. Made
        # here as `prism submit` and the quarantine make theirs: a write that needs a
        # container creates it (the app's identity is Storage Blob Data Owner). If it
        # cannot be made, that storage condition is the answer: the API's 503, its log
        # line naming "create container <name>".
        client.blobs.ensure_container(client.settings.incoming_container)
        submission = client.upload(path, data)
    return {"id": submission.id, "blob": submission.blob, "name": path.name, "size": len(data)}
