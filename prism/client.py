"""What a user does with a running pipeline: submit files, wait for and list results,
replay poisoned messages. Used by the CLI, the demo and the end-to-end tests."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from prism.names import safe_file_name
from prism.poison import ReplayReport, replay_job_poison
from prism.queries import find_result
from prism.results import blob_result_id
from prism.settings import Settings
from prism.storage import (
    BlobStore,
    CosmosConnection,
    DocumentContainer,
    MessageQueues,
    StorageConnection,
    poison_queue_name,
)

POLL_SECONDS = 0.25


def blob_name_for(path: PurePath) -> str:
    """The file's name made safe (see :mod:`prism.names`) behind a short random prefix
    that keeps two files of the same name apart."""
    return f"{uuid.uuid4().hex[:8]}-{safe_file_name(path.name)}"


@dataclass
class Submission:
    file: str
    blob: str
    id: str
    result: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        document = self.result or {}
        return {
            "file": self.file,
            "id": self.id,
            "blob": self.blob,
            "modality": document.get("modality"),
            "status": document.get("status", "pending"),
            "error": document.get("error"),
            "result": document.get("result"),
        }


class PipelineClient:
    def __init__(
        self,
        settings: Settings,
        *,
        blobs: BlobStore,
        queues: MessageQueues,
        results: DocumentContainer,
    ) -> None:
        self.settings = settings
        self.blobs = blobs
        self.queues = queues
        self.results = results

    def submit(
        self, paths: Sequence[Path], progress: Callable[[int], None] | None = None
    ) -> list[Submission]:
        """Upload each file into the incoming container; ``progress`` gets bytes sent."""
        self.blobs.ensure_container(self.settings.incoming_container)
        submissions = []
        for path in paths:
            data = path.read_bytes()
            submissions.append(self.upload(path, data))
            if progress is not None:
                progress(len(data))
        return submissions

    def upload(self, path: PurePath, data: bytes) -> Submission:
        """Upload one file's bytes under a fresh blob name (the container must exist);
        the returned id is the one its result document will have."""
        container = self.settings.incoming_container
        name = blob_name_for(path)
        info = self.blobs.upload(container, name, data, overwrite=False)
        return Submission(str(path), name, blob_result_id(container, name, info.etag))

    def wait(
        self,
        submissions: Sequence[Submission],
        timeout: float,
        progress: Callable[[int], None] | None = None,
    ) -> bool:
        """Poll until every submission has its result; False on timeout."""
        deadline = time.monotonic() + timeout
        pending = [s for s in submissions if s.result is None]
        while pending:
            for submission in list(pending):
                submission.result = find_result(self.results, submission.id)
                if submission.result is not None:
                    pending.remove(submission)
                    if progress is not None:
                        progress(1)
            if pending:
                if time.monotonic() > deadline:
                    return False
                time.sleep(POLL_SECONDS)
        return True

    def poison_depths(self) -> dict[str, int]:
        depths = {}
        for queue in self.settings.modality_queues.values():
            poison = poison_queue_name(queue)
            self.queues.ensure_queue(poison)
            depths[poison] = self.queues.approximate_count(poison)
        return depths

    def replay_poison(self) -> ReplayReport:
        """Move every message of each ``<queue>-poison`` that can still succeed back to
        ``<queue>``, unchanged; see :func:`prism.poison.replay_job_poison`."""
        return replay_job_poison(self.queues, self.settings.modality_queues)


def connect(
    settings: Settings | None = None,
    *,
    storage: StorageConnection | None = None,
    cosmos: CosmosConnection | None = None,
) -> PipelineClient:
    """A client over explicit connections (default: the app settings', see
    ``prism.storage``)."""
    from prism.settings import get_settings
    from prism.storage import blob_store, message_queues, results_container

    settings = settings or get_settings()
    return PipelineClient(
        settings,
        blobs=blob_store(storage),
        queues=message_queues(storage),
        results=results_container(cosmos, settings),
    )
