"""fp32 vs int8 for every model, measured side by side in one run.

Each (model, precision) runs in its own child process so load time and peak RSS are
its own. Inside it, every batch size and thread count is timed on the same inputs.
The parent prints a table of ratios (int8 over fp32) and writes JSON. Speech is the
configured speech model (``PRISM_SPEECH_MODEL``: ``whisper-base`` measures that one,
which must be built) in the configured language.
"""

from __future__ import annotations

import multiprocessing
import resource
import statistics
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, cast

import numpy as np

from prism.onnx.registry import ModelSpec, Precision, model_for, model_named
from prism.settings import get_settings

BATCH_SIZES = (1, 8, 32)
THREADS = (1, 2)
# Enough repetitions for a stable median on a quiet 2-core machine, bounded in time.
MIN_REPEATS = 5
TIME_BUDGET_S = 1.5
# A call this long (Whisper, a page of OCR: 0.5-6 s each) is timed three times, not
# five: on the project's machine (2026-12-05) Whisper's p95 was within 2-9 % of its
# median, and these rows cost ~4 of the suite's ~6 minutes. (Prism's cost model reads
# neither: transcription is the speech suite's, a page of OCR the media suite's.)
LONG_CALL_S = 0.5
LONG_CALL_REPEATS = 3
# Whisper and OCR are timed at one thread, as the app runs every model: a second thread
# was no faster on the 2-core machine (0.6-1.05x one thread's speed) at 0.5-6 s a call.
SLOW_MODEL_THREADS = (1,)
SPEECH_BATCHES = (1, 4)  # 30 s windows per call: one utterance each
OCR_PAGES = 2  # pages read per call (a document's pages are read one after another)


@dataclass(frozen=True)
class Budget:
    """What each model is timed on: the full run, or :data:`QUICK` (``python -m bench
    --quick``: one call of each model at each precision, in one child process)."""

    batch_sizes: tuple[int, ...] = BATCH_SIZES
    threads: tuple[int, ...] = THREADS
    slow_threads: tuple[int, ...] = SLOW_MODEL_THREADS  # Whisper's and OCR's
    speech_batches: tuple[int, ...] = SPEECH_BATCHES
    ocr_pages: tuple[int, ...] = (1, OCR_PAGES)
    min_repeats: int = MIN_REPEATS
    long_call_repeats: int = LONG_CALL_REPEATS
    seconds: float = TIME_BUDGET_S
    warm_up: bool = True  # a first call outside the timings (it allocates)
    ocr_paragraphs: int = 4  # of prose on each page read


FULL = Budget()
QUICK = Budget(batch_sizes=(1,), threads=(1,), speech_batches=(1,), ocr_pages=(1,),
               min_repeats=1, long_call_repeats=1, seconds=0.0, warm_up=False,
               ocr_paragraphs=1)  # fmt: skip


def image_inputs(spec: ModelSpec, batch: int) -> dict[str, np.ndarray]:
    from models.datasets import photo_tensor, photos

    pool = [photo_tensor(photo, spec.preprocessing) for photo in photos()[:8]]
    return {"input": np.stack([pool[i % len(pool)] for i in range(batch)])}


def text_inputs(spec: ModelSpec, batch: int) -> dict[str, np.ndarray]:
    from models.datasets import sentences
    from prism.modalities.text import load_tokenizer, pad_batch, tokenize

    tokenizer = load_tokenizer(spec, int(spec.preprocessing["max_tokens"]))
    texts = sentences(32)
    return pad_batch([tokenize(tokenizer, texts[i % len(texts)]) for i in range(batch)])


def audio_inputs(spec: ModelSpec, batch: int) -> dict[str, np.ndarray]:
    """``batch`` seconds of speech as one block of frames (the model is sequential)."""
    from models.datasets import speech_track
    from prism.modalities.audio import frame_audio

    params = spec.preprocessing
    rate = int(params["sample_rate"])
    audio = speech_track(0, rate)[: rate * batch]
    frames = frame_audio(audio, int(params["frame_samples"]), int(params["context_samples"]))
    state = np.zeros((1, 1, 128), dtype=np.float32)
    return {"input": frames, "h": state, "c": state}


INPUTS = {"image": image_inputs, "text": text_inputs, "audio": audio_inputs}


