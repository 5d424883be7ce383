"""Typed settings, loaded once and lazily.

Every environment variable Prism reads is named in :class:`Env`. The pipeline's
settings are read here only, by :func:`load_settings`; precedence everywhere: an
explicit argument, then the environment, then the default here. A few modules read
their own variables (by the names in :class:`Env`) because what they read is not the
pipeline's configuration: where the services are and their secrets
(:mod:`prism.storage.connections`), whether to export telemetry
(:mod:`prism.telemetry`), the local host's keys and lease (:mod:`prism_local.devhost`), the
CLI's defaults, and the model build's cache folder. Importing this module reads nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import field, fields
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic.dataclasses import dataclass

from prism.errors import ConfigurationError
from prism.modality import Modality
from prism.names import CONTAINER_NAME, COSMOS_NAME, POISON_SUFFIX, QUEUE_NAME

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024


class Env:
    """Names of the app settings / environment variables Prism reads."""

    STORAGE_CONNECTION = "PRISM_STORAGE"  # binding connection name, not a value
    # The connection's value: a connection string (Azurite) or, identity-based, these.
    STORAGE_BLOB_URI = "PRISM_STORAGE__blobServiceUri"
    STORAGE_QUEUE_URI = "PRISM_STORAGE__queueServiceUri"
    STORAGE_CLIENT_ID = "PRISM_STORAGE__clientId"
    # The Functions host's own storage (receipts, timers); the devhost reads it too.
    WEBJOBS_STORAGE = "AzureWebJobsStorage"
    INCOMING_CONTAINER = "PRISM_INCOMING_CONTAINER"
    QUARANTINE_CONTAINER = "PRISM_QUARANTINE_CONTAINER"
    IMAGE_QUEUE = "PRISM_IMAGE_QUEUE"
    AUDIO_QUEUE = "PRISM_AUDIO_QUEUE"
    DOCUMENT_QUEUE = "PRISM_DOCUMENT_QUEUE"
    VIDEO_QUEUE = "PRISM_VIDEO_QUEUE"
    TEXT_QUEUE = "PRISM_TEXT_QUEUE"
    COSMOS_CONNECTION = "PRISM_COSMOS"  # prefix: PRISM_COSMOS__accountEndpoint, __key
    COSMOS_ENDPOINT = "PRISM_COSMOS__accountEndpoint"
    COSMOS_KEY = "PRISM_COSMOS__key"  # local emulator only; Azure uses managed identity
    COSMOS_CLIENT_ID = "PRISM_COSMOS__clientId"
    COSMOS_DATABASE = "PRISM_COSMOS_DATABASE"
    RESULTS_CONTAINER = "PRISM_RESULTS_CONTAINER"
    CACHE_CONTAINER = "PRISM_CACHE_CONTAINER"
    MODEL_DIR = "PRISM_MODEL_DIR"
    INTRA_OP_THREADS = "PRISM_INTRA_OP_THREADS"
    MAX_IMAGE_BYTES = "PRISM_MAX_IMAGE_BYTES"
    MAX_AUDIO_BYTES = "PRISM_MAX_AUDIO_BYTES"
    MAX_TEXT_BYTES = "PRISM_MAX_TEXT_BYTES"
    MAX_IMAGE_PIXELS = "PRISM_MAX_IMAGE_PIXELS"
    IMAGE_TEXT = "PRISM_IMAGE_TEXT"
    MAX_AUDIO_SECONDS = "PRISM_MAX_AUDIO_SECONDS"
    MAX_TEXT_TOKENS = "PRISM_MAX_TEXT_TOKENS"
    MAX_DOCUMENT_BYTES = "PRISM_MAX_DOCUMENT_BYTES"
    MAX_DOCUMENT_PAGES = "PRISM_MAX_DOCUMENT_PAGES"
    MAX_VIDEO_BYTES = "PRISM_MAX_VIDEO_BYTES"
    MAX_VIDEO_SECONDS = "PRISM_MAX_VIDEO_SECONDS"
    VIDEO_FRAME_SECONDS = "PRISM_VIDEO_FRAME_SECONDS"
    MAX_VIDEO_FRAMES = "PRISM_MAX_VIDEO_FRAMES"
    MAX_VIDEO_PIXELS = "PRISM_MAX_VIDEO_PIXELS"
    INSTANCE_MEMORY_MB = "PRISM_INSTANCE_MEMORY_MB"
    RESIDENT_MEMORY_MB = "PRISM_RESIDENT_MEMORY_MB"
    MAX_OCR_PAGES = "PRISM_MAX_OCR_PAGES"
    MAX_PAGE_PIXELS = "PRISM_MAX_PAGE_PIXELS"
    TEXT_LABELS = "PRISM_TEXT_LABELS"
    TEXT_OTHER_THRESHOLD = "PRISM_TEXT_OTHER_THRESHOLD"
    SPEECH_MODEL = "PRISM_SPEECH_MODEL"
    SPEECH_LANGUAGE = "PRISM_SPEECH_LANGUAGE"
    APPINSIGHTS_CONNECTION = "APPLICATIONINSIGHTS_CONNECTION_STRING"
    IMAGE_BATCH_SIZE = "PRISM_IMAGE_BATCH_SIZE"
    IMAGE_BATCH_WAIT_MS = "PRISM_IMAGE_BATCH_WAIT_MS"
    AUDIO_BATCH_SIZE = "PRISM_AUDIO_BATCH_SIZE"
    AUDIO_BATCH_WAIT_MS = "PRISM_AUDIO_BATCH_WAIT_MS"
    TEXT_BATCH_SIZE = "PRISM_TEXT_BATCH_SIZE"
    TEXT_BATCH_WAIT_MS = "PRISM_TEXT_BATCH_WAIT_MS"
    TEXT_BATCH_MIN_BACKLOG = "PRISM_TEXT_BATCH_MIN_BACKLOG"
    BATCH_QUEUE_LIMIT = "PRISM_BATCH_QUEUE_LIMIT"
    BATCHES_IN_FLIGHT = "PRISM_BATCHES_IN_FLIGHT"
    CACHE_ENTRIES = "PRISM_CACHE_ENTRIES"
    SHARED_CACHE = "PRISM_SHARED_CACHE"
    SEARCH = "PRISM_SEARCH"
    # Keys the local host (prism_local.devhost) demands: a function key on function-level
    # routes; the master key on admin-level ones (and it opens function-level ones).
    FUNCTION_KEY = "PRISM_FUNCTION_KEY"
    MASTER_KEY = "PRISM_MASTER_KEY"
    # The local stack's stand-in for Event Grid: the queue BlobCreated events go to.
    LOCAL_BLOB_EVENTS_QUEUE = "PRISM_LOCAL_BLOB_EVENTS_QUEUE"
    # How long the local host leases a queue message (fault tests shorten it).
    DEVHOST_LEASE_SECONDS = "PRISM_DEVHOST_LEASE_SECONDS"
    # Where `prism models build` caches built models (default ~/.cache/prism).
    BUILD_CACHE_DIR = "PRISM_CACHE_DIR"


# "label: description" — what gets embedded; "label: description | another" gives a
# label several descriptions, each embedded as written, the best one counting.
# PRISM_TEXT_LABELS takes the same form, separated by semicolons (descriptions may hold
# commas). Chosen on tests/fixtures/text_labels/tune only (bench/labels.py measures the
# held-out set): legal texts and meeting notes had no label and came back "other".
DEFAULT_TEXT_LABELS = (
    "sports: a match, a game, a team, players, goals",
    "business and finance: companies, markets, shares, profits",
    "science and technology: research, computers, engineering"
    " | software: source code, programming, a computer program",
    "politics: government, elections, parliament, laws"
    " | politics: ministers, a vote, political parties",
    "health and medicine: disease, doctors, hospitals, treatment",
    "entertainment and arts: films, music, books, awards",
    "weather: rain, wind, temperature, forecast",
    "food and cooking: recipes, meals, baking",
    "travel: trips, flights, hotels, holidays",
    "customer complaint: a late, damaged or wrong order, bad service",
    "legal: a licence, terms and conditions, a contract, rights, liability",
    "work and meetings: meeting notes, an agenda, action items, a project",
)


class Batching(NamedTuple):
    """A modality's micro-batching: at most ``size`` items a model call, waiting at most
    ``wait_ms`` for company, and only from ``min_backlog`` items outstanding."""

    size: int
    wait_ms: float
    min_backlog: int


def _list(value: Any) -> Any:
    """A list setting: items separated by ';' (text labels hold commas), blanks dropped."""
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(";") if part.strip())
    return value


def _modalities_or_none(value: tuple[str, ...]) -> tuple[str, ...]:
    modalities = {modality.value for modality in Modality}
    if set(value) - modalities - {"none"} or ("none" in value and len(value) > 1):
        raise ValueError(f"must be modalities ({', '.join(sorted(modalities))}) or none")
    return value


# What each kind of setting takes; pydantic turns the text of a variable into it and
# names what is wrong (the config forbids NaN and infinities for every number).
_AtLeastOne = Annotated[int, Field(ge=1)]
_AtLeastZero = Annotated[int, Field(ge=0)]
_Positive = Annotated[float, Field(gt=0)]
_AtLeastZeroFloat = Annotated[float, Field(ge=0)]
_Similarity = Annotated[float, Field(ge=-1, le=1)]  # a cosine
_Word = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\w.-]+$")]
_ContainerName = Annotated[str, StringConstraints(pattern=CONTAINER_NAME)]
# A modality's poison queue is its name and "-poison": both must be queue names.
_QueueName = Annotated[
    str, StringConstraints(max_length=63 - len(POISON_SUFFIX), pattern=QUEUE_NAME)
]
_CosmosName = Annotated[str, StringConstraints(pattern=COSMOS_NAME)]
_List = Annotated[
    tuple[Annotated[str, StringConstraints(min_length=1)], ...],
    BeforeValidator(_list),
    Field(min_length=1),
]
_SharedCache = Annotated[_List, AfterValidator(_modalities_or_none)]


@dataclass(frozen=True, config=ConfigDict(allow_inf_nan=False, regex_engine="python-re"))
class Settings:
    """Everything configurable, with its default. Field metadata names its variable;
    each field's type says what it takes, checked whenever settings are made."""

    incoming_container: _ContainerName = field(
        default="incoming", metadata={"env": Env.INCOMING_CONTAINER}
    )
    quarantine_container: _ContainerName = field(
        default="quarantine", metadata={"env": Env.QUARANTINE_CONTAINER}
    )
    image_queue: _QueueName = field(default="image-jobs", metadata={"env": Env.IMAGE_QUEUE})
    audio_queue: _QueueName = field(default="audio-jobs", metadata={"env": Env.AUDIO_QUEUE})
    text_queue: _QueueName = field(default="text-jobs", metadata={"env": Env.TEXT_QUEUE})
    document_queue: _QueueName = field(
        default="document-jobs", metadata={"env": Env.DOCUMENT_QUEUE}
    )
    video_queue: _QueueName = field(default="video-jobs", metadata={"env": Env.VIDEO_QUEUE})
    cosmos_database: _CosmosName = field(default="prism", metadata={"env": Env.COSMOS_DATABASE})
    results_container: _CosmosName = field(
        default="results", metadata={"env": Env.RESULTS_CONTAINER}
    )
    cache_container: _CosmosName = field(
        default="predictions", metadata={"env": Env.CACHE_CONTAINER}
    )
    model_dir: Path = field(
        default=PROJECT_ROOT / "models" / "build", metadata={"env": Env.MODEL_DIR}
    )
    # ONNX Runtime defaults to the host's core count, not the instance's share of it.
    intra_op_threads: _AtLeastOne = field(default=1, metadata={"env": Env.INTRA_OP_THREADS})
    max_image_bytes: _AtLeastOne = field(default=20 * MIB, metadata={"env": Env.MAX_IMAGE_BYTES})
    max_audio_bytes: _AtLeastOne = field(default=50 * MIB, metadata={"env": Env.MAX_AUDIO_BYTES})
    max_text_bytes: _AtLeastOne = field(default=1 * MIB, metadata={"env": Env.MAX_TEXT_BYTES})
    max_image_pixels: _AtLeastOne = field(
        default=40_000_000, metadata={"env": Env.MAX_IMAGE_PIXELS}
    )
    # "on": image results include the words OCR finds in them (tens of milliseconds more
    # per image: docs/performance.md); "off": labels only.
    image_text: Literal["on", "off"] = field(default="on", metadata={"env": Env.IMAGE_TEXT})
    max_audio_seconds: _Positive = field(default=600.0, metadata={"env": Env.MAX_AUDIO_SECONDS})
    max_text_tokens: _AtLeastOne = field(default=256, metadata={"env": Env.MAX_TEXT_TOKENS})
    # Documents (PDF): checked before any page is read or drawn. A page is drawn for OCR
    # only when it has no text layer (OCR costs seconds a page), one page at a time, at
    # 150 dpi or at the lower resolution that keeps it within max_page_pixels (an A2
    # page at 150 dpi is 8.7 megapixels); a drawn page holds 12 bytes a pixel at its peak.
    max_document_bytes: _AtLeastOne = field(
        default=50 * MIB, metadata={"env": Env.MAX_DOCUMENT_BYTES}
    )
    max_document_pages: _AtLeastOne = field(default=500, metadata={"env": Env.MAX_DOCUMENT_PAGES})
    max_ocr_pages: _AtLeastZero = field(default=20, metadata={"env": Env.MAX_OCR_PAGES})
    max_page_pixels: _AtLeastOne = field(default=12_000_000, metadata={"env": Env.MAX_PAGE_PIXELS})
    # Videos: the byte and duration limits are checked before any frame is decoded (the
    # duration as declared, and again as the packets go by); a frame is an image, under
    # PRISM_MAX_IMAGE_PIXELS. Key frames are labelled, at most one per
    # PRISM_VIDEO_FRAME_SECONDS and PRISM_MAX_VIDEO_FRAMES in all.
    max_video_bytes: _AtLeastOne = field(default=200 * MIB, metadata={"env": Env.MAX_VIDEO_BYTES})
    max_video_seconds: _Positive = field(default=600.0, metadata={"env": Env.MAX_VIDEO_SECONDS})
    video_frame_seconds: _Positive = field(default=2.0, metadata={"env": Env.VIDEO_FRAME_SECONDS})
    max_video_frames: _AtLeastOne = field(default=60, metadata={"env": Env.MAX_VIDEO_FRAMES})
    # A video's pictures: 4K UHD. The decoder holds up to 18 of them (prism.budget).
    max_video_pixels: _AtLeastOne = field(
        default=3840 * 2160, metadata={"env": Env.MAX_VIDEO_PIXELS}
    )
    # The memory budget (prism.budget): what an instance has (Flex Consumption: 512,
    # 2,048 — the default — or 4,096 MB), less what is resident whatever the files: the
    # Functions host, the language worker, the libraries and every model loaded (the
    # worker measured 607 MB with every model loaded and run, the arena off; the host
    # and headroom make up the rest: bench/budget.py measures both). Files share the
    # difference: each reserves its estimated peak before it is downloaded.
    instance_memory_mb: _AtLeastOne = field(default=2048, metadata={"env": Env.INSTANCE_MEMORY_MB})
    resident_memory_mb: _AtLeastZero = field(default=896, metadata={"env": Env.RESIDENT_MEMORY_MB})
    text_labels: _List = field(default=DEFAULT_TEXT_LABELS, metadata={"env": Env.TEXT_LABELS})
    # Micro-batching per modality (see docs/performance.md for why these defaults).
    # EfficientNet-Lite0 int8 is no cheaper per item in batches on CPU (measured), so
    # images run one per call, up to batches_in_flight at once.
    image_batch_size: _AtLeastOne = field(default=1, metadata={"env": Env.IMAGE_BATCH_SIZE})
    image_batch_wait_ms: _AtLeastZeroFloat = field(
        default=0.0, metadata={"env": Env.IMAGE_BATCH_WAIT_MS}
    )
    # The VAD model is stateful per file: files cannot share a model call.
    audio_batch_size: _AtLeastOne = field(default=1, metadata={"env": Env.AUDIO_BATCH_SIZE})
    audio_batch_wait_ms: _AtLeastZeroFloat = field(
        default=0.0, metadata={"env": Env.AUDIO_BATCH_WAIT_MS}
    )
    text_batch_size: _AtLeastOne = field(default=16, metadata={"env": Env.TEXT_BATCH_SIZE})
    # No waiting for company: once the backlog is there the batch is what has queued up
    # while the other calls ran (a slot held idle for company lost to no batching).
    text_batch_wait_ms: _AtLeastZeroFloat = field(
        default=0.0, metadata={"env": Env.TEXT_BATCH_WAIT_MS}
    )
    # Below this many texts outstanding on one worker, each runs alone: a small backlog
    # cannot fill a batch that beats single calls on CPU (bench/batching.py).
    text_batch_min_backlog: _AtLeastZero = field(
        default=8, metadata={"env": Env.TEXT_BATCH_MIN_BACKLOG}
    )
    batch_queue_limit: _AtLeastOne = field(default=256, metadata={"env": Env.BATCH_QUEUE_LIMIT})
    batches_in_flight: _AtLeastOne = field(default=2, metadata={"env": Env.BATCHES_IN_FLIGHT})
    # In-process LRU of predictions in front of the Cosmos DB cache container.
    cache_entries: _AtLeastOne = field(default=2048, metadata={"env": Env.CACHE_ENTRIES})
    # Modalities that look up (and share) predictions in the Cosmos DB cache: only where
    # a hit saves far more than a lookup costs (bench/cache.py, docs/performance.md):
    # the text and image models cost less than a lookup plus a miss's entry write.
    # "none" turns it off everywhere. A document may need OCR (seconds a page), a video
    # decoding, frames and a transcript: shared.
    shared_cache: _SharedCache = field(
        default=("audio", "document", "video"), metadata={"env": Env.SHARED_CACHE}
    )
    text_other_threshold: _Similarity = field(
        default=0.2, metadata={"env": Env.TEXT_OTHER_THRESHOLD}
    )
    # The manifest model that transcribes the speech the VAD finds, or "none".
    speech_model: _Word = field(default="whisper-tiny-en", metadata={"env": Env.SPEECH_MODEL})
    # The language spoken (a Whisper language code: "en", "de", "es", …), or "auto" to
    # detect it per window; a language other than "en" needs a multilingual model
    # (checked against the model when the engine first needs it).
    speech_language: _Word = field(default="en", metadata={"env": Env.SPEECH_LANGUAGE})
    # How GET /api/v1/search ranks stored results (prism.search): "vector" — Cosmos DB's
    # VectorDistance over the vector index; "scan" — an exact scan in this process (the
    # local emulator has no vector search); "auto" — scan against the local emulator (a
    # loopback endpoint), vector everywhere else.
    search: Literal["auto", "vector", "scan"] = field(default="auto", metadata={"env": Env.SEARCH})

    @model_validator(mode="after")
    def _room_for_files(self) -> Settings:
        if self.file_memory_bytes <= 0:
            raise ValueError(
                f"{Env.INSTANCE_MEMORY_MB} ({self.instance_memory_mb}) must exceed "
                f"{Env.RESIDENT_MEMORY_MB} ({self.resident_memory_mb}): files need memory"
            )
        return self

    def batching(self, modality: str) -> Batching:
        """A modality's micro-batching (image and audio batch from any backlog)."""
        return {
            "image": Batching(self.image_batch_size, self.image_batch_wait_ms, 0),
            "audio": Batching(self.audio_batch_size, self.audio_batch_wait_ms, 0),
            # One document a call: its pages are the batch.
            "document": Batching(1, 0.0, 0),
            "video": Batching(1, 0.0, 0),
            "text": Batching(
                self.text_batch_size, self.text_batch_wait_ms, self.text_batch_min_backlog
            ),
        }[modality]

    def uses_shared_cache(self, modality: str) -> bool:
        """Whether ``modality`` looks predictions up in (and shares them through) the
        Cosmos DB cache, beyond this process's own."""
        return modality in self.shared_cache

    @property
    def modality_queues(self) -> dict[str, str]:
        """Modality name → the queue its inference function listens on."""
        return {
            "image": self.image_queue,
            "audio": self.audio_queue,
            "text": self.text_queue,
            "document": self.document_queue,
            "video": self.video_queue,
        }

    @property
    def file_memory_bytes(self) -> int:
        """What the files in flight on one instance may hold at once (prism.budget)."""
        return (self.instance_memory_mb - self.resident_memory_mb) * MIB

    @property
    def max_bytes_overall(self) -> int:
        return max(
            self.max_image_bytes,
            self.max_audio_bytes,
            self.max_text_bytes,
            self.max_document_bytes,
            self.max_video_bytes,
        )


