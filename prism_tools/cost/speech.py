"""What transcription costs per minute of speech, from ``bench/results/speech.json``.

Whisper hears 30 s windows: the encoder costs the same whatever a window holds, and the
decoder a step per token. The benchmark (:mod:`bench.speech`) times, at one thread, a
short utterance alone in its window and a window filled with 27 s of speech; so a
window costs ``fixed + per_speech_s × seconds of speech``, the line through those two
measured points, and a recording's speech is packed into windows of at most 29.5 s.

Per minute of speech on Flex Consumption (1 core per 2048 MB, as in
:mod:`prism_tools.cost.model`)::

    GB-s = instance GB × CPU seconds ÷ the instance's cores
    CPU seconds = 60 × (window CPU seconds ÷ seconds of speech in the window)

shown for continuous speech (full windows) and for short utterances (one a window),
beside Azure AI Speech's per-hour list price over 60. No I/O, executions or Cosmos DB
here: a file pays those once, whatever its length (``prism cost``'s audio line).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from prism_tools.cost.model import MB_PER_CORE, read_bench_file

SECONDS_PER_MINUTE = 60
# The longest window the pipeline makes: 30 s less 0.25 s of context on each side
# (prism.modalities.speech.plan_windows with WINDOW_SECONDS - 2 * CONTEXT_SECONDS).
WINDOW_SPEECH_S = 29.5
SHAPES = {
    "full": "continuous speech ({speech_s:.1f} s a window)",
    "utterance": "short utterances (one of {speech_s:.1f} s a window)",
}


@dataclass(frozen=True)
class SpeechWindow:
    """One measured window: seconds of speech in it and Whisper's CPU seconds on it."""

    speech_s: float
    cpu_s: float

    @property
    def cpu_s_per_speech_s(self) -> float:
        return self.cpu_s / self.speech_s


@dataclass(frozen=True)
class SpeechMeasured:
    """What ``bench.speech`` measured for one precision, and the benchmark recording's
    speech (the audio file of the batching benchmark, whose cost ``prism cost`` shows)."""

    utterance: SpeechWindow
    full: SpeechWindow
    recording_speech_s: float

    @property
    def per_speech_s(self) -> float:
        """CPU seconds each further second of speech in a window adds (the decoder)."""
        return (self.full.cpu_s - self.utterance.cpu_s) / (
            self.full.speech_s - self.utterance.speech_s
        )

    @property
    def per_window(self) -> float:
        """CPU seconds of a window before any speech (the encoder, the prompt)."""
        return self.utterance.cpu_s - self.utterance.speech_s * self.per_speech_s

    def transcription_cpu_s(self, speech_s: float) -> float:
        """CPU seconds to transcribe ``speech_s`` of speech packed into full windows."""
        if speech_s <= 0:
            return 0.0
        windows = math.ceil(speech_s / WINDOW_SPEECH_S)
        return windows * self.per_window + speech_s * self.per_speech_s


def speech_from_bench(bench_dir: Path) -> dict[str, SpeechMeasured] | None:
    """Per precision (int8, fp32), or None where the speech benchmark has not run."""
    if not (bench_dir / "speech.json").is_file():
        return None
    results = read_bench_file(bench_dir / "speech.json")["results"]

    def window(row: dict[str, Any]) -> SpeechWindow:
        return SpeechWindow(speech_s=float(row["speech_s"]), cpu_s=float(row["cpu_ms"]) / 1000)

    return {
        precision: SpeechMeasured(
            utterance=window(result["utterance"]),
            full=window(result["full"]),
            recording_speech_s=float(result["recording"]["speech_s"]),
        )
        for precision, result in results.items()
    }


@dataclass(frozen=True)
class SpeechCostLine:
    precision: str
    window: str  # "full" or "utterance"
    speech_s_per_window: float
    cpu_s_per_speech_minute: float
    compute_per_minute: float  # USD per minute of speech
    managed_per_minute: float  # Azure AI Speech, USD per minute of audio

    @property
    def ratio(self) -> float:
        return self.managed_per_minute / self.compute_per_minute

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}


def compute_per_speech_minute(cpu_s_per_speech_s: float, prices: dict[str, Any],
                              instance_mb: int) -> float:  # fmt: skip
    """USD of Flex Consumption compute per minute of speech (the module docstring)."""
    cores = instance_mb / MB_PER_CORE
    gb_s = instance_mb / 1024 * cpu_s_per_speech_s * SECONDS_PER_MINUTE / cores
    return gb_s * float(prices["flex_on_demand_per_gb_s"])


def speech_cost(
    measured: dict[str, SpeechMeasured], prices: dict[str, Any], *, instance_mb: int
) -> list[SpeechCostLine]:
    managed = float(prices["managed_speech_per_audio_hour"]) / SECONDS_PER_MINUTE
    lines = []
    for precision, figures in measured.items():
        for shape in SHAPES:
            window: SpeechWindow = getattr(figures, shape)
            lines.append(
                SpeechCostLine(
                    precision=precision,
                    window=shape,
                    speech_s_per_window=window.speech_s,
                    cpu_s_per_speech_minute=window.cpu_s_per_speech_s * SECONDS_PER_MINUTE,
                    compute_per_minute=compute_per_speech_minute(
                        window.cpu_s_per_speech_s, prices, instance_mb
                    ),
                    managed_per_minute=managed,
                )
            )
    return lines
