"""One measurement of :mod:`bench.peers`, in a fresh process: an engine reads every input
of a list, in order, and prints one JSON line — each input's text, the process's CPU
seconds and wall seconds over the inputs (the model already loaded), the first input's
wall seconds from process start (what a new instance's first request waits for: imports,
model load, first call) and the peak RSS.

Runs under two interpreters: Prism's engines under the app's environment, and
faster-whisper under the bench's peers environment (``.venv-peers``), which holds
faster-whisper and nothing of Prism's. So this file imports only the standard library
and NumPy at the top; each engine imports what it needs.

    python bench/peer_run.py ENGINE MODEL THREADS INPUT...

ENGINE is ``prism-speech`` (MODEL: a Prism model name), ``faster-whisper`` (MODEL: a
CTranslate2 model directory) or ``prism-ocr`` (MODEL: ``document`` or ``photo``, the
OCR settings of a scanned page or of a picture). Speech inputs are 16 kHz mono 16-bit
WAV files; OCR inputs are images.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np

STARTED = time.perf_counter()


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as recording:
        if (recording.getframerate(), recording.getnchannels(), recording.getsampwidth()) != (
            16_000,
            1,
            2,
        ):
            raise SystemExit(f"{path}: not 16 kHz mono 16-bit")
        pcm = recording.readframes(recording.getnframes())
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


def prism_speech(model: str, threads: int) -> Callable[[Path], str]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from prism.modalities.speech import SpeechTranscriber
    from prism.onnx.registry import model_named
    from prism.settings import get_settings

    transcriber = SpeechTranscriber(model_named(model, get_settings().model_dir), threads=threads)

    def read(path: Path) -> str:
        audio = read_wav(path)
        return str(transcriber.transcribe(audio, [(0, audio.size)])["text"])

    return read


def faster_whisper(model: str, threads: int) -> Callable[[Path], str]:
    from faster_whisper import WhisperModel

    whisper = WhisperModel(model, device="cpu", compute_type="int8", cpu_threads=threads)

    def read(path: Path) -> str:
        # Greedy, no fallback, no timestamps, the whole recording: as Prism decodes.
        segments, _ = whisper.transcribe(
            read_wav(path),
            language="en",
            beam_size=1,
            temperature=0.0,
            without_timestamps=True,
            condition_on_previous_text=False,
            vad_filter=False,
        )
        return " ".join(segment.text.strip() for segment in segments)

    return read


def prism_ocr(settings: str, threads: int) -> Callable[[Path], str]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from PIL import Image

    from prism.modalities.decoded import IMAGE_OCR
    from prism.modalities.ocr import TextReader, page_text
    from prism.onnx.registry import model_for
    from prism.settings import get_settings

    spec = model_for("ocr", get_settings().model_dir)
    reader = TextReader(spec, threads, overrides=IMAGE_OCR if settings == "photo" else None)

    def read(path: Path) -> str:
        with Image.open(path) as image:
            return page_text(reader.read(image.convert("RGB")))

    return read


ENGINES = {"prism-speech": prism_speech, "faster-whisper": faster_whisper, "prism-ocr": prism_ocr}


def main(argv: list[str]) -> None:
    engine, model, threads, *inputs = argv
    read = ENGINES[engine](model, int(threads))
    paths = [Path(name) for name in inputs]
    texts = [read(paths[0])]
    first_call = time.perf_counter() - STARTED
    cpu, wall = time.process_time(), time.perf_counter()
    texts = [read(path) for path in paths]  # the first again: warm, like the rest
    print(
        json.dumps(
            {
                "texts": texts,
                "cpu_s": time.process_time() - cpu,
                "wall_s": time.perf_counter() - wall,
                "first_call_s": first_call,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
