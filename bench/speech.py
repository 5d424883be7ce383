"""What transcription costs per second of speech: Whisper's CPU time per window over the
seconds of speech the window holds, int8 and fp32, one thread (a core's time).

Whisper always hears a 30 s window (the features are zero-padded), so the encoder costs
the same for a short utterance as for a full window, and the decoder costs a step per
token, growing with the words. Two window shapes are measured on the same eSpeak NG
speech the model's gate uses (:func:`models.datasets.transcription_clips`):

* **utterance** — one sentence alone in its window (a voice note, a short recording):
  the median time of each clip's window, over its seconds, averaged over the clips;
* **full** — the clips one after another until the next would pass 29.5 s (the longest
  window the pipeline makes, :data:`prism.modalities.speech.WINDOW_SECONDS` less its
  context), as continuous speech fills every window of a long recording.

``prism cost`` turns these into dollars per minute of speech and ``prism plan`` into the
compute an audio file with a given amount of speech needs (:mod:`prism_tools.cost.speech`).
Each precision runs in its own child process, as in :mod:`bench.models`.
"""

from __future__ import annotations

import json
import multiprocessing
import statistics
from contextlib import nullcontext
from pathlib import Path
from typing import Any, cast

import numpy as np

from bench.models import FULL, QUICK, Budget, _time_calls
from prism.onnx.registry import Precision, model_for, model_named
from prism.settings import get_settings

UTTERANCES = 4  # clips timed alone, each in its own window
THREADS = 1  # one core's time: the cost model divides by an instance's cores
QUICK_CLIPS = 1  # --quick: one utterance, alone in the "full" window too


def measure(precision: str, model_dir: str, model: str, budget: Budget = FULL) -> dict[str, Any]:
    """Runs in a child process: the utterance and full windows at one thread."""
    from models.datasets import transcription_clips
    from prism.modalities.speech import (
        CONTEXT_SECONDS,
        SAMPLE_RATE,
        WINDOW_SECONDS,
        Generation,
        Whisper,
        greedy_decode,
        log_mel,
        window_token_budget,
    )
    from prism.onnx.sessions import get_session

    spec = model_named(model, Path(model_dir))
    chosen = cast("Precision", precision)
    filters = np.load(spec.asset("mel_filters.npy"), allow_pickle=False)
    generation = Generation.from_json(json.loads(spec.asset("generation.json").read_text()))
    whisper = Whisper(
        get_session(spec.onnx_path(chosen, "encoder"), THREADS),
        get_session(spec.onnx_path(chosen, "decoder"), THREADS),
    )
    clips = [audio for _, audio in transcription_clips(SAMPLE_RATE)]
    if budget == QUICK:
        clips = clips[:QUICK_CLIPS]
    utterance_clips = clips[: 1 if budget == QUICK else UTTERANCES]

    def window(audio: np.ndarray) -> dict[str, Any]:
        features = log_mel(audio, filters)[None]
        allowed = [window_token_budget(audio.size / SAMPLE_RATE)]
        tokens: list[int] = []

        def transcribe() -> None:
            tokens[:] = greedy_decode(whisper, features, generation, allowed)[0]

        timings = _time_calls(transcribe, budget)
        return {
            "speech_s": audio.size / SAMPLE_RATE,
            "cpu_ms": statistics.median(timings) * 1000,
            "tokens": len(tokens),
        }

    utterances = [window(audio) for audio in utterance_clips]
    limit = int((WINDOW_SECONDS - 2 * CONTEXT_SECONDS) * SAMPLE_RATE)
    full: list[np.ndarray] = []
    for audio in clips:
        if sum(part.size for part in full) + audio.size > limit:
            break
        full.append(audio)
    full_window = window(np.concatenate(full))
    return {
        "precision": precision,
        "threads": THREADS,
        "utterance": {
            "windows": len(utterances),
            "speech_s": statistics.mean(u["speech_s"] for u in utterances),
            "cpu_ms": statistics.mean(u["cpu_ms"] for u in utterances),
            "tokens": statistics.mean(u["tokens"] for u in utterances),
        },
        "full": {**full_window, "clips": len(full)},
        "model": spec.name,
        "recording": _recording(chosen, Path(model_dir), model, budget),
    }


def _recording(
    precision: Precision, model_dir: Path, model: str, budget: Budget = FULL
) -> dict[str, Any]:
    """The batching benchmark's recording (``samples/greeting.flac``) as the pipeline
    transcribes it: its speech spans from the VAD, then Whisper over them."""
    from bench.batching import payloads
    from prism.modalities.audio import AudioAnalyzer, speech_segments
    from prism.modalities.speech import SAMPLE_RATE, SpeechTranscriber
    from prism.modality import Modality

    analyzer = AudioAnalyzer(
        model_for("audio", model_dir), threads=THREADS, max_bytes=2**30, max_seconds=3600
    )
    transcriber = SpeechTranscriber(model_named(model, model_dir), threads=THREADS,
                                    precision=precision)  # fmt: skip
    decoded = analyzer.decode(payloads(Modality.AUDIO)[0])
    prepared = analyzer.preprocess(decoded)
    [raw] = analyzer.execute([prepared])
    spans = speech_segments(raw, analyzer.params, decoded.samples.size)
    timings = _time_calls(lambda: transcriber.transcribe(decoded.samples, spans), budget)
    return {
        "duration_s": decoded.duration,
        "speech_s": sum(end - start for start, end in spans) / SAMPLE_RATE,
        "cpu_ms": statistics.median(timings) * 1000,
    }


def run(*, quick: bool = False) -> dict[str, Any]:
    """Each precision in a child process of its own; ``quick``: both in one, each window
    transcribed once."""
    budget = QUICK if quick else FULL
    settings = get_settings()
    model_dir = str(settings.model_dir)
    context = multiprocessing.get_context("spawn")
    results = {}
    shared = context.Pool(1) if quick else None
    try:
        for precision in ("int8", "fp32"):
            with nullcontext(shared) if shared else context.Pool(1) as pool:
                arguments = (precision, model_dir, settings.speech_model, budget)
                results[precision] = pool.apply(measure, arguments)
    finally:
        if shared is not None:
            shared.close()
            shared.join()
    rates = {
        precision: {
            shape: result[shape]["cpu_ms"] / 1000 / result[shape]["speech_s"]
            for shape in ("utterance", "full")
        }
        for precision, result in results.items()
    }
    return {"results": results, "cpu_s_per_speech_s": rates}


def render(report: dict[str, Any]) -> str:
    header = (
        f"{'precision':<9} {'window':<9} {'speech s':>8} {'tokens':>6} {'CPU ms':>8} "
        f"{'CPU s per speech s':>19}"
    )
    lines = [header, "─" * len(header)]
    for precision, result in report["results"].items():
        for shape in ("utterance", "full", "recording"):
            row = result[shape]
            rate = row["cpu_ms"] / 1000 / row["speech_s"]
            tokens = f"{row['tokens']:>6.1f}" if "tokens" in row else f"{'':>6}"
            lines.append(
                f"{precision:<9} {shape:<9} {row['speech_s']:>8.2f} {tokens} "
                f"{row['cpu_ms']:>8.1f} {rate:>19.4f}"
            )
    return "\n".join(lines)
