"""The audio modality's spectral descriptors are librosa's: numpy computes them at run
time (librosa's numba kernels compile on a process's first call), and here each one is
held to what librosa itself gives for the same signal, computed whole."""

from __future__ import annotations

import numpy as np
import pytest

from prism.modalities.audio import (
    SPECTRAL_CHUNK_FRAMES,
    SPECTRAL_FFT,
    SPECTRAL_HOP,
    spectral_descriptors,
)

RATE = 16_000


def librosa_descriptors(samples: np.ndarray, sample_rate: int) -> dict[str, float]:
    import librosa

    magnitude = np.abs(librosa.stft(samples, n_fft=SPECTRAL_FFT, hop_length=SPECTRAL_HOP))
    features = {
        "centroid_hz": librosa.feature.spectral_centroid(S=magnitude, sr=sample_rate),
        "bandwidth_hz": librosa.feature.spectral_bandwidth(S=magnitude, sr=sample_rate),
        "rolloff_hz": librosa.feature.spectral_rolloff(S=magnitude, sr=sample_rate),
        "zero_crossing_rate": librosa.feature.zero_crossing_rate(
            samples, frame_length=SPECTRAL_FFT, hop_length=SPECTRAL_HOP
        ),
    }
    return {name: float(np.nan_to_num(value.mean())) for name, value in features.items()}


def signal(kind: str, seconds: float) -> np.ndarray:
    rng = np.random.default_rng(11)
    t = np.arange(round(seconds * RATE)) / RATE
    if kind == "tone":
        wave = 0.5 * np.sin(2 * np.pi * 440 * t)
    elif kind == "chirp":
        wave = 0.3 * np.sin(2 * np.pi * (100 + 3000 * t / max(seconds, 1e-9)) * t)
    elif kind == "noise":
        wave = rng.normal(0, 0.2, t.size)
    elif kind == "silence":
        wave = np.zeros(t.size)
    else:  # speech-like: noise bursts between silences, with a DC offset
        wave = rng.normal(0, 0.3, t.size) * (np.sin(2 * np.pi * 2 * t) > 0) + 1e-11
    return wave.astype(np.float32)


@pytest.mark.parametrize(
    ("kind", "seconds"),
    [("tone", 2.0), ("chirp", 3.0), ("noise", 1.0), ("silence", 1.0), ("bursts", 2.5),
     ("noise", 0.01)],
)  # fmt: skip
def test_each_descriptor_is_librosas_for_the_same_signal(kind: str, seconds: float) -> None:
    samples = signal(kind, seconds)
    ours = spectral_descriptors(samples, RATE)
    theirs = librosa_descriptors(samples, RATE)
    assert ours.keys() == theirs.keys()
    for name, value in theirs.items():
        assert ours[name] == pytest.approx(value, rel=1e-5, abs=1e-4), name


def test_a_signal_longer_than_one_chunk_is_described_as_a_whole() -> None:
    seconds = 2.5 * SPECTRAL_CHUNK_FRAMES * SPECTRAL_HOP / RATE  # three chunks
    samples = signal("chirp", seconds)
    ours = spectral_descriptors(samples, RATE)
    theirs = librosa_descriptors(samples, RATE)
    for name, value in theirs.items():
        assert ours[name] == pytest.approx(value, rel=1e-5, abs=1e-4), name


def test_describing_audio_imports_no_numba_code() -> None:
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from prism.modalities.audio import spectral_descriptors\n"
        "spectral_descriptors(np.zeros(16000, np.float32), 16000)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('librosa', 'numba')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
