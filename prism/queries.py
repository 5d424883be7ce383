"""Reading results back: one by id, or the newest of a modality (or of all)."""

from __future__ import annotations

from typing import Any

from prism.errors import ErrorCode, PermanentError
from prism.results import PARTITIONS, RESULT_ID, public_view
from prism.storage.documents import DocumentContainer

MAX_LIST_LIMIT = 100


def find_result(results: DocumentContainer, document_id: str) -> dict[str, Any] | None:
    """A result by id, or None. An id that cannot be a result id (the API passes on what
    a caller typed) never reaches storage. Ids do not say their partition, so this
    point-reads each partition (1 RU each) rather than run a cross-partition query."""
    if not RESULT_ID.match(document_id):
        return None
    for partition in PARTITIONS:
        document = results.read(document_id, partition)
        if document is not None:
            return public_view(document)
    return None


def list_results(
    results: DocumentContainer, modality: str | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    """The newest results, of one modality or of all (merged by creation time)."""
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise PermanentError(
            ErrorCode.BAD_REQUEST, f"limit must be between 1 and {MAX_LIST_LIMIT}: {limit}"
        )
    if modality is not None and modality not in PARTITIONS:
        raise PermanentError(
            ErrorCode.BAD_REQUEST,
            f"unknown modality {modality!r}; use one of {', '.join(PARTITIONS)}",
        )
    partitions = [modality] if modality else list(PARTITIONS)
    found = [
        public_view(document)
        for partition in partitions
        for document in results.query(partition, order_by="created_at", limit=limit)
    ]
    found.sort(key=lambda document: str(document["created_at"]), reverse=True)
    return found[:limit]