def _time_calls(call: Callable[[], object], budget: Budget = FULL) -> list[float]:
    """Seconds per ``call()``: at least ``budget.min_repeats`` (``long_call_repeats`` if
    the warm-up took ``LONG_CALL_S`` or more), for ``budget.seconds``, after a warm-up
    (the first run allocates)."""
    min_repeats, seconds = budget.min_repeats, budget.seconds
    if budget.warm_up:
        start = time.perf_counter()
        call()
        if time.perf_counter() - start >= LONG_CALL_S:
            min_repeats = budget.long_call_repeats
    timings: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(timings) < min_repeats or time.perf_counter() < deadline:
        start = time.perf_counter()
        call()
        timings.append(time.perf_counter() - start)
    return timings


def _row(threads: int, batch: int, timings: list[float]) -> dict[str, Any]:
    median = statistics.median(timings)
    return {
        "threads": threads,
        "batch": batch,
        "latency_ms": median * 1000,
        "p95_ms": float(np.percentile(timings, 95)) * 1000,
        "items_per_s": batch / median,
    }


def measure(role: str, precision: str, model_dir: str, budget: Budget = FULL) -> dict[str, Any]:
    """Runs in a child process: load time, latencies per batch/threads, peak RSS."""
    import onnxruntime

    spec = model_for(role, Path(model_dir))
    path = spec.onnx_path(precision)  # type: ignore[arg-type]
    rows = []
    load_s = 0.0
    for threads in budget.threads:
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        start = time.perf_counter()
        session = onnxruntime.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        load_s = max(load_s, time.perf_counter() - start)
        for batch in budget.batch_sizes:
            feeds = INPUTS[role](spec, batch)
            call = partial(session.run, None, feeds)
            rows.append(_row(threads, batch, _time_calls(call, budget)))
    return {
        "role": role,
        "precision": precision,
        "bytes": path.stat().st_size,
        "load_s": load_s,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rows": rows,
    }


