"""Typed settings, loaded once and lazily.

Every environment variable Prism reads is named in :class:`Env`. The pipeline's
settings are read here only, by :func:`load_settings`; precedence everywhere: an
explicit argument, then the environment, then the default here. A few modules read
their own variables (by the names in :class:`Env`) because what they read is not the
pipeline's configuration: where the services are and their secrets
(:mod:`prism.storage.connections`), whether to export telemetry
(:mod:`prism.telemetry`), the local host's keys and lease (:mod:`prism.devhost`), the
CLI's defaults, and the model build's cache folder. Importing this module reads nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple, get_type_hints

from prism.errors import ConfigurationError
from prism.modality import Modality

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
SEARCH_BACKENDS = ("auto", "vector", "scan")


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
    # Keys the local host (prism.devhost) demands: a function key on function-level
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


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with its default. Field metadata names its variable."""

    incoming_container: str = field(default="incoming", metadata={"env": Env.INCOMING_CONTAINER})
    quarantine_container: str = field(
        default="quarantine", metadata={"env": Env.QUARANTINE_CONTAINER}
    )
    image_queue: str = field(default="image-jobs", metadata={"env": Env.IMAGE_QUEUE})
    audio_queue: str = field(default="audio-jobs", metadata={"env": Env.AUDIO_QUEUE})
    text_queue: str = field(default="text-jobs", metadata={"env": Env.TEXT_QUEUE})
    document_queue: str = field(default="document-jobs", metadata={"env": Env.DOCUMENT_QUEUE})
    video_queue: str = field(default="video-jobs", metadata={"env": Env.VIDEO_QUEUE})
    cosmos_database: str = field(default="prism", metadata={"env": Env.COSMOS_DATABASE})
    results_container: str = field(default="results", metadata={"env": Env.RESULTS_CONTAINER})
    cache_container: str = field(default="predictions", metadata={"env": Env.CACHE_CONTAINER})
    model_dir: Path = field(
        default=PROJECT_ROOT / "models" / "build", metadata={"env": Env.MODEL_DIR}
    )
    # ONNX Runtime defaults to the host's core count, not the instance's share of it.
    intra_op_threads: int = field(default=1, metadata={"env": Env.INTRA_OP_THREADS})
    max_image_bytes: int = field(default=20 * MIB, metadata={"env": Env.MAX_IMAGE_BYTES})
    max_audio_bytes: int = field(default=50 * MIB, metadata={"env": Env.MAX_AUDIO_BYTES})
    max_text_bytes: int = field(default=1 * MIB, metadata={"env": Env.MAX_TEXT_BYTES})
    max_image_pixels: int = field(default=40_000_000, metadata={"env": Env.MAX_IMAGE_PIXELS})
    # "on": image results include the words OCR finds in them (tens of milliseconds more
    # per image: README "Performance"); "off": labels only.
    image_text: str = field(default="on", metadata={"env": Env.IMAGE_TEXT})
    max_audio_seconds: float = field(default=600.0, metadata={"env": Env.MAX_AUDIO_SECONDS})
    max_text_tokens: int = field(default=256, metadata={"env": Env.MAX_TEXT_TOKENS})
    # Documents (PDF): checked before any page is read or drawn. A page is drawn for OCR
    # only when it has no text layer (OCR costs seconds a page), one page at a time, at
    # 150 dpi or at the lower resolution that keeps it within max_page_pixels (an A2
    # page at 150 dpi is 8.7 megapixels); a drawn page holds 12 bytes a pixel at its peak.
    max_document_bytes: int = field(default=50 * MIB, metadata={"env": Env.MAX_DOCUMENT_BYTES})
    max_document_pages: int = field(default=500, metadata={"env": Env.MAX_DOCUMENT_PAGES})
    max_ocr_pages: int = field(default=20, metadata={"env": Env.MAX_OCR_PAGES})
    max_page_pixels: int = field(default=12_000_000, metadata={"env": Env.MAX_PAGE_PIXELS})
    # Videos: the byte and duration limits are checked before any frame is decoded (the
    # duration as declared, and again as the packets go by); a frame is an image, under
    # PRISM_MAX_IMAGE_PIXELS. Key frames are labelled, at most one per
    # PRISM_VIDEO_FRAME_SECONDS and PRISM_MAX_VIDEO_FRAMES in all.
    max_video_bytes: int = field(default=200 * MIB, metadata={"env": Env.MAX_VIDEO_BYTES})
    max_video_seconds: float = field(default=600.0, metadata={"env": Env.MAX_VIDEO_SECONDS})
    video_frame_seconds: float = field(default=2.0, metadata={"env": Env.VIDEO_FRAME_SECONDS})
    max_video_frames: int = field(default=60, metadata={"env": Env.MAX_VIDEO_FRAMES})
    # A video's pictures: 4K UHD. The decoder holds up to 18 of them (prism.budget).
    max_video_pixels: int = field(default=3840 * 2160, metadata={"env": Env.MAX_VIDEO_PIXELS})
    # The memory budget (prism.budget): what an instance has (Flex Consumption: 512,
    # 2,048 — the default — or 4,096 MB), less what is resident whatever the files: the
    # Functions host, the language worker, the libraries and every model loaded (the
    # worker measured 607 MB with every model loaded and run, the arena off; the host
    # and headroom make up the rest: bench/budget.py measures both). Files share the
    # difference: each reserves its estimated peak before it is downloaded.
    instance_memory_mb: int = field(default=2048, metadata={"env": Env.INSTANCE_MEMORY_MB})
    resident_memory_mb: int = field(default=896, metadata={"env": Env.RESIDENT_MEMORY_MB})
    text_labels: tuple[str, ...] = field(
        default=DEFAULT_TEXT_LABELS, metadata={"env": Env.TEXT_LABELS}
    )
    # Micro-batching per modality (see README "Performance" for why these defaults).
    # EfficientNet-Lite0 int8 is no cheaper per item in batches on CPU (measured), so
    # images run one per call, up to batches_in_flight at once.
    image_batch_size: int = field(default=1, metadata={"env": Env.IMAGE_BATCH_SIZE})
    image_batch_wait_ms: float = field(default=0.0, metadata={"env": Env.IMAGE_BATCH_WAIT_MS})
    # The VAD model is stateful per file: files cannot share a model call.
    audio_batch_size: int = field(default=1, metadata={"env": Env.AUDIO_BATCH_SIZE})
    audio_batch_wait_ms: float = field(default=0.0, metadata={"env": Env.AUDIO_BATCH_WAIT_MS})
    text_batch_size: int = field(default=16, metadata={"env": Env.TEXT_BATCH_SIZE})
    # No waiting for company: once the backlog is there the batch is what has queued up
    # while the other calls ran (a slot held idle for company lost to no batching).
    text_batch_wait_ms: float = field(default=0.0, metadata={"env": Env.TEXT_BATCH_WAIT_MS})
    # Below this many texts outstanding on one worker, each runs alone: a small backlog
    # cannot fill a batch that beats single calls on CPU (bench/batching.py).
    text_batch_min_backlog: int = field(default=8, metadata={"env": Env.TEXT_BATCH_MIN_BACKLOG})
    batch_queue_limit: int = field(default=256, metadata={"env": Env.BATCH_QUEUE_LIMIT})
    batches_in_flight: int = field(default=2, metadata={"env": Env.BATCHES_IN_FLIGHT})
    # In-process LRU of predictions in front of the Cosmos DB cache container.
    cache_entries: int = field(default=2048, metadata={"env": Env.CACHE_ENTRIES})
    # Modalities that look up (and share) predictions in the Cosmos DB cache: only where
    # a hit saves far more than a lookup costs (bench/cache.py, README "Performance"):
    # the text and image models cost less than a lookup plus a miss's entry write.
    # "none" turns it off everywhere. A document may need OCR (seconds a page), a video
    # decoding, frames and a transcript: shared.
    shared_cache: tuple[str, ...] = field(
        default=("audio", "document", "video"), metadata={"env": Env.SHARED_CACHE}
    )
    text_other_threshold: float = field(default=0.2, metadata={"env": Env.TEXT_OTHER_THRESHOLD})
    # The manifest model that transcribes the speech the VAD finds, or "none".
    speech_model: str = field(default="whisper-tiny-en", metadata={"env": Env.SPEECH_MODEL})
    # The language spoken (a Whisper language code: "en", "de", "es", …), or "auto" to
    # detect it per window; a language other than "en" needs a multilingual model
    # (checked against the model when the engine first needs it).
    speech_language: str = field(default="en", metadata={"env": Env.SPEECH_LANGUAGE})
    # How GET /api/v1/search ranks stored results (prism.search): "vector" — Cosmos DB's
    # VectorDistance over the vector index; "scan" — an exact scan in this process (the
    # local emulator has no vector search); "auto" — scan against the local emulator (a
    # loopback endpoint), vector everywhere else.
    search: str = field(default="auto", metadata={"env": Env.SEARCH})

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


