"""Calibration and evaluation data for the model build, from installed wheels only.

* Photos: the real photographs that ship in scikit-image, scikit-learn and matplotlib.
  Calibration and evaluation use *different photos*, so the gate never scores the
  quantizer on what it was calibrated on.
* Sentences: real English prose from the package descriptions (METADATA) of pinned
  wheels — deterministic for a given requirements lock.
* Speech: sentences spoken by espeak-ng (a Debian package the setup installs), placed
  between silences and mixed with seeded noise.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from prism.modalities.image import preprocess_image


def _package_dir(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"package {module!r} is not installed: run `make setup`")
    return Path(spec.origin).parent


@dataclass(frozen=True)
class Photo:
    name: str
    path: Path
    # ImageNet class ids that count as correct, for photos whose subject is known.
    true_classes: tuple[int, ...] = ()


def photos() -> list[Photo]:
    skimage_data = _package_dir("skimage") / "data"
    sklearn_images = _package_dir("sklearn") / "datasets" / "images"
    mpl_samples = _package_dir("matplotlib") / "mpl-data" / "sample_data"
    known = {
        "chelsea.png": (281, 282, 283, 284, 285),  # tabby, tiger cat, Persian, Siamese, Egyptian
        "coffee.png": (967, 968, 504),  # espresso, cup, coffee mug
        "rocket.jpg": (657, 744),  # missile, projectile
        "grace_hopper.jpg": (652, 457, 906),  # military uniform, bow tie, Windsor tie
        "flower.jpg": (985, 738),  # daisy, pot
        "motorcycle_left.png": (670, 665),  # motor scooter, moped
        "motorcycle_right.png": (670, 665),
    }
    names = [
        "astronaut.png", "brick.png", "camera.png", "cell.png", "chelsea.png",
        "clock_motion.png", "coffee.png", "coins.png", "color.png", "grass.png",
        "gravel.png", "hubble_deep_field.jpg", "ihc.png", "microaneurysms.png", "moon.png",
        "motorcycle_left.png", "motorcycle_right.png", "page.png", "retina.jpg",
        "rocket.jpg", "text.png",
    ]  # fmt: skip
    found = [Photo(n, skimage_data / n, known.get(n, ())) for n in names]
    found += [Photo(n, sklearn_images / n, known.get(n, ())) for n in ("china.jpg", "flower.jpg")]
    found.append(
        Photo("grace_hopper.jpg", mpl_samples / "grace_hopper.jpg", known["grace_hopper.jpg"])
    )
    return found


def split_photos() -> tuple[list[Photo], list[Photo]]:
    """(calibration, evaluation): every third photo calibrates, the rest evaluate."""
    everything = photos()
    calibration = [p for i, p in enumerate(everything) if i % 3 == 0]
    evaluation = [p for i, p in enumerate(everything) if i % 3 != 0]
    return calibration, evaluation


def random_crops(
    photo: Photo, count: int, params: dict[str, float], rng: np.random.Generator
) -> Iterator[np.ndarray]:
    """Random crops of 60–100 % of the area, aspect 3:4–4:3, half of them mirrored."""
    image = Image.open(photo.path).convert("RGB")
    width, height = image.size
    for _ in range(count):
        area = rng.uniform(0.6, 1.0) * width * height
        aspect = float(np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3))))
        crop_w = min(width, round(float(np.sqrt(area * aspect))))
        crop_h = min(height, round(float(np.sqrt(area / aspect))))
        left = int(rng.integers(0, width - crop_w + 1))
        top = int(rng.integers(0, height - crop_h + 1))
        crop = image.crop((left, top, left + crop_w, top + crop_h))
        if rng.random() < 0.5:
            crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        yield preprocess_image(crop, params)


def photo_tensor(photo: Photo, params: dict[str, float]) -> np.ndarray:
    """The photo exactly as the runtime sees it (whole image, centre crop)."""
    return preprocess_image(Image.open(photo.path).convert("RGB"), params)


# Pinned wheels whose descriptions give real English sentences.
SENTENCE_SOURCES = (
    "tqdm", "numpy", "scikit-learn", "librosa", "pillow", "hypothesis",
    "azure-storage-blob", "azure-cosmos", "azure-identity", "scikit-image",
)  # fmt: skip
_SENTENCE = re.compile(r"[A-Z][^.!?\n]{30,220}[.!?]")
_NOT_PROSE = re.compile(r"[`|<>{}\[\]=_*#/\\$]|https?:|\.\.")


def sentences(count: int) -> list[str]:
    """``count`` distinct prose sentences (6–40 words), spread evenly over the sources."""
    seen: dict[str, None] = {}
    for package in SENTENCE_SOURCES:
        description = importlib.metadata.metadata(package).get_payload()  # type: ignore[attr-defined]
        text = re.sub(r"\s+", " ", str(description))
        for match in _SENTENCE.finditer(text):
            sentence = match.group(0).strip()
            if not _NOT_PROSE.search(sentence) and 6 <= len(sentence.split()) <= 40:
                seen.setdefault(sentence, None)
    found = list(seen)
    if len(found) < count:
        raise RuntimeError(f"only {len(found)} sentences found in {SENTENCE_SOURCES}")
    return found[:: len(found) // count][:count]


SPOKEN = (
    "The quick brown fox jumps over the lazy dog.",
    "Prism routes every file by what it really is.",
    "Please leave a message after the tone and we will call you back.",
    "The weather tomorrow will be cloudy with a chance of rain in the afternoon.",
    "Seven hundred and forty two files were processed without a single error.",
    "Quantized models are smaller and faster on ordinary processors.",
)


def speak(text: str, sample_rate: int = 16000, voice: str = "en") -> np.ndarray:
    """Speech for ``text`` from espeak-ng, as mono float32 at ``sample_rate``."""
    import soundfile
    import soxr

    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise RuntimeError("espeak-ng is not installed: run `make system-deps`")
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        subprocess.run([espeak, "-v", voice, "-w", str(wav), text], check=True)
        audio, rate = soundfile.read(wav, dtype="float32", always_2d=True)
    mono = audio.mean(axis=1)
    resampled: np.ndarray = soxr.resample(mono, rate, sample_rate).astype(np.float32)
    return resampled


def speech_track(seed: int, sample_rate: int = 16000) -> np.ndarray:
    """Spoken sentences separated by 0.5–2 s gaps, mixed with noise at 10–30 dB SNR."""
    rng = np.random.default_rng(seed)
    pieces: list[np.ndarray] = []
    for index, text in enumerate(SPOKEN):
        pieces.append(np.zeros(int(rng.uniform(0.5, 2.0) * sample_rate), dtype=np.float32))
        pieces.append(speak(text, sample_rate, voice=("en", "en-us", "en-gb")[index % 3]))
    pieces.append(np.zeros(sample_rate, dtype=np.float32))
    track = np.concatenate(pieces)
    signal_power = float(np.mean(track**2)) + 1e-12
    snr_db = rng.uniform(10.0, 30.0)
    noise = rng.normal(0.0, np.sqrt(signal_power / 10 ** (snr_db / 10)), track.size)
    mixed: np.ndarray = (track + noise).astype(np.float32)
    return mixed