# What a name that fails its pattern must be, in words.
_NAME_RULES = {
    CONTAINER_NAME: "must be a container name: 3 to 63 lowercase letters, digits and single "
    "hyphens, a letter or digit at each end",
    QUEUE_NAME: "must be a queue name: 3 to 63 lowercase letters, digits and single hyphens, "
    f"a letter or digit at each end, at most {63 - len(POISON_SUFFIX)} so that its "
    f"{POISON_SUFFIX} queue is one too",
    COSMOS_NAME: "must be a Cosmos DB name: 1 to 255 characters, none of / \\ # ?",
}


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build settings: explicit ``overrides`` > ``environ`` (default ``os.environ``) > default.

    Every setting that is wrong is named in one :class:`ConfigurationError`, with what it
    takes and what it was given: the app refuses to start rather than fail every job."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    variables: dict[str, str] = {}
    for spec in fields(Settings):
        variables[spec.name] = spec.metadata["env"]
        if spec.name in overrides:
            values[spec.name] = overrides.pop(spec.name)
            continue
        raw = env.get(spec.metadata["env"])
        if raw not in (None, ""):
            values[spec.name] = raw
    if overrides:
        raise ConfigurationError(f"unknown settings: {', '.join(sorted(overrides))}")
    try:
        return Settings(**values)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else ""
            what = _NAME_RULES.get(str(error.get("ctx", {}).get("pattern")), error["msg"])
            what = what.removeprefix("Value error, ")
            given = f" (given {error['input']!r})" if name in values else ""
            problems.append(f"{variables[name]}: {what}{given}" if name else what)
        raise ConfigurationError(
            f"{len(problems)} setting(s) wrong: " + "; ".join(problems)
        ) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return load_settings()
