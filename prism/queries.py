"""Reading results back: one by id (a point read), or the newest of a modality (or of
all), a page across partitions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prism.errors import ErrorCode, PermanentError
from prism.results import RESULT_ID, RESULT_MODALITIES, public_view, read_result
from prism.storage.clients import RESULTS_ORDER_BY
from prism.storage.documents import DocumentContainer, Keyset, Where

MAX_LIST_LIMIT = 100
# Every field a results query filters on: the container indexes exactly these (and the
# order field), see prism.storage.clients; tests/iac holds the Bicep to the same list.
FILTER_FIELDS = ("modality", "status", "error.code", "source.blob", "created_at")


def find_result(results: DocumentContainer, document_id: str) -> dict[str, Any] | None:
    """A result by id, or None. An id that cannot be a result id (the API passes on what
    a caller typed) never reaches storage; any other is one point read (~1 RU)."""
    if not RESULT_ID.match(document_id):
        return None
    document = read_result(results, document_id)
    return None if document is None else public_view(document)


def list_results(
    results: DocumentContainer, modality: str | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    """The newest results, of one modality or of all."""
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise PermanentError(
            ErrorCode.BAD_REQUEST, f"limit must be between 1 and {MAX_LIST_LIMIT}: {limit}"
        )
    if modality is not None and modality not in RESULT_MODALITIES:
        raise PermanentError(
            ErrorCode.BAD_REQUEST,
            f"unknown modality {modality!r}; use one of {', '.join(RESULT_MODALITIES)}",
        )
    conditions = [Where("modality", "=", modality)] if modality else []
    return [
        public_view(document)
        for document in results.page(conditions, order_by=RESULTS_ORDER_BY, limit=limit)
    ]


def every_result(results: DocumentContainer, page_size: int = 500) -> Iterator[dict[str, Any]]:
    """Every result document, newest first, a page at a time (checks and benchmarks that
    must see them all; a user lists them page by page through the API)."""
    after: Keyset | None = None
    while page := results.page(order_by=RESULTS_ORDER_BY, limit=page_size, after=after):
        yield from page
        last = page[-1]
        after = Keyset(str(last[RESULTS_ORDER_BY]), str(last["id"]))