def measure_speech(
    precision: str, model_dir: str, model: str, language: str, budget: Budget = FULL
) -> dict[str, Any]:
    """Runs in a child process: a whole transcription of each window (encoder, then
    greedy decoding token by token) in the same shape as :func:`measure`'s rows."""
    import json

    from models.datasets import transcription_clips
    from prism.modalities.speech import (
        SAMPLE_RATE,
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
    clips = [audio for _, audio in transcription_clips(SAMPLE_RATE)[:4]]
    features = [log_mel(audio, filters) for audio in clips]
    budgets = [window_token_budget(audio.size / SAMPLE_RATE) for audio in clips]
    rows = []
    load_s = 0.0
    for threads in budget.slow_threads:
        start = time.perf_counter()
        whisper = Whisper(
            get_session(spec.onnx_path(chosen, "encoder"), threads),
            get_session(spec.onnx_path(chosen, "decoder"), threads),
        )
        load_s = max(load_s, time.perf_counter() - start)
        for batch in budget.speech_batches:
            stacked = np.stack([features[i % len(features)] for i in range(batch)])
            allowed = [budgets[i % len(budgets)] for i in range(batch)]

            def transcribe(
                stacked: np.ndarray = stacked,
                allowed: list[int] = allowed,
                whisper: Whisper = whisper,
            ) -> None:
                greedy_decode(whisper, stacked, generation, allowed, language=language)

            timings = _time_calls(transcribe, budget)
            rows.append(_row(threads, batch, timings))
    return {
        "role": "speech",
        "model": spec.name,
        "language": language,
        "precision": precision,
        "bytes": sum(spec.onnx_path(chosen, part).stat().st_size for part in spec.parts),
        "load_s": load_s,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rows": rows,
    }


OCR_PROSE = (
    "Prism routes every file by what it really is, never by its name, and writes one "
    "result per file. A scanned page has no text layer, so its words come from the OCR "
    "model: the detector finds each line, the recogniser reads it character by character."
)


def measure_ocr(precision: str, model_dir: str, budget: Budget = FULL) -> dict[str, Any]:
    """Runs in a child process: whole A4 pages read end to end (detection, then each
    line's recognition), as the document modality reads a page without a text layer."""
    from models.ocr import render_page
    from prism.modalities.ocr import TextReader
    from prism.onnx.sessions import get_session

    spec = model_for("ocr", Path(model_dir))
    chosen = cast("Precision", precision)
    prose = [OCR_PROSE] * budget.ocr_paragraphs
    pages = [render_page(prose, seed, scanned=seed % 2 == 1)[0] for seed in range(4)]
    rows = []
    load_s = 0.0
    for threads in budget.slow_threads:
        start = time.perf_counter()
        for part in spec.parts:
            get_session(spec.onnx_path(chosen, part), threads)  # what the reader will use
        load_s = max(load_s, time.perf_counter() - start)
        reader = TextReader(spec, threads, precision=chosen)
        for batch in budget.ocr_pages:

            def read(batch: int = batch, reader: TextReader = reader) -> None:
                for page in pages[:batch]:
                    reader.read(page)

            rows.append(_row(threads, batch, _time_calls(read, budget)))
    return {
        "role": "ocr",
        "precision": precision,
        "bytes": sum(spec.onnx_path(chosen, part).stat().st_size for part in spec.parts),
        "load_s": load_s,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rows": rows,
    }


ROLES = ("image", "text", "audio", "speech", "ocr")


def run(roles: tuple[str, ...] = ROLES, *, quick: bool = False) -> dict[str, Any]:
    """Each (model, precision) in a child process of its own, so its load time and peak
    RSS are its own; ``quick``: all of them in one child, once each."""
    budget = QUICK if quick else FULL
    settings = get_settings()
    model_dir = str(settings.model_dir)
    context = multiprocessing.get_context("spawn")
    results = []
    if settings.speech_model == "none":
        roles = tuple(role for role in roles if role != "speech")
    # Detection is measured per window in the transcriber; here a set language.
    language = "en" if settings.speech_language == "auto" else settings.speech_language
    shared = context.Pool(1) if quick else None
    try:
        for role in roles:
            for precision in ("fp32", "int8"):
                with nullcontext(shared) if shared else context.Pool(1) as pool:
                    if role == "speech":
                        arguments = (precision, model_dir, settings.speech_model, language, budget)
                        results.append(pool.apply(measure_speech, arguments))
                    elif role == "ocr":
                        results.append(pool.apply(measure_ocr, (precision, model_dir, budget)))
                    else:
                        results.append(pool.apply(measure, (role, precision, model_dir, budget)))
    finally:
        if shared is not None:
            shared.close()
            shared.join()
    return {"results": results, "comparison": compare(results)}


def compare(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_key = {(r["role"], r["precision"]): r for r in results}
    table = []
    for role in dict.fromkeys(r["role"] for r in results):
        fp32, int8 = by_key[(role, "fp32")], by_key[(role, "int8")]
        for base, quant in zip(fp32["rows"], int8["rows"], strict=True):
            table.append(
                {
                    "model": role,
                    "threads": base["threads"],
                    "batch": base["batch"],
                    "fp32_ms": base["latency_ms"],
                    "int8_ms": quant["latency_ms"],
                    "speedup": base["latency_ms"] / quant["latency_ms"],
                    "int8_items_per_s": quant["items_per_s"],
                    "size_ratio": fp32["bytes"] / int8["bytes"],
                    "fp32_load_s": fp32["load_s"],
                    "int8_load_s": int8["load_s"],
                    "fp32_rss_mb": fp32["peak_rss_mb"],
                    "int8_rss_mb": int8["peak_rss_mb"],
                }
            )
    return table


def render(comparison: list[dict[str, Any]]) -> str:
    header = (
        f"{'model':<6} {'thr':>3} {'batch':>5} {'fp32 ms':>9} {'int8 ms':>9} {'speedup':>8} "
        f"{'int8 it/s':>10} {'size ×':>7} {'load fp32/int8 s':>17} {'RSS fp32/int8 MB':>17}"
    )
    lines = [header, "─" * len(header)]
    for row in comparison:
        lines.append(
            f"{row['model']:<6} {row['threads']:>3} {row['batch']:>5} {row['fp32_ms']:>9.2f} "
            f"{row['int8_ms']:>9.2f} {row['speedup']:>7.2f}× {row['int8_items_per_s']:>10.1f} "
            f"{row['size_ratio']:>6.2f}× {row['fp32_load_s']:>8.2f}/{row['int8_load_s']:<8.2f} "
            f"{row['fp32_rss_mb']:>8.0f}/{row['int8_rss_mb']:<8.0f}"
        )
    return "\n".join(lines)
