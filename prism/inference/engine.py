"""The inference engine: one handler per modality, built lazily, shared by a process.

It is the single entry point that the CLI, the queue functions and the HTTP API use to
turn bytes into results, so every path runs the same decode → validate → preprocess →
execute → postprocess steps with the same limits.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import lru_cache
from typing import Any, assert_never

from prism.budget import Cost
from prism.errors import ConfigurationError
from prism.modalities.base import BudgetedHandler, Outcome, run_batch
from prism.modalities.text_shape import SHAPE_VERSION
from prism.modality import Modality
from prism.onnx.registry import ModelRef, ModelSpec, Precision, model_for, model_named
from prism.routing import MagikaClassifier, Route, route
from prism.settings import Env, Settings, get_settings


class Engine:
    def __init__(self, settings: Settings, precision: Precision | None = None) -> None:
        """``precision`` runs every model at it instead of the manifest's runtime
        precision: for benchmarks only (the model references, and so cache keys and
        result ids, do not tell precisions apart)."""
        self.settings = settings
        self.precision = precision
        self._handlers: dict[Modality, BudgetedHandler[Any, Any, Any]] = {}
        self._magika: MagikaClassifier | None = None
        self._models: dict[Modality, ModelRef] = {}  # settings are frozen: work out once
        self._lock = threading.Lock()

    def handler(self, modality: Modality) -> BudgetedHandler[Any, Any, Any]:
        with self._lock:
            handler = self._handlers.get(modality)
            if handler is None:
                handler = self._create(modality)
                self._handlers[modality] = handler
            return handler

    def model(self, modality: Modality) -> ModelRef:
        """The model that serves ``modality``, with a digest of the settings that shape
        its results: a changed label set or limit is a different ModelRef, so caches and
        content-addressed results never serve an answer the current settings would not
        give."""
        known = self._models.get(modality)
        if known is not None:
            return known
        ref = replace(self.handler(modality).model, config=self.config_digest(modality))
        with self._lock:
            return self._models.setdefault(modality, ref)

    def config_digest(self, modality: Modality) -> str:
        s = self.settings
        shaping: tuple[object, ...]
        match modality:  # mypy holds a new modality to a case of its own
            case Modality.IMAGE:
                from prism.modalities.image import RESAMPLING

                shaping = (s.max_image_bytes, s.max_image_pixels, RESAMPLING,
                           *self._image_text_key())  # fmt: skip
            case Modality.AUDIO:
                shaping = (s.max_audio_bytes, s.max_audio_seconds, *self._speech_key())
            case Modality.TEXT:
                shaping = (s.max_text_bytes, s.max_text_tokens, s.text_labels,
                           s.text_other_threshold, SHAPE_VERSION)  # fmt: skip
            case Modality.DOCUMENT:
                # Its labels and embedding are the text model's, under the text settings.
                shaping = (s.max_document_bytes, s.max_document_pages, s.max_ocr_pages,
                           s.max_page_pixels, *self.model(Modality.TEXT).key_parts())  # fmt: skip
            case Modality.VIDEO:
                # Its frames' labels and its transcript are the image and audio models'.
                shaping = (s.max_video_bytes, s.max_video_seconds, s.video_frame_seconds,
                           s.max_video_frames, s.max_video_pixels,
                           *self.model(Modality.IMAGE).key_parts(),
                           *self.model(Modality.AUDIO).key_parts())  # fmt: skip
            case _:
                assert_never(modality)
        encoded = json.dumps(shaping, separators=(",", ":")).encode()
        return hashlib.sha256(encoded).hexdigest()[:16]

    def _image_text_key(self) -> tuple[str, ...]:
        """The OCR model that reads words in images, and how ("off": none)."""
        if self.settings.image_text == "off":
            return ("off",)
        from prism.modalities.decoded import IMAGE_OCR

        ocr = model_for("ocr", self.settings.model_dir).ref
        return (*ocr.key_parts(), json.dumps(IMAGE_OCR, sort_keys=True))

    def _speech_key(self) -> tuple[str, ...]:
        """The speech model's name, version and preprocessing version, and the language
        it transcribes ("none": off): a transcript in another language is another
        result."""
        if self.settings.speech_model == "none":
            return ("none",)
        return (*self._speech_spec().ref.key_parts()[:3], self.settings.speech_language)

    def _speech_spec(self) -> ModelSpec:
        """The configured speech model, checked to be one and to speak the language."""
        from prism.modalities.speech import check_language, is_multilingual

        spec = model_named(self.settings.speech_model, self.settings.model_dir)
        if self.precision is not None:
            spec = spec.at(self.precision)
        if spec.entry["role"] != "speech":
            raise ConfigurationError(
                f"{Env.SPEECH_MODEL}={self.settings.speech_model!r} is not a speech model "
                "(a manifest model with role 'speech', or 'none')"
            )
        check_language(self.settings.speech_language, spec.name, multilingual=is_multilingual(spec))
        return spec

    def _spec(self, role: str) -> ModelSpec:
        spec = model_for(role, self.settings.model_dir)
        return spec if self.precision is None else spec.at(self.precision)

    def _create(self, modality: Modality) -> BudgetedHandler[Any, Any, Any]:
        makers = {
            Modality.IMAGE: self._image_classifier,
            Modality.AUDIO: self._audio_analyzer,
            Modality.TEXT: self._text_embedder,
            Modality.DOCUMENT: self._document_reader,
            Modality.VIDEO: self._video_reader,
        }
        return makers[modality]()

    def _image_classifier(self) -> BudgetedHandler[Any, Any, Any]:
        from prism.modalities.decoded import IMAGE_OCR
        from prism.modalities.image import ImageClassifier
        from prism.modalities.ocr import TextReader

        s = self.settings
        reader = None
        if s.image_text == "on":
            reader = TextReader(self._spec("ocr"), s.intra_op_threads, overrides=IMAGE_OCR)
        return ImageClassifier(
            self._spec(Modality.IMAGE.value),
            threads=s.intra_op_threads,
            max_bytes=s.max_image_bytes,
            max_pixels=s.max_image_pixels,
            reader=reader,
        )

    def _audio_analyzer(self) -> BudgetedHandler[Any, Any, Any]:
        from prism.modalities.audio import AudioAnalyzer
        from prism.modalities.speech import SpeechTranscriber

        s = self.settings
        spec = self._spec(Modality.AUDIO.value)
        transcriber = None
        if s.speech_model != "none":
            transcriber = SpeechTranscriber(
                self._speech_spec(), threads=s.intra_op_threads, language=s.speech_language
            )
        return AudioAnalyzer(
            spec,
            threads=s.intra_op_threads,
            max_bytes=s.max_audio_bytes,
            max_seconds=s.max_audio_seconds,
            transcriber=transcriber,
        )

    def _text_embedder(self) -> BudgetedHandler[Any, Any, Any]:
        from prism.modalities.text_labels import DocumentTextEmbedder

        s = self.settings
        return DocumentTextEmbedder(
            self._spec(Modality.TEXT.value),
            threads=s.intra_op_threads,
            max_bytes=s.max_text_bytes,
            max_tokens=s.max_text_tokens,
            labels=s.text_labels,
            other_threshold=s.text_other_threshold,
        )

    def _document_reader(self) -> BudgetedHandler[Any, Any, Any]:
        from prism.modalities.document import DocumentLimits, DocumentReader

        s = self.settings
        limits = DocumentLimits(
            s.max_document_bytes, s.max_document_pages, s.max_ocr_pages, s.max_page_pixels
        )
        return DocumentReader(
            self._spec("ocr"),
            threads=s.intra_op_threads,
            limits=limits,
            # Called when a document runs, outside the lock _create is called under.
            text=lambda: self.handler(Modality.TEXT),
            text_max_bytes=s.max_text_bytes,
        )

    def _video_reader(self) -> BudgetedHandler[Any, Any, Any]:
        from prism.modalities.video import PROCESSING_VERSION, VideoLimits, VideoReader

        s = self.settings
        audio = model_for(Modality.AUDIO.value, s.model_dir)
        image = model_for(Modality.IMAGE.value, s.model_dir).ref
        return VideoReader(
            limits=VideoLimits(
                s.max_video_bytes,
                s.max_video_seconds,
                s.max_video_pixels,
                s.video_frame_seconds,
                s.max_video_frames,
            ),
            # Called when a video runs, outside the lock _create is called under.
            image=lambda: self.handler(Modality.IMAGE),
            audio=lambda: self.handler(Modality.AUDIO),
            sample_rate=int(audio.preprocessing["sample_rate"]),
            model=ModelRef(
                f"{image.name}+{audio.name}",
                f"{image.version}+{audio.version}",
                PROCESSING_VERSION,
            ),
        )

    @property
    def content_classifier(self) -> MagikaClassifier:
        with self._lock:
            if self._magika is None:
                spec = model_for("router", self.settings.model_dir)
                self._magika = MagikaClassifier(spec, threads=1)
            return self._magika

    def route(
        self,
        head: bytes,
        *,
        size: int,
        name: str | None = None,
        declared_type: str | None = None,
        tail: bytes | Callable[[], bytes] = b"",
    ) -> Route:
        """Route by content (magic bytes first, magika only when unsure)."""
        return route(
            head,
            size=size,
            name=name,
            declared_type=declared_type,
            tail=tail,
            magika=self.content_classifier,
            settings=self.settings,
        )

    def cost(self, modality: Modality, size: int, head: bytes) -> Cost:
        """What one ``size``-byte file of ``modality`` will cost to process, from its
        first :meth:`header_bytes` bytes (``head``): see :mod:`prism.budget`."""
        return self.handler(modality).cost(size, head)

    def header_bytes(self, modality: Modality) -> int:
        """How many of a file's first bytes :meth:`cost` reads (0: none)."""
        return self.handler(modality).header_bytes

    def run(self, modality: Modality, payloads: Sequence[bytes]) -> list[Outcome]:
        """One outcome per payload, in order (see :func:`run_batch`)."""
        return run_batch(self.handler(modality), payloads)


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    """The process-wide engine, created on first use from the process settings."""
    return Engine(get_settings())
