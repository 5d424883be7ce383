"""Quarantine: a rejected blob version moves out of the incoming container, tagged with
the code of its rejection, so that what is left there is what still needs routing."""

from __future__ import annotations

import contextlib
import logging

from prism.errors import PermanentError
from prism.results import Source
from prism.storage import BlobStore, ConditionFailedError, ContainerNotFoundError, NotFoundError

logger = logging.getLogger("prism.pipeline")

QUARANTINE_TAG = "prism-rejected"


class Quarantine:
    def __init__(self, blobs: BlobStore, container: str) -> None:
        self.blobs = blobs
        self.container = container

    def move(self, source: Source, error: PermanentError) -> None:
        """Move this rejected blob version to the quarantine container, tagged with its
        code. Idempotent: a redelivery after any partial run finishes the move."""
        assert source.container is not None and source.blob is not None
        try:
            moved = self._move(source, error)
        except ContainerNotFoundError:
            # Deployment creates it on Azure; a fresh local stack may not have it yet.
            self.blobs.ensure_container(self.container)
            moved = self._move(source, error)
        logger.info(
            "rejected %s (%s)%s",
            source.blob,
            error,
            f"; moved to {self.container}" if moved else "; already moved or replaced",
            extra={"blob": source.blob, "code": error.code.value},
        )

    def _move(self, source: Source, error: PermanentError) -> bool:
        """Copy, tag the copy, then delete the source (each step for this version only):
        a crash at any point leaves the source in place for the redelivery to finish."""
        assert source.container is not None and source.blob is not None
        try:
            self.blobs.copy(source.container, source.blob, self.container, if_match=source.etag)
        except (NotFoundError, ConditionFailedError):
            # Gone: moved by an earlier delivery. Changed: replaced by a newer upload,
            # which has its own event. Either way this version needs nothing more.
            return False
        self.blobs.set_tags(self.container, source.blob, {QUARANTINE_TAG: error.code})
        with contextlib.suppress(NotFoundError, ConditionFailedError):
            self.blobs.delete(source.container, source.blob, if_match=source.etag)
        return True
