"""Calibration and evaluation data for the model build, from installed wheels only.

* Photos: the real photographs that ship in scikit-image, scikit-learn and matplotlib.
  Calibration and evaluation use *different photos*, so the gate never scores the
  quantizer on what it was calibrated on.
* Sentences: real English prose from the package descriptions (METADATA) of pinned
  wheels — deterministic for a given requirements lock.
* Speech: sentences spoken by eSpeak NG — its library and voice data ship in the
  ``espeakng-loader`` wheel, driven here through ``ctypes`` (no system package, no
  root) — placed between silences and mixed with seeded noise.
"""

from __future__ import annotations

import ctypes
import importlib.metadata
import importlib.util
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from models.common import package_file
from prism.modalities.image import preprocess_image
from prism.onnx.registry import load_manifest


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


# The speech-to-text gate's references: SPOKEN without its number sentence (a transcript
# may write "742" for it, which a word error rate would count as four errors), plus more.
TRANSCRIBED = (
    *(text for text in SPOKEN if not text.startswith("Seven")),
    "She sells sea shells by the sea shore.",
    "Open the window before the meeting starts.",
    "The train to the airport leaves every ten minutes.",
)
TRANSCRIPTION_VOICES = ("en", "en-us", "en-gb")
# A multilingual model's gate also hears these (language code: sentences; eSpeak NG's
# voice for each language has the same name), written without numbers for the same
# reason as TRANSCRIBED.
MULTILINGUAL = {
    "de": (
        "Guten Morgen, wie geht es dir heute?",
        "Der Zug zum Flughafen fährt jede halbe Stunde.",
        "Bitte schließen Sie das Fenster vor der Besprechung.",
    ),
    "es": (
        "Buenos días, el tren sale por la mañana.",
        "Me gusta leer un libro en el parque.",
        "Por favor, abre la ventana antes de la reunión.",
    ),
}


def transcription_clips(sample_rate: int = 16000) -> list[tuple[str, np.ndarray]]:
    """(reference text, audio): each sentence of TRANSCRIBED in each voice at 140 words a
    minute (at eSpeak's default 175, tiny.en misheard 47 % of the words), between 0.3 s
    of silence, with seeded noise at 30 dB SNR."""
    rng = np.random.default_rng(7)
    clips = []
    for voice in TRANSCRIPTION_VOICES:
        for text in TRANSCRIBED:
            pad = np.zeros(int(0.3 * sample_rate), dtype=np.float32)
            spoken = speak(text, sample_rate, voice=voice, words_per_minute=140)
            speech = np.concatenate([pad, spoken, pad])
            noise_power = float(np.mean(speech**2)) / 10 ** (30.0 / 10)
            noisy = speech + rng.normal(0.0, np.sqrt(noise_power), speech.size)
            clips.append((text, noisy.astype(np.float32)))
    return clips


def multilingual_clips(sample_rate: int = 16000) -> list[tuple[str, str, np.ndarray]]:
    """(language, reference text, audio): each sentence of MULTILINGUAL in its
    language's eSpeak NG voice, spoken and mixed as :func:`transcription_clips`'s."""
    rng = np.random.default_rng(11)
    clips = []
    for language, texts in MULTILINGUAL.items():
        for text in texts:
            pad = np.zeros(int(0.3 * sample_rate), dtype=np.float32)
            spoken = speak(text, sample_rate, voice=language, words_per_minute=140)
            speech = np.concatenate([pad, spoken, pad])
            noise_power = float(np.mean(speech**2)) / 10 ** (30.0 / 10)
            noisy = speech + rng.normal(0.0, np.sqrt(noise_power), speech.size)
            clips.append((language, text, noisy.astype(np.float32)))
    return clips


# speak_lib.h: AUDIO_OUTPUT_SYNCHRONOUS hands the samples to the callback and returns
# when the text is spoken; espeakCHARS_UTF8 says how the text is encoded.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_CHARS_UTF8 = 1
_POS_CHARACTER = 1
_RATE = 1  # espeak_PARAMETER espeakRATE, words per minute
_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class _Voice(ctypes.Structure):
    """speak_lib.h's ``espeak_VOICE``: only ``languages`` is set, to select by language
    as ``espeak-ng -v`` does."""

    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_char_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


@dataclass
class _Synthesizer:
    """eSpeak NG's library, initialised once per process (it keeps global state)."""

    library: Any
    sample_rate: int
    # The callback appends here; kept on the object so ctypes never frees it mid-call.
    chunks: list[bytes]
    callback: Any


def speech_source() -> dict[str, Any]:
    """The audio model's evaluation speech source as the manifest records it."""
    [audio] = [entry for entry in load_manifest()["models"] if entry["role"] == "audio"]
    return dict(audio["evaluation_data"]["speech"])


@cache
def _synthesizer() -> _Synthesizer:
    source = speech_source()
    for relative, sha256 in source["files"].items():
        package_file(relative, sha256)  # the voice data decides the audio: pin it
    import espeakng_loader

    library = ctypes.CDLL(espeakng_loader.get_library_path())
    library.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    library.espeak_SetVoiceByProperties.argtypes = [ctypes.POINTER(_Voice)]
    library.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    library.espeak_Synth.argtypes = [
        ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
        ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
    ]  # fmt: skip
    data_parent = Path(espeakng_loader.get_data_path()).parent
    sample_rate = library.espeak_Initialize(
        _AUDIO_OUTPUT_SYNCHRONOUS, 0, str(data_parent).encode(), 0
    )
    if sample_rate <= 0:
        raise RuntimeError(f"eSpeak NG did not start from {data_parent}")
    chunks: list[bytes] = []

    def collect(samples: Any, count: int, events: Any) -> int:
        if samples and count > 0:
            chunks.append(ctypes.string_at(samples, count * 2))
        return 0  # 0: go on synthesising

    callback = _SynthCallback(collect)
    library.espeak_SetSynthCallback(callback)
    return _Synthesizer(library, sample_rate, chunks, callback)


def speak(
    text: str, sample_rate: int = 16000, voice: str = "en", words_per_minute: int = 175
) -> np.ndarray:
    """Speech for ``text`` in the eSpeak NG voice for language ``voice`` at
    ``words_per_minute`` (eSpeak's default is 175), as mono float32 at ``sample_rate``."""
    import soxr

    synth = _synthesizer()
    if synth.library.espeak_SetVoiceByProperties(ctypes.byref(_Voice(languages=voice.encode()))):
        raise RuntimeError(f"eSpeak NG has no voice for {voice!r}")
    if synth.library.espeak_SetParameter(_RATE, words_per_minute, 0):
        raise RuntimeError(f"eSpeak NG refused the rate {words_per_minute}")
    synth.chunks.clear()
    encoded = text.encode("utf-8")
    status = synth.library.espeak_Synth(
        encoded, len(encoded) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
    )
    if status != 0:
        raise RuntimeError(f"eSpeak NG failed to speak {text!r} (error {status})")
    pcm = np.frombuffer(b"".join(synth.chunks), dtype="<i2").astype(np.float32) / 32768.0
    resampled: np.ndarray = soxr.resample(pcm, synth.sample_rate, sample_rate).astype(np.float32)
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
