"""What a document and a video cost to process, int8 against fp32, side by side.

The cost model's units: a one-page scanned PDF (every page read by OCR: what a document
costs at most per page) and a minute of video with speech throughout (the sample photos
as scenes of five seconds, the sample greeting over and over). Each runs through the
real engine, as the pipeline runs it, with every model at int8 and then at fp32
(``Engine(precision=…)``), one ONNX Runtime thread: the CPU seconds of the process per
file (median of three after a warm-up). The stored result and cache entry sizes come
from the same results, written as the pipeline writes them (:mod:`bench.documents`).
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from bench.documents import SAMPLES, pipeline_document, stored_kb
from prism.cache import cache_key
from prism.inference.engine import Engine
from prism.modality import Modality
from prism.onnx.registry import Precision
from prism.results import utc_now
from prism.settings import get_settings

ROUNDS = 3
QUICK_VIDEO_SECONDS = 5  # --quick: a video of one scene, run once (its models loading)
VIDEO_SECONDS = 60
SCENE_SECONDS = 5.0
SCENES = ("cat.jpg", "coffee.png", "rocket.webp", "sign.jpg")
UNITS = {
    Modality.DOCUMENT: "a one-page scanned PDF (its page read by OCR)",
    Modality.VIDEO: f"{VIDEO_SECONDS} s of video with speech throughout",
}


def minute_of_video(seconds: int = VIDEO_SECONDS) -> bytes:
    """``seconds`` of video with speech throughout (a minute unless told)."""
    import numpy as np
    import soundfile
    import soxr

    from tests.fixtures import media

    greeting, rate = soundfile.read(SAMPLES / "greeting.flac", dtype="float32")
    speech = soxr.resample(greeting, rate, 16_000).astype(np.float32)
    track = np.resize(speech, seconds * 16_000)  # the greeting, over and over
    count = round(seconds / SCENE_SECONDS)
    scenes = [(SCENES[i % len(SCENES)], SCENE_SECONDS) for i in range(count)]
    return media.video(scenes, track)


def inputs(quick: bool = False) -> dict[Modality, tuple[str, bytes]]:
    return {
        Modality.DOCUMENT: ("scanned.pdf", (SAMPLES / "scanned.pdf").read_bytes()),
        Modality.VIDEO: (
            "minute.mp4",
            minute_of_video(QUICK_VIDEO_SECONDS if quick else VIDEO_SECONDS),
        ),
    }


def cpu_seconds(
    engine: Engine, modality: Modality, data: bytes, rounds: int = ROUNDS
) -> tuple[float, dict[str, Any]]:
    """The process's CPU seconds for one file (median of ``rounds`` after a warm-up; with
    no rounds, the warm-up's, models loading included), and its result."""
    started = time.process_time()
    (outcome,) = engine.run(modality, [data])  # loads the models
    assert outcome.result is not None, outcome.error
    spent = [] if rounds else [time.process_time() - started]
    for _ in range(rounds):
        started = time.process_time()
        engine.run(modality, [data])
        spent.append(time.process_time() - started)
    return statistics.median(spent), outcome.result


def run(*, quick: bool = False) -> dict[str, Any]:
    settings = get_settings()
    engines: dict[Precision, Engine] = {p: Engine(settings, precision=p) for p in ("int8", "fp32")}
    rows: dict[str, Any] = {}
    for modality, (name, data) in inputs(quick).items():
        unit = UNITS[modality].replace(f"{VIDEO_SECONDS} s", f"{QUICK_VIDEO_SECONDS} s", quick)
        row: dict[str, Any] = {"unit": unit, "bytes": len(data)}
        for precision, engine in engines.items():
            seconds, result = cpu_seconds(engine, modality, data, 0 if quick else ROUNDS)
            row[f"{precision}_cpu_s"] = seconds
            if precision == "int8":
                document = pipeline_document(engine, modality, name, data, result)
                entry = {
                    "id": cache_key(document["content_sha256"], engine.model(modality)),
                    "result_id": document["id"],
                    "created_at": utc_now(),
                }
                row["result_kb"] = stored_kb(document)
                row["entry_kb"] = stored_kb(entry)
                row["detail"] = _detail(modality, result)
        rows[modality.value] = row
    return {"per_file": rows}


def _detail(modality: Modality, result: dict[str, Any]) -> dict[str, Any]:
    if modality is Modality.DOCUMENT:
        return {"pages": result["page_count"], "ocr_pages": result["ocr_pages"]}
    transcript = (result.get("audio") or {}).get("transcript") or {}
    return {
        "seconds": result["duration"],
        "frames": len(result["frames"]),
        "transcript_segments": len(transcript.get("segments", [])),
    }


def render(report: dict[str, Any]) -> str:
    from prism_tools.summary import format_table

    rows = [
        [
            modality,
            row["unit"],
            f"{row['int8_cpu_s']:.2f}",
            f"{row['fp32_cpu_s']:.2f}",
            f"{row['fp32_cpu_s'] / row['int8_cpu_s']:.2f}×",
            f"{row['result_kb']:.1f}",
            ", ".join(f"{k} {v}" for k, v in row["detail"].items()),
        ]
        for modality, row in report["per_file"].items()
    ]
    headers = ["modality", "per file", "int8 CPU s", "fp32 CPU s", "fp32/int8", "result KB", "seen"]
    return format_table(rows, headers)
