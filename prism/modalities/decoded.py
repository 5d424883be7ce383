"""What a decoder hands on, where more than one modality reads it.

The video modality decodes its key frames into pictures and its soundtrack into sound
and hands them to the image and audio modalities' handlers (injected, never imported:
the modalities do not import each other). The types those handlers take, the cost of
sound, and how OCR reads a picture live here, below all of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prism.budget import MB, Cost

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image as PILImage

# Memory per second of sound at its peak (16 kHz mono float32 is 64 KB a second): the
# decoded chunks and their join, the VAD's framed copy with its contexts, the padded
# copies the spectral descriptors read, and the transcriber's windows. Measured in
# tests/integration/test_costs.py; beside it, the decoder's blocks (65,536 frames of
# up to 32 channels), a spectral chunk's spectrogram and the models' activations.
AUDIO_BYTES_PER_SECOND = 320_000
AUDIO_WORKING_BYTES = 96 * MB
# Loudness floor: digital silence has no finite dBFS, and JSON has no -inf.
SILENCE_DBFS = -120.0
# OCR of photos and screenshots, beside the manifest's page settings: the detector sees
# the image at most 960 pixels on its longer side (PP-OCR's own default for photos;
# never scaled up), regions are kept from a lower mean probability (signs are not crisp
# print), and a line must be read with higher confidence (a photo of no text at all
# must not come back with a stray character).
IMAGE_OCR = {"det_max_side": 960, "box_threshold": 0.4, "min_confidence": 0.8}


@dataclass(frozen=True)
class DecodedImage:
    image: PILImage.Image
    width: int
    height: int
    format: str


@dataclass(frozen=True)
class DecodedAudio:
    samples: np.ndarray  # mono float32 at the model's sample rate
    sample_rate: int  # the file's own rate
    channels: int
    format: str
    frames: int  # decoded frames at the file's rate
    rms_dbfs: float
    peak_dbfs: float

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate


def dbfs(power_or_amplitude: float, *, power: bool) -> float:
    if power_or_amplitude <= 0.0:
        return SILENCE_DBFS
    factor = 10.0 if power else 20.0
    return max(SILENCE_DBFS, factor * math.log10(power_or_amplitude))


def audio_cost(size: int, seconds: float) -> Cost:
    """The peak memory of analysing ``seconds`` of sound (the limit: the length is known
    only as samples are decoded, and decoding stops past it) from a ``size``-byte file."""
    return Cost(
        size + round(seconds * AUDIO_BYTES_PER_SECOND) + AUDIO_WORKING_BYTES,
        f"{seconds:.0f} s of sound at most",
        "send a shorter recording",
    )