def _parse(name: str, raw: str, kind: Any) -> Any:
    try:
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
        if kind is Path:
            return Path(raw)
        if kind == tuple[str, ...]:
            items = tuple(part.strip() for part in raw.split(";") if part.strip())
            if not items:
                raise ValueError("empty list")
            return items
        return raw
    except ValueError as exc:
        raise ConfigurationError(f"setting {name}={raw!r} is not a valid {kind}: {exc}") from exc


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build settings: explicit ``overrides`` > ``environ`` (default ``os.environ``) > default."""
    env = os.environ if environ is None else environ
    hints = get_type_hints(Settings)
    values: dict[str, Any] = {}
    for spec in fields(Settings):
        if spec.name in overrides:
            values[spec.name] = overrides.pop(spec.name)
            continue
        raw = env.get(spec.metadata["env"])
        if raw not in (None, ""):
            values[spec.name] = _parse(spec.metadata["env"], str(raw), hints[spec.name])
    if overrides:
        raise ConfigurationError(f"unknown settings: {', '.join(sorted(overrides))}")
    settings = Settings(**values)
    if settings.intra_op_threads < 1:
        raise ConfigurationError(f"{Env.INTRA_OP_THREADS} must be at least 1")
    shared = set(settings.shared_cache)
    modalities = [modality.value for modality in Modality]
    if shared - set(modalities) - {"none"} or ("none" in shared and len(shared) > 1):
        raise ConfigurationError(
            f"{Env.SHARED_CACHE} is modalities separated by ';' ({', '.join(modalities)}) or "
            f"'none': {';'.join(settings.shared_cache)}"
        )
    if settings.max_video_frames < 1 or settings.video_frame_seconds <= 0:
        raise ConfigurationError(
            f"{Env.MAX_VIDEO_FRAMES} is at least 1 and {Env.VIDEO_FRAME_SECONDS} above 0"
        )
    if settings.resident_memory_mb < 0 or settings.file_memory_bytes <= 0:
        raise ConfigurationError(
            f"{Env.INSTANCE_MEMORY_MB} ({settings.instance_memory_mb}) must exceed "
            f"{Env.RESIDENT_MEMORY_MB} ({settings.resident_memory_mb}), which is at least 0"
        )
    if settings.image_text not in ("on", "off"):
        raise ConfigurationError(f"{Env.IMAGE_TEXT} is on or off: {settings.image_text}")
    if settings.search not in SEARCH_BACKENDS:
        raise ConfigurationError(
            f"{Env.SEARCH} is one of {', '.join(SEARCH_BACKENDS)}: {settings.search}"
        )
    return settings


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return load_settings()
