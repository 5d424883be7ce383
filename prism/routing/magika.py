"""magika's content-type model, run through Prism's own session and features."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from prism.onnx.sessions import ModelUnavailableError, get_session
from prism.routing.text import is_text, utf8_text

if TYPE_CHECKING:
    from prism.onnx.registry import ModelSpec

TOP_GUESSES = 5


@dataclass(frozen=True)
class ContentGuess:
    """A content classifier's answer: its best label and the top alternatives."""

    label: str
    score: float
    confident: bool
    top: tuple[tuple[str, float], ...] = ()

    def probability(self, label: str) -> float:
        return next((score for name, score in self.top if name == label), 0.0)


class ContentClassifier(Protocol):
    def classify(self, head: bytes, tail: bytes, size: int) -> ContentGuess:
        """Guess the content type from the file's head, tail and size."""


@dataclass(frozen=True)
class MagikaConfig:
    """The parts of magika's ``config.min.json`` that inference needs."""

    labels: tuple[str, ...]
    block_size: int
    min_file_size: int
    medium_threshold: float
    thresholds: dict[str, float]
    overwrite: dict[str, str]


class MagikaClassifier:
    """magika's standard model run through our own session and feature extraction.

    The magika package would bring its own session (using every core) and CLI; this
    reimplements its feature extraction (v2: first and last block, whitespace-stripped,
    padded) on top of the shared session cache, with one thread.
    """

    def __init__(self, spec: ModelSpec, *, threads: int = 1) -> None:
        self.spec = spec
        self.threads = threads
        params = spec.preprocessing
        self.beg_size = int(params["beg_size"])
        self.end_size = int(params["end_size"])
        self.padding = int(params["padding_token"])
        self._config: MagikaConfig | None = None

    @property
    def config(self) -> MagikaConfig:
        if self._config is None:
            with self.spec.asset("config.min.json").open(encoding="utf-8") as handle:
                raw = json.load(handle)
            expected = {"beg_size": self.beg_size, "end_size": self.end_size, "mid_size": 0,
                        "padding_token": self.padding, "use_inputs_at_offsets": False}  # fmt: skip
            wrong = {key: raw.get(key) for key, value in expected.items() if raw.get(key) != value}
            if wrong:
                raise ModelUnavailableError(
                    f"{self.spec.name}: config.min.json disagrees with the manifest: {wrong}"
                )
            self._config = MagikaConfig(
                labels=tuple(str(label) for label in raw["target_labels_space"]),
                block_size=int(raw["block_size"]),
                min_file_size=int(raw["min_file_size_for_dl"]),
                medium_threshold=float(raw["medium_confidence_threshold"]),
                thresholds={str(k): float(v) for k, v in raw["thresholds"].items()},
                overwrite={str(k): str(v) for k, v in raw["overwrite_map"].items()},
            )
        return self._config

    def features(self, head: bytes, tail: bytes, size: int) -> list[int] | None:
        """The model input (first then last bytes), or None when too few bytes remain
        after stripping whitespace for the model to say anything."""
        config = self.config
        block = config.block_size
        # magika reads one block from each end; a head holding the whole file is both.
        end_source = head[:size][-block:] if len(head) >= size else tail[-block:]
        beg = list(head[:block].lstrip()[: self.beg_size])
        end = list(end_source.rstrip()[-self.end_size :]) if self.end_size else []
        if size < config.min_file_size or len(beg) < config.min_file_size:
            return None
        beg_padding = [self.padding] * (self.beg_size - len(beg))
        return beg + beg_padding + [self.padding] * (self.end_size - len(end)) + end

    def classify(self, head: bytes, tail: bytes, size: int) -> ContentGuess:
        import numpy as np

        features = self.features(head, tail, size)
        if features is None:
            # magika's rule for a few bytes is "text if they decode"; ours also refuses
            # NUL and control bytes, as the text sniffing does.
            few = head[:size]
            label = "txt" if is_text(few, utf8_text(few, size, b"")) else "unknown"
            return ContentGuess(label, 1.0, True, ((label, 1.0),))
        config = self.config
        session = get_session(self.spec.onnx_path(), self.threads)
        (scores,) = session.run(None, {"bytes": np.asarray([features], dtype=np.int32)})
        probabilities = np.asarray(scores, dtype=np.float32)[0]
        order = np.argsort(probabilities)[::-1][:TOP_GUESSES]
        top = tuple((config.labels[int(i)], float(probabilities[i])) for i in order)
        best, score = top[0]
        threshold = config.thresholds.get(best, config.medium_threshold)
        return ContentGuess(config.overwrite.get(best, best), score, score >= threshold, top)
