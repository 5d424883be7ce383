"""The result document (schema version 1) and the job message (version 1).

Result document, one per input, in the Cosmos DB results container (partition key
``/modality``)::

    {
      "id": "<sha256 hex>",            # deterministic: blob+etag, or http+content hash
      "schema_version": 1,
      "modality": "image" | "audio" | "text" | "unrouted",
      "status": "ok" | "rejected",
      "source": {"kind": "blob" | "http", "container", "blob", "etag", "size",
                 "media_type", "name"},
      "content_sha256": "<hex>" | null,  # null when rejected before download
      "model": {"name", "version", "preprocessing_version"} | null,
      "timings_ms": {"route", "queue_wait", "download", "inference", "write", "total"},
      "cache": "hit" | "miss" | null,
      "result": {...} | null,            # the modality's result (see prism/modalities)
      "error": {"code", "message"} | null,
      "created_at": "<ISO 8601 UTC>"
    }

Deterministic ids turn at-least-once delivery into exactly one document: a redelivered
blob event or queue message writes the same id again (an idempotent upsert).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from prism.errors import ErrorCode, PermanentError
from prism.modalities.base import Modality, ModelRef
from prism.storage.documents import DocumentContainer, deterministic_id

SCHEMA_VERSION = 1
JOB_VERSION = 1
# Partition of documents for inputs rejected before a modality was known.
UNROUTED = "unrouted"
PARTITIONS = (*(m.value for m in Modality), UNROUTED)


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def blob_result_id(container: str, blob: str, etag: str) -> str:
    """One id per blob version: a re-upload (new etag) is a new input."""
    return deterministic_id("blob", container, blob, etag)


def content_result_id(content_sha256: str, modality: str) -> str:
    """HTTP requests have no blob: the same content posted twice is one result."""
    return deterministic_id("http", modality, content_sha256)


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
) -> dict[str, Any]:
    if (result is None) == (error is None):
        raise ValueError("a result document holds exactly one of result and error")
    return {
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


def public_view(document: dict[str, Any]) -> dict[str, Any]:
    """The document without Cosmos DB's system properties (``_etag``, ``_ts``…)."""
    return {k: v for k, v in document.items() if not k.startswith("_")}


@dataclass(frozen=True)
class Job:
    """The message the ingest function sends to a modality's queue."""

    id: str
    container: str
    blob: str
    etag: str
    size: int
    modality: str
    media_type: str
    enqueued_at: str
    route_ms: float = 0.0  # time the router spent, carried into the result's timings
    version: int = JOB_VERSION

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, body: bytes | str) -> Job:
        """Parse a job; a message that is not one is a permanent error (never retried)."""
        try:
            raw = json.loads(body)
            if not isinstance(raw, dict) or raw.get("version") != JOB_VERSION:
                raise ValueError(f"unsupported job version {raw.get('version')!r}")
            return cls(**raw)
        except (ValueError, TypeError) as exc:
            raise PermanentError(ErrorCode.BAD_REQUEST, f"not a Prism job message: {exc}") from exc

    @property
    def source(self) -> Source:
        return Source(
            kind="blob",
            name=self.blob,
            size=self.size,
            media_type=self.media_type,
            container=self.container,
            blob=self.blob,
            etag=self.etag,
        )


MAX_LIST_LIMIT = 100


def find_result(results: DocumentContainer, document_id: str) -> dict[str, Any] | None:
    """A result by id. Ids do not say their partition, so this point-reads each of the
    four partitions (1 RU each) rather than run a cross-partition query."""
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
