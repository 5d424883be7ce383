"""Audio analysis: voice activity with Silero VAD's sequence model, int8, plus descriptors.

decode: magic bytes must name an allowed audio format before libsndfile parses
anything; the header alone (format, rate, channels, frames) is checked against the
limits before any sample is decoded; decoding then streams in blocks — loudness is
measured on the original samples, each block is mixed to mono and resampled to the
model rate — so memory follows the 16 kHz mono signal, not the file's own rate and
channel count.
preprocess: 512-sample frames, each prefixed with the previous frame's last 64 samples.
execute: per-frame speech probabilities, the LSTM state carried across blocks.
postprocess: speech segments (Silero's state machine), speech ratio, loudness and
spectral descriptors (numpy, to librosa's definitions), and — when a transcriber is
configured — a transcript of those segments (:mod:`prism.modalities.speech`; it runs
here because it needs the segments, and on nothing else: silence costs nothing).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prism.budget import Cost
from prism.errors import ErrorCode, PermanentError
from prism.modalities.base import JsonDict, check_size
from prism.modalities.decoded import (
    DecodedAudio,
    audio_cost,
    dbfs,
)
from prism.modality import Modality
from prism.onnx.registry import ModelRef, ModelSpec
from prism.onnx.sessions import get_session
from prism.routing import kind_of, sniff_magic

if TYPE_CHECKING:
    import numpy as np

    from prism.modalities.speech import SpeechTranscriber

# Containers libsndfile may open here (it knows many more; less attack surface).
ALLOWED_FORMATS = ("WAV", "WAVEX", "RF64", "FLAC", "OGG", "MP3", "AIFF")
# Containers whose headers state the exact frame count, so fewer frames means truncated
# (MP3 and Ogg headers only estimate it).
EXACT_LENGTH_FORMATS = ("WAV", "WAVEX", "RF64", "FLAC", "AIFF")
MIN_SAMPLE_RATE = 4_000
MAX_SAMPLE_RATE = 384_000
MAX_CHANNELS = 32
DECODE_BLOCK_FRAMES = 65_536
# Frames per session.run: ~16 s of audio, silero's own default block.
MAX_MODEL_FRAMES = 512
LSTM_STATE_SHAPE = (1, 1, 128)
SPECTRAL_FFT = 1024
SPECTRAL_HOP = 512
SPECTRAL_CHUNK_FRAMES = 1024  # ~33 s at 16 kHz
SPECTRAL_ROLL_PERCENT = 0.85
ZERO_CROSSING_THRESHOLD = 1e-10
# WAV data sizes that mean "unknown" (streamed, or RF64's pointer to its ds64 chunk).
_UNKNOWN_RIFF_SIZES = (0, 0xFFFFFFFF)


def _corrupt(what: str, exc: BaseException | None = None) -> PermanentError:
    detail = f": {exc}" if exc is not None else ""
    return PermanentError(ErrorCode.CORRUPT, f"{what}{detail}")


def _check_wav_data_chunk(data: bytes, max_bytes: int) -> None:
    """libsndfile quietly shortens a WAV whose data chunk claims more bytes than the file
    holds; a truncated upload should be rejected, not half analysed.

    Streaming writers (ffmpeg to a pipe, ``espeak-ng --stdout``) cannot know the length
    and write a placeholder (0, 0xFFFFFFFF, 0x7FFFF000): a size beyond the byte cap
    cannot be an honest length for a file within it, so it is read as "unknown" too.
    """
    offset = 12
    while offset + 8 <= len(data):
        chunk_id = data[offset : offset + 4]
        chunk_size = int.from_bytes(data[offset + 4 : offset + 8], "little")
        if chunk_id == b"data":
            available = len(data) - offset - 8
            placeholder = chunk_size in _UNKNOWN_RIFF_SIZES or chunk_size > max_bytes
            if not placeholder and chunk_size > available:
                raise _corrupt(
                    f"the WAV file is truncated: its header declares {chunk_size} bytes of "
                    f"audio but only {available} are present"
                )
            return
        offset += 8 + chunk_size + (chunk_size & 1)  # chunks are word-aligned


@dataclass(frozen=True)
class AudioHeader:
    format: str
    sample_rate: int
    channels: int
    frames: int  # as the header states (an estimate for MP3 and Ogg)


def probe_audio(data: bytes, *, max_bytes: int, max_seconds: float) -> AudioHeader:
    """Check ``data`` from its header alone, before any sample is decoded."""
    import soundfile

    check_size(data, max_bytes, "audio file")
    label = sniff_magic(data[:4096])
    if label is None or kind_of(label).modality is not Modality.AUDIO:
        what = kind_of(label).description if label else "unidentified data"
        raise PermanentError(
            ErrorCode.UNSUPPORTED_TYPE,
            f"not an audio file ({what}); supported: WAV, FLAC, Ogg Vorbis/Opus, MP3, AIFF",
        )
    if label == "wav":
        _check_wav_data_chunk(data, max_bytes)
    try:
        info = soundfile.info(io.BytesIO(data))
    except (RuntimeError, ValueError, TypeError, OSError, EOFError) as exc:
        raise _corrupt("the audio header is unreadable", exc) from exc
    header = AudioHeader(str(info.format), int(info.samplerate), int(info.channels), info.frames)
    if header.format not in ALLOWED_FORMATS:
        raise PermanentError(ErrorCode.UNSUPPORTED_TYPE, f"{header.format} audio is not supported")
    if not MIN_SAMPLE_RATE <= header.sample_rate <= MAX_SAMPLE_RATE:
        raise PermanentError(
            ErrorCode.UNSUPPORTED_TYPE,
            f"the sample rate is {header.sample_rate} Hz; supported: "
            f"{MIN_SAMPLE_RATE}–{MAX_SAMPLE_RATE} Hz",
        )
    if not 1 <= header.channels <= MAX_CHANNELS:
        raise PermanentError(
            ErrorCode.UNSUPPORTED_TYPE,
            f"the audio has {header.channels} channels; supported: 1–{MAX_CHANNELS}",
        )
    if header.frames <= 0:
        raise PermanentError(ErrorCode.EMPTY, "the audio has no samples")
    if header.frames > max_seconds * header.sample_rate:
        raise _too_long(header.frames / header.sample_rate, max_seconds)
    return header


def decode_audio(
    data: bytes, *, max_bytes: int, max_seconds: float, sample_rate: int
) -> DecodedAudio:
    """Validate and decode ``data`` to mono float32 at ``sample_rate``, or raise a coded
    PermanentError."""
    import numpy as np
    import soundfile
    import soxr

    header = probe_audio(data, max_bytes=max_bytes, max_seconds=max_seconds)
    rate = header.sample_rate
    max_frames = int(max_seconds * rate)
    resampler = soxr.ResampleStream(rate, sample_rate, 1, dtype="float32")
    chunks: list[np.ndarray] = []
    frames, peak, energy = 0, 0.0, 0.0
    try:
        with soundfile.SoundFile(io.BytesIO(data)) as source:
            for block in source.blocks(DECODE_BLOCK_FRAMES, dtype="float32", always_2d=True):
                frames += len(block)
                if frames > max_frames:  # the header understated the length
                    raise _too_long(frames / rate, max_seconds)
                if not np.isfinite(block).all():
                    raise _corrupt("the audio contains NaN or infinite samples")
                peak = max(peak, float(np.abs(block).max(initial=0.0)))
                energy += float(np.square(block, dtype=np.float64).sum())
                chunks.append(resampler.resample_chunk(block.mean(axis=1)))
    except (RuntimeError, ValueError, TypeError, OSError, EOFError) as exc:
        raise _corrupt("the audio data is truncated or corrupt", exc) from exc
    chunks.append(resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True))
    if frames == 0:
        raise PermanentError(ErrorCode.EMPTY, "the audio has no samples")
    if header.format in EXACT_LENGTH_FORMATS and frames < header.frames:
        raise _corrupt(
            f"the audio is truncated: its header declares {header.frames} frames, "
            f"{frames} could be decoded"
        )
    return DecodedAudio(
        samples=np.concatenate(chunks).astype(np.float32, copy=False),
        sample_rate=rate,
        channels=header.channels,
        format=header.format.lower(),
        frames=frames,
        rms_dbfs=dbfs(energy / (frames * header.channels), power=True),
        peak_dbfs=dbfs(peak, power=False),
    )


def _too_long(seconds: float, max_seconds: float) -> PermanentError:
    return PermanentError(
        ErrorCode.TOO_LONG, f"the audio lasts {seconds:.1f} s; the limit is {max_seconds:g} s"
    )


def frame_audio(samples: np.ndarray, frame_samples: int, context_samples: int) -> np.ndarray:
    """(frames, context + frame) float32: each frame after the previous frame's last
    ``context_samples`` (zeros before the first); the last frame is zero-padded."""
    import numpy as np

    count = -(-samples.size // frame_samples)
    frames = np.zeros((count, frame_samples), dtype=np.float32)
    frames.reshape(-1)[: samples.size] = samples
    contexts = np.zeros((count, context_samples), dtype=np.float32)
    contexts[1:] = frames[:-1, frame_samples - context_samples :]
    return np.concatenate((contexts, frames), axis=1)


def speech_segments(
    probabilities: np.ndarray, params: dict[str, Any], audio_samples: int
) -> list[tuple[int, int]]:
    """Silero's ``get_speech_timestamps_from_probs`` (no maximum speech length), vectorised:
    speech starts at a frame ≥ threshold and ends, at the first frame below
    ``threshold − 0.15`` after the last speech frame, once a frame below it comes at
    least ``min_silence_ms`` later before speech resumes. Returns padded sample spans."""
    import numpy as np

    rate, window = int(params["sample_rate"]), int(params["frame_samples"])
    threshold = float(params["threshold"])
    negative = max(threshold - 0.15, 0.01)
    min_speech = rate * float(params["min_speech_ms"]) / 1000
    min_silence = rate * float(params["min_silence_ms"]) / 1000
    pad = rate * float(params["speech_pad_ms"]) / 1000
    probabilities = np.asarray(probabilities, dtype=np.float32).reshape(-1)

    speech = np.flatnonzero(probabilities >= threshold)
    if speech.size == 0:
        return []
    # Gap g (g ≥ 1) holds the frames after the g-th speech frame and before the next.
    gap = np.cumsum(probabilities >= threshold)
    quiet = np.flatnonzero((probabilities < negative) & (gap > 0))
    quiet_gaps, first_index = np.unique(gap[quiet], return_index=True)
    bounds = np.append(first_index, quiet.size)
    first_quiet, last_quiet = quiet[bounds[:-1]], quiet[bounds[1:] - 1]
    # A gap ends the segment when a quiet frame comes min_silence after its first one.
    closing = (last_quiet - first_quiet) >= math.ceil(min_silence / window)
    closed_gaps, ends = quiet_gaps[closing], first_quiet[closing] * window
    # A segment starts at the first speech frame and after every closing gap; a closing
    # gap after the last speech frame closes the last segment for good.
    starts = speech[np.r_[0, closed_gaps[closed_gaps < speech.size]]] * window
    if ends.size < starts.size:
        ends = np.r_[ends, audio_samples]
    keep = (ends - starts) > min_speech
    starts, ends = starts[keep].astype(np.float64), ends[keep].astype(np.float64)
    if starts.size == 0:
        return []
    # Padding: half the silence between close segments, else pad on both sides.
    silence = starts[1:] - ends[:-1]
    shift = np.where(silence < 2 * pad, silence // 2, pad)
    ends[:-1] += shift
    starts[1:] = np.maximum(0, starts[1:] - shift)
    starts[0] = max(0.0, starts[0] - pad)
    ends[-1] = min(float(audio_samples), ends[-1] + pad)
    return [(int(start), int(end)) for start, end in zip(starts, ends, strict=True)]


def run_sequence_model(session: Any, frames: np.ndarray) -> np.ndarray:
    """Speech probability per frame of one file: blocks of frames from a zero state,
    carrying the LSTM state from block to block."""
    import numpy as np

    hidden = np.zeros(LSTM_STATE_SHAPE, dtype=np.float32)
    cell = np.zeros(LSTM_STATE_SHAPE, dtype=np.float32)
    blocks = []
    for first in range(0, len(frames), MAX_MODEL_FRAMES):
        probabilities, hidden, cell = session.run(
            ["speech_probs", "hn", "cn"],
            {"input": frames[first : first + MAX_MODEL_FRAMES], "h": hidden, "c": cell},
        )
        blocks.append(np.asarray(probabilities, dtype=np.float32).reshape(-1))
    return np.concatenate(blocks) if blocks else np.zeros(0, np.float32)


def spectral_descriptors(samples: np.ndarray, sample_rate: int) -> dict[str, float]:
    """Means over the signal of the spectral centroid, bandwidth and roll-off (Hz) and the
    zero-crossing rate, as librosa defines them (``tests/unit/modalities/test_spectral.py``
    holds each to librosa's own on the same signals).

    Plain numpy, not librosa: its numba kernels compile on a process's first call, 14–28 s
    with an empty cache, as every new Flex instance has. Computed over
    ``SPECTRAL_CHUNK_FRAMES`` frames at a time: each descriptor is a value per frame, so
    the means are sums over chunks (whole, ten minutes of audio took 618 MB; a chunk takes
    a few MB). Frames are centred as librosa centres them: zero padding for the
    spectrogram, edge padding for the zero-crossing rate.
    """
    import numpy as np

    half = SPECTRAL_FFT // 2
    spectrum_source = np.pad(samples, half)
    crossing_source = np.pad(samples, half, mode="edge")
    frames = 1 + (spectrum_source.size - SPECTRAL_FFT) // SPECTRAL_HOP
    spectrum_frames, crossing_frames = _framed(spectrum_source), _framed(crossing_source)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(SPECTRAL_FFT) / SPECTRAL_FFT)
    totals = dict.fromkeys(("centroid_hz", "bandwidth_hz", "rolloff_hz", "zero_crossing_rate"), 0.0)
    for first in range(0, frames, SPECTRAL_CHUNK_FRAMES):
        chunk = slice(first, min(frames, first + SPECTRAL_CHUNK_FRAMES))
        magnitude = _magnitude(spectrum_frames[chunk], window)
        for name, values in _spectral_shape(magnitude, sample_rate).items():
            totals[name] += float(values.sum(dtype=np.float64))
        crossings = _zero_crossing_rate(crossing_frames[chunk])
        totals["zero_crossing_rate"] += float(crossings.sum(dtype=np.float64))
    return {name: round(float(np.nan_to_num(total / frames)), 4) for name, total in totals.items()}


def _framed(signal: np.ndarray) -> np.ndarray:
    """(frames, SPECTRAL_FFT): a view of ``signal``'s frames, ``SPECTRAL_HOP`` apart."""
    import numpy as np

    return np.lib.stride_tricks.sliding_window_view(signal, SPECTRAL_FFT)[::SPECTRAL_HOP]


def _magnitude(frames: np.ndarray, window: np.ndarray) -> np.ndarray:
    """|rfft| of each frame under ``window`` (periodic Hann), float32 (librosa's ``stft``
    of a float32 signal is complex64)."""
    import numpy as np

    return np.abs(np.fft.rfft(frames * window, axis=1).astype(np.complex64))


def _spectral_shape(magnitude: np.ndarray, sample_rate: int) -> dict[str, np.ndarray]:
    """Per frame: the centroid and the bandwidth (p = 2) of the magnitudes as a
    distribution over frequency, and the roll-off (the lowest frequency below which 85 %
    of the magnitude lies). A silent frame has 0 for each."""
    import numpy as np

    frequencies = np.fft.rfftfreq(SPECTRAL_FFT, 1.0 / sample_rate)
    weights = magnitude.astype(np.float64)
    sums = weights.sum(axis=1, keepdims=True)
    weights /= np.where(sums < np.finfo(np.float32).tiny, 1.0, sums)
    centroid = weights @ frequencies
    deviation = np.abs(frequencies[None, :] - centroid[:, None])
    bandwidth = np.sqrt(np.sum(weights * deviation**2, axis=1))
    cumulative = np.cumsum(magnitude, axis=1)
    reached = cumulative >= SPECTRAL_ROLL_PERCENT * cumulative[:, -1:]
    rolloff = frequencies[np.argmax(reached, axis=1)]
    return {"centroid_hz": centroid, "bandwidth_hz": bandwidth, "rolloff_hz": rolloff}


def _zero_crossing_rate(frames: np.ndarray) -> np.ndarray:
    """Per frame: sign changes over the frame's length, values within 1e-10 of zero counted
    as positive."""
    import numpy as np

    negative = np.signbit(np.where(np.abs(frames) <= ZERO_CROSSING_THRESHOLD, 0.0, frames))
    changes = np.count_nonzero(negative[:, 1:] != negative[:, :-1], axis=1)
    return np.asarray(changes / SPECTRAL_FFT)


class AudioAnalyzer:
    """The audio modality (see the module docstring for its steps)."""

    modality = Modality.AUDIO
    header_bytes = 0  # the cost follows from the size and the limits

    def __init__(
        self,
        spec: ModelSpec,
        *,
        threads: int,
        max_bytes: int,
        max_seconds: float,
        transcriber: SpeechTranscriber | None = None,
    ) -> None:
        self.spec = spec
        self.transcriber = transcriber
        self.model: ModelRef = spec.ref
        self.threads = threads
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds
        self.params = spec.preprocessing

    def cost(self, size: int, head: bytes) -> Cost:
        return audio_cost(size, self.max_seconds)

    def decode(self, data: bytes) -> DecodedAudio:
        return decode_audio(
            data,
            max_bytes=self.max_bytes,
            max_seconds=self.max_seconds,
            sample_rate=int(self.params["sample_rate"]),
        )

    def preprocess(self, decoded: DecodedAudio) -> np.ndarray:
        return frame_audio(
            decoded.samples, int(self.params["frame_samples"]), int(self.params["context_samples"])
        )

    def execute(self, batch: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Per-frame speech probabilities for each item, one file at a time.

        The model is stateful: each frame's LSTM state comes from the previous frame of
        the same file, so frames of different files cannot share a run (their rows would
        inherit each other's state).
        """
        session = get_session(self.spec.onnx_path(), self.threads)
        return [run_sequence_model(session, frames) for frames in batch]

    def postprocess(self, decoded: DecodedAudio, prepared: np.ndarray, raw: np.ndarray) -> JsonDict:
        rate = int(self.params["sample_rate"])
        spans = speech_segments(raw, self.params, decoded.samples.size)
        speech_seconds = sum(end - start for start, end in spans) / rate
        model_seconds = decoded.samples.size / rate
        result: JsonDict = {
            "duration": round(decoded.duration, 3),
            "sample_rate": decoded.sample_rate,
            "channels": decoded.channels,
            "format": decoded.format,
            "speech_segments": [
                {"start": round(start / rate, 3), "end": round(end / rate, 3)}
                for start, end in spans
            ],
            "speech_ratio": round(speech_seconds / model_seconds, 4),
            "loudness": {
                "rms_dbfs": round(decoded.rms_dbfs, 2),
                "peak_dbfs": round(decoded.peak_dbfs, 2),
            },
            "spectral": spectral_descriptors(decoded.samples, rate),
        }
        if self.transcriber is not None:
            result["transcript"] = self.transcriber.transcribe(decoded.samples, spans)
        return result
