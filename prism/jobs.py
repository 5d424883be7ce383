"""The job message (version 1): what the router puts on a modality's queue.

A job is checked field by field before anything acts on it. A message that cannot be a
job of this version — not JSON, not an object, a field of the wrong type, an unknown
modality, an id that is not the one its blob version derives — can never succeed, so
it is refused with :class:`InvalidJobError` and goes to the poison queue at once,
marked so that a replay skips it and says why (:func:`unprocessable_envelope`).
"""

from __future__ import annotations

import base64
import json
import math
import re
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

from prism.errors import ErrorCode, PermanentError
from prism.modality import Modality
from prism.results import RESULT_ID, Source, blob_result_id
from prism.storage.blobs import MAX_BLOB_NAME_CHARS
from prism.storage.queues import MAX_MESSAGE_BYTES

JOB_VERSION = 1
# Azure Storage's rule for a container name: 3 to 63 lowercase letters, digits and
# single hyphens ($root and $web are the special ones).
_CONTAINER = re.compile(r"^(?:\$root|\$web|[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62})$")
MAX_ETAG_CHARS = 128
MAX_MEDIA_TYPE_CHARS = 255
# Of an unprocessable body too large to poison whole: as base64 (40,000 characters) it
# leaves room for the marker and its reason in one message.
KEPT_BODY_BYTES = 30_000
# The marker a job refused as unprocessable carries into the poison queue.
UNPROCESSABLE_KEY = "prism_unprocessable"


class InvalidJobError(PermanentError):
    """The message is not a valid job: poison it at once, never retry or replay it."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.BAD_REQUEST, f"not a valid Prism job message: {message}")


@dataclass(frozen=True)
class Job:
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

    def __post_init__(self) -> None:
        _check_fields(self)

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, body: bytes | str) -> Job:
        """Parse and check a job; anything else raises :class:`InvalidJobError`."""
        try:
            raw = json.loads(body)
        except (ValueError, TypeError) as exc:  # UnicodeDecodeError is a ValueError
            raise InvalidJobError("the body is not JSON") from exc
        if not isinstance(raw, dict):
            raise InvalidJobError(f"the body is a JSON {type(raw).__name__}, not an object")
        if raw.get("version") != JOB_VERSION:
            raise InvalidJobError(f"unsupported version {_shown(raw.get('version'))}")
        known = {spec.name for spec in fields(cls)}
        unknown = sorted(str(key) for key in raw if key not in known)
        if unknown:
            raise InvalidJobError(f"unknown fields {', '.join(_shown(k) for k in unknown[:5])}")
        missing = sorted(name for name in known - raw.keys() if name not in _DEFAULTED)
        if missing:
            raise InvalidJobError(f"missing fields {', '.join(missing)}")
        return cls(**raw)

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


_DEFAULTED = frozenset({"route_ms", "version"})


def _shown(value: Any) -> str:
    """A value from a message, short and printable, for an error message."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def _string(job: Job, name: str, max_chars: int) -> str:
    value = getattr(job, name)
    if not isinstance(value, str) or not value:
        raise InvalidJobError(f"{name} must be a non-empty string, got {_shown(value)}")
    if len(value) > max_chars:
        raise InvalidJobError(f"{name} is {len(value)} characters; the limit is {max_chars}")
    return value


def _check_fields(job: Job) -> None:
    _string(job, "id", 64)
    if not RESULT_ID.match(job.id):
        raise InvalidJobError(f"id must be 64 lowercase hex digits, got {_shown(job.id)}")
    if not _CONTAINER.match(_string(job, "container", 63)):
        raise InvalidJobError(f"container {_shown(job.container)} is not a container name")
    _string(job, "blob", MAX_BLOB_NAME_CHARS)
    _string(job, "etag", MAX_ETAG_CHARS)
    _string(job, "media_type", MAX_MEDIA_TYPE_CHARS)
    if job.modality not in {m.value for m in Modality}:
        raise InvalidJobError(f"unknown modality {_shown(job.modality)}")
    # bool is an int in Python; JSON true is not a size.
    if isinstance(job.size, bool) or not isinstance(job.size, int) or job.size < 0:
        raise InvalidJobError(f"size must be a whole number >= 0, got {_shown(job.size)}")
    route_ms = job.route_ms
    if (
        isinstance(route_ms, bool)
        or not isinstance(route_ms, int | float)
        or not math.isfinite(route_ms)
        or route_ms < 0
    ):
        raise InvalidJobError(f"route_ms must be a number >= 0, got {_shown(route_ms)}")
    try:
        datetime.fromisoformat(_string(job, "enqueued_at", 40).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidJobError(f"enqueued_at {_shown(job.enqueued_at)} is not a time") from None
    if job.version != JOB_VERSION:
        raise InvalidJobError(f"unsupported version {_shown(job.version)}")
    # The id is derived from the blob version: a job whose id is not its own would
    # write (or skip) another input's result.
    if job.id != blob_result_id(job.container, job.blob, job.etag):
        raise InvalidJobError("id is not the one its container, blob and etag derive")


def unprocessable_envelope(body: bytes, error: PermanentError) -> bytes:
    """What goes to the poison queue for a message that can never succeed: the original
    body (as text when it is UTF-8, else base64) under a marker that replay recognises.

    A body too large to fit beside the marker in one queue message keeps its first
    :data:`KEPT_BODY_BYTES` (base64), with its full size: a whole copy could not be sent
    at all, and the refusal would become a failure retried until the host poisons it."""
    marker = {"code": error.code.value, "reason": error.message}
    try:
        original: dict[str, Any] = {"text": body.decode("utf-8")}
    except UnicodeDecodeError:
        original = {"base64": base64.b64encode(body).decode("ascii")}
    envelope = _envelope(marker, original)
    if len(envelope) <= MAX_MESSAGE_BYTES:
        return envelope
    kept = base64.b64encode(body[:KEPT_BODY_BYTES]).decode("ascii")
    return _envelope(marker, {"base64": kept, "bytes": len(body), "truncated": True})


def _envelope(marker: dict[str, str], original: dict[str, Any]) -> bytes:
    return json.dumps({UNPROCESSABLE_KEY: marker, "body": original}, separators=(",", ":")).encode()


def unprocessable_reason(body: bytes) -> str | None:
    """Why a poisoned message was refused as unprocessable, or None if it was not."""
    try:
        raw = json.loads(body)
    except (ValueError, TypeError):
        return None
    marker = raw.get(UNPROCESSABLE_KEY) if isinstance(raw, dict) else None
    if isinstance(marker, dict) and isinstance(marker.get("reason"), str):
        return str(marker["reason"])
    return None
