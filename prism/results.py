"""The result document (schema version 2) and the job message (version 1).

Result document, one per input, in the Cosmos DB results container (partition key
``/id``: see docs/scale.md)::

    {
      "id": "<sha256 hex>",            # deterministic: blob+etag, or (HTTP) content hash +
                                       # the model and configuration that shape the result
      "schema_version": 2,
      "modality": "image" | "audio" | "text" | "unrouted",
      "status": "ok" | "rejected",
      "source": {"kind": "blob" | "http", "container", "blob", "etag", "size",
                 "media_type", "name"},
      "content_sha256": "<hex>" | null,  # null when rejected before download
      "model": {"name", "version", "preprocessing_version", "config"} | null,
      "timings_ms": {"route", "queue_wait", "download", "cache", "inference"},  # those run
      "cache": "hit" | "miss" | null,
      "result": {...} | null,            # the modality's result (see prism/modalities)
      "error": {"code", "message"} | null,
      "created_at": "<ISO 8601 UTC>",
      "search": {"vector": [int8 × 384], "words"?}   # ok results with something to be
    }                                                # found by; see prism.search

Deterministic ids turn at-least-once delivery into exactly one document: a redelivered
blob event or queue message writes the same id again (an idempotent upsert).

Version 2 stores the text embedding compactly (int8 + scale, base64; see
:mod:`prism.embedding`) where version 1 wrote 384 JSON floats; everything else is the
same. The ``search`` field (added without a version change: readers ignore it) is what
``GET /api/v1/search`` ranks by; documents written before it have none until
``prism migrate-results`` (:mod:`prism_tools.migration`) adds it, and upgrades schema 1
documents to 2. Documents written before otherwise keep their version; HTTP result
ids and prediction-cache keys name the version, so a v1 answer is never served as a v2
one.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from prism.errors import PermanentError
from prism.onnx.registry import ModelRef
from prism.storage.documents import DocumentContainer, deterministic_id

SCHEMA_VERSION = 2
# Every version a stored document may carry (readers accept them all).
SCHEMA_VERSIONS = (1, 2)
# Every result id is a sha256 hex digest (see deterministic_id): anything else names no
# result and never reaches storage.
RESULT_ID = re.compile(r"^[0-9a-f]{64}$")


def read_result(results: DocumentContainer, document_id: str) -> dict[str, Any] | None:
    """A result document by id: a point read, since a result's partition key is its id."""
    return results.read(document_id, document_id)


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def blob_result_id(container: str, blob: str, etag: str) -> str:
    """One id per blob version: a re-upload (new etag) is a new input."""
    return deterministic_id("blob", container, blob, etag)


def content_result_id(content_sha256: str, modality: str, model: ModelRef) -> str:
    """HTTP requests have no blob: the same content posted twice is one result — for
    one model and configuration; after an upgrade or a changed setting the same content
    is a new result, never the old model's answer."""
    return deterministic_id(
        "http", modality, content_sha256, *model.key_parts(), f"schema-{SCHEMA_VERSION}"
    )


@dataclass(frozen=True)
class Source:
    kind: str
    name: str
    size: int
    media_type: str | None = None
    container: str | None = None
    blob: str | None = None
    etag: str | None = None


@dataclass
class Timings:
    """Milliseconds spent in each stage of one input."""

    values: dict[str, float] = field(default_factory=dict)

    def add(self, stage: str, milliseconds: float) -> None:
        self.values[stage] = round(self.values.get(stage, 0.0) + milliseconds, 3)


def elapsed_ms(start: float) -> float:
    """Milliseconds since ``start`` (a :func:`time.perf_counter` reading), as
    :class:`Timings` holds them."""
    return (time.perf_counter() - start) * 1000


def result_document(
    *,
    document_id: str,
    modality: str,
    source: Source,
    result: dict[str, Any] | None = None,
    error: PermanentError | None = None,
    content_sha256: str | None = None,
    model: ModelRef | None = None,
    timings: Timings | None = None,
    cache: str | None = None,
    search: dict[str, Any] | None = None,
) -> dict[str, Any]:
    if (result is None) == (error is None):
        raise ValueError("a result document holds exactly one of result and error")
    if search is not None and result is None:
        raise ValueError("only a result (not a rejection) is searchable")
    document = {
        "id": document_id,
        "schema_version": SCHEMA_VERSION,
        "modality": modality,
        "status": "rejected" if error else "ok",
        "source": {k: v for k, v in asdict(source).items() if v is not None},
        "content_sha256": content_sha256,
        "model": asdict(model) if model else None,
        "timings_ms": dict(timings.values) if timings else {},
        "cache": cache,
        "result": result,
        "error": error.to_dict() if error else None,
        "created_at": utc_now(),
    }
    if search is not None:
        document["search"] = search
    return document


def public_view(document: dict[str, Any]) -> dict[str, Any]:
    """The document without Cosmos DB's system properties (``_etag``, ``_ts``…)."""
    return {k: v for k, v in document.items() if not k.startswith("_")}
