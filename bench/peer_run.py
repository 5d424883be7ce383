"""One measurement of :mod:`bench.peers`, in a fresh process: an engine reads every input
of a list, in order, and prints one JSON line — each input's text, the CPU seconds
(this process's and its children's) and wall seconds over the inputs (the model already
loaded), the first input's wall seconds from process start (what a new instance's first
request waits for: imports, model load, first call) and the peak RSS (this process's
high-water mark, or its largest child's).

Runs under two interpreters: Prism's engines under the app's environment, and
faster-whisper under the bench's peers environment (``.venv-peers``), which holds
faster-whisper and nothing of Prism's. So this file imports only the standard library
and NumPy at the top; each engine imports what it needs.

    python bench/peer_run.py ENGINE MODEL THREADS INPUT...

ENGINE is ``prism-speech`` (MODEL: a Prism model name), ``faster-whisper`` (MODEL: a
CTranslate2 model directory), ``prism-ocr`` (MODEL: ``document`` or ``photo``, the OCR
settings of a scanned page or of a picture) or ``tesseract`` (MODEL: the program; a
process per input, one thread, as its command line is used). Speech inputs are 16 kHz mono 16-bit
WAV files; OCR inputs are images.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
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


def tesseract(program: str, threads: int) -> Callable[[Path], str]:
    environment = {**os.environ, "OMP_THREAD_LIMIT": str(threads)}

    def read(path: Path) -> str:
        done = subprocess.run(
            [program, str(path), "-", "--psm", "3", "-l", "eng"],
            capture_output=True, check=True, env=environment,
        )  # fmt: skip
        return done.stdout.decode("utf-8", "replace")

    return read


ENGINES = {
    "prism-speech": prism_speech,
    "faster-whisper": faster_whisper,
    "prism-ocr": prism_ocr,
    "tesseract": tesseract,
}


def cpu_seconds() -> float:
    """This process's CPU seconds and those of its children it has waited for."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def peak_rss_mb() -> float:
    """This process's high-water mark (``VmHWM``: since its own exec, unlike
    ``ru_maxrss``, which starts from the parent it was forked from), or its largest
    child's."""
    status = Path("/proc/self/status").read_text()
    own_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
    return max(own_kb, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024


def main(argv: list[str]) -> None:
    engine, model, threads, *inputs = argv
    read = ENGINES[engine](model, int(threads))
    paths = [Path(name) for name in inputs]
    texts = [read(paths[0])]
    first_call = time.perf_counter() - STARTED
    cpu, wall = cpu_seconds(), time.perf_counter()
    texts = [read(path) for path in paths]  # the first again: warm, like the rest
    print(
        json.dumps(
            {
                "texts": texts,
                "cpu_s": cpu_seconds() - cpu,
                "wall_s": time.perf_counter() - wall,
                "first_call_s": first_call,
                "peak_rss_mb": peak_rss_mb(),
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
