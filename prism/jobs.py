"""The job message (version 1): what the router puts on a modality's queue.

A job is one typed model (:class:`Job`): strict types, finite numbers, an aware time,
no unknown fields. A message that cannot be a job of this version — not JSON, not an
object, a field of the wrong type, an unknown modality, an id that is not the one its
blob version derives — can never succeed, so it is refused with
:class:`InvalidJobError` (every reason at once) and goes to the poison queue at once,
marked so that a replay skips it and says why (:func:`unprocessable_envelope`).
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from prism.errors import ErrorCode, PermanentError
from prism.modality import Modality
from prism.names import CONTAINER_NAME
from prism.results import RESULT_ID, Source, blob_result_id
from prism.storage.blobs import MAX_BLOB_NAME_CHARS
from prism.storage.queues import MAX_MESSAGE_BYTES

JOB_VERSION: Literal[1] = 1
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


# A job's strings: strict (a number is not a name), never empty, bounded.
_ResultId = Annotated[str, Strict(), StringConstraints(pattern=RESULT_ID.pattern)]
_ContainerName = Annotated[str, Strict(), StringConstraints(max_length=63, pattern=CONTAINER_NAME)]
_BlobName = Annotated[
    str, Strict(), StringConstraints(min_length=1, max_length=MAX_BLOB_NAME_CHARS)
]
_Etag = Annotated[str, Strict(), StringConstraints(min_length=1, max_length=MAX_ETAG_CHARS)]
_MediaType = Annotated[
    str, Strict(), StringConstraints(min_length=1, max_length=MAX_MEDIA_TYPE_CHARS)
]


class Job(BaseModel):
    """One file version to process: which blob, what it is, when it was queued."""

    # The container-name rule needs a lookahead, which only Python's engine has.
    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, regex_engine="python-re"
    )

    id: _ResultId
    container: _ContainerName
    blob: _BlobName
    etag: _Etag
    size: Annotated[int, Strict(), Field(ge=0)]
    modality: Modality
    media_type: _MediaType
    enqueued_at: AwareDatetime
    # Time the router spent, carried into the result's timings.
    route_ms: Annotated[float, Strict(), Field(ge=0)] = 0.0
    version: Literal[1] = JOB_VERSION

    @field_validator("version", mode="before")
    @classmethod
    def _this_version(cls, value: Any) -> Any:
        # JSON true equals 1 in Python; it is not a version.
        if isinstance(value, bool) or value != JOB_VERSION:
            raise ValueError(f"unsupported version {_shown(value)}; this is version {JOB_VERSION}")
        return value

    @field_validator("enqueued_at", mode="before")
    @classmethod
    def _a_written_time(cls, value: Any) -> Any:
        # A number would be read as seconds since 1970: a job's time is written out.
        if not isinstance(value, str | datetime):
            raise ValueError("must be a date and time with its UTC offset")
        return value

    @model_validator(mode="after")
    def _its_own_id(self) -> Job:
        # The id is derived from the blob version: a job whose id is not its own would
        # write (or skip) another input's result.
        if self.id != blob_result_id(self.container, self.blob, self.etag):
            raise ValueError("id is not the one its container, blob and etag derive")
        return self

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_json(cls, body: bytes | str) -> Job:
        """Parse and check a job; anything else raises :class:`InvalidJobError`."""
        try:
            return cls.model_validate_json(body)
        except ValidationError as exc:
            raise InvalidJobError(_reasons(exc.errors())) from None

    def queue_wait_ms(self, now: datetime | None = None) -> float:
        """Milliseconds from the router's enqueue to ``now`` (0 for a clock behind)."""
        waited = (now or datetime.now(UTC)) - self.enqueued_at
        return max(0.0, waited.total_seconds() * 1000)

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


def _shown(value: Any) -> str:
    """A value from a message, short and printable, for an error message."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def _reasons(errors: list[ErrorDetails]) -> str:
    """Every reason a message is not a job, in one line: unknown and missing fields by
    name, each wrong field with what it must be and what it was."""
    unknown = [str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden"]
    missing = [str(e["loc"][0]) for e in errors if e["type"] == "missing"]
    reasons = []
    if unknown:
        reasons.append(f"unknown fields {', '.join(_shown(name) for name in unknown[:5])}")
    if missing:
        reasons.append(f"missing fields {', '.join(missing)}")
    for error in errors:
        if error["type"] in ("extra_forbidden", "missing"):
            continue
        where = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "model_type":
            reasons.append("the body is not a JSON object")
        elif error["type"] == "json_invalid":
            # Which way it is not: a syntax error, a number out of range, nested too deep.
            reasons.append(f"the body is not JSON ({error.get('ctx', {}).get('error', '?')})")
        elif where:
            reasons.append(f"{where}: {message}, got {_shown(error['input'])}")
        else:
            reasons.append(message)
    return "; ".join(reasons)


class RefusalMarker(BaseModel):
    """Why a message was refused as one that can never succeed."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    code: str
    reason: str


class KeptBody(BaseModel):
    """The refused message's body: as text when it is UTF-8, else base64; a body too
    large to keep whole keeps its start, with its full size."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    text: str | None = None
    base64: str | None = None
    bytes: int | None = None
    truncated: bool = False


class UnprocessableEnvelope(BaseModel):
    """What goes to the poison queue for a message that can never succeed: the original
    body under a marker that replay recognises (and skips, saying why)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    marker: RefusalMarker = Field(alias=UNPROCESSABLE_KEY)
    body: KeptBody

    def to_json(self) -> bytes:
        return self.model_dump_json(by_alias=True, exclude_defaults=True).encode()


def unprocessable_envelope(body: bytes, error: PermanentError) -> bytes:
    """The poison-queue message for ``body``, refused for ``error``.

    A body too large to fit beside the marker in one queue message keeps its first
    :data:`KEPT_BODY_BYTES` (base64), with its full size: a whole copy could not be sent
    at all, and the refusal would become a failure retried until the host poisons it."""
    marker = RefusalMarker(code=error.code.value, reason=error.message)
    try:
        whole = KeptBody(text=body.decode("utf-8"))
    except UnicodeDecodeError:
        whole = KeptBody(base64=base64.b64encode(body).decode("ascii"))
    envelope = UnprocessableEnvelope(marker=marker, body=whole).to_json()
    if len(envelope) <= MAX_MESSAGE_BYTES:
        return envelope
    start = base64.b64encode(body[:KEPT_BODY_BYTES]).decode("ascii")
    kept = KeptBody(base64=start, bytes=len(body), truncated=True)
    return UnprocessableEnvelope(marker=marker, body=kept).to_json()


def unprocessable_reason(body: bytes) -> str | None:
    """Why a poisoned message was refused as unprocessable, or None if it is not an
    envelope of :func:`unprocessable_envelope` (a job, or anything else)."""
    try:
        return UnprocessableEnvelope.model_validate_json(body).marker.reason
    except ValidationError:  # not JSON (nested too deep too), or not an envelope
        return None
