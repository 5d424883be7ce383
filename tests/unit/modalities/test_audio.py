"""The audio modality: framing, the segment state machine, bad input, and the real model."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
from typing import Any

import numpy as np
import pytest
import soundfile
from hypothesis import given, settings
from hypothesis import strategies as st

from prism.errors import ErrorCode, PermanentError
from prism.modalities.audio import AudioAnalyzer, decode_audio, frame_audio, speech_segments
from prism.modalities.base import run_batch
from prism.onnx.registry import ModelSpec
from prism.onnx.sessions import get_session
from tests.fixtures.corpus import audio_bytes, image_bytes

PARAMS: dict[str, Any] = {
    "sample_rate": 16000,
    "frame_samples": 512,
    "context_samples": 64,
    "threshold": 0.5,
    "min_speech_ms": 250,
    "min_silence_ms": 100,
    "speech_pad_ms": 30,
}
LIMITS = {"max_bytes": 10_000_000, "max_seconds": 60.0, "sample_rate": 16000}


def decode(data: bytes, **overrides: Any) -> Any:
    return decode_audio(data, **{**LIMITS, **overrides})


def decode_error(data: bytes, **overrides: Any) -> ErrorCode:
    with pytest.raises(PermanentError) as caught:
        decode(data, **overrides)
    return caught.value.code


# ---- framing --------------------------------------------------------------------------


def reference_frames(audio: np.ndarray, frame: int, context: int) -> np.ndarray:
    """A frame at a time, the way the streaming model sees audio."""
    rows, previous = [], np.zeros(context, dtype=np.float32)
    for start in range(0, audio.size, frame):
        chunk = np.zeros(frame, dtype=np.float32)
        piece = audio[start : start + frame]
        chunk[: piece.size] = piece
        rows.append(np.concatenate([previous, chunk]))
        previous = chunk[-context:]
    return np.array(rows, dtype=np.float32).reshape(-1, frame + context)


@pytest.mark.parametrize("length", [0, 1, 511, 512, 513, 1024, 5000, 16000])
def test_framing_matches_a_frame_by_frame_reference(length: int) -> None:
    audio = np.random.default_rng(length).standard_normal(length).astype(np.float32)
    framed = frame_audio(audio, 512, 64)
    assert framed.shape == (-(-length // 512), 576)
    assert framed.dtype == np.float32
    np.testing.assert_array_equal(framed, reference_frames(audio, 512, 64))


def test_each_frame_starts_with_the_previous_frames_last_samples() -> None:
    audio = np.arange(1, 1025, dtype=np.float32)
    framed = frame_audio(audio, 512, 64)
    np.testing.assert_array_equal(framed[0, :64], np.zeros(64))
    np.testing.assert_array_equal(framed[1, :64], audio[448:512])
    np.testing.assert_array_equal(framed[1, 64:], audio[512:])


# ---- segments -------------------------------------------------------------------------


def reference_segments(probs: list[float], audio_samples: int) -> list[tuple[int, int]]:
    """silero_vad.utils_vad.get_speech_timestamps_from_probs with its defaults (no
    maximum speech length), transcribed loop for loop."""
    window, rate = 512, 16000
    min_speech, pad, min_silence = rate * 250 / 1000, rate * 30 / 1000, rate * 100 / 1000
    threshold, negative = 0.5, 0.35
    triggered, temp_end, speeches, current = False, 0, [], {}
    for i, prob in enumerate(probs):
        cur = window * i
        if prob >= threshold and temp_end:
            temp_end = 0
        if prob >= threshold and not triggered:
            triggered, current = True, {"start": cur}
            continue
        if prob < negative and triggered:
            if not temp_end:
                temp_end = cur
            if cur - temp_end < min_silence:
                continue
            current["end"] = temp_end
            if current["end"] - current["start"] > min_speech:
                speeches.append(current)
            current, temp_end, triggered = {}, 0, False
    if current and audio_samples - current["start"] > min_speech:
        current["end"] = audio_samples
        speeches.append(current)
    for i, speech in enumerate(speeches):
        if i == 0:
            speech["start"] = int(max(0, speech["start"] - pad))
        if i != len(speeches) - 1:
            silence = speeches[i + 1]["start"] - speech["end"]
            if silence < 2 * pad:
                speech["end"] += int(silence // 2)
                speeches[i + 1]["start"] = int(max(0, speeches[i + 1]["start"] - silence // 2))
            else:
                speech["end"] = int(min(audio_samples, speech["end"] + pad))
                speeches[i + 1]["start"] = int(max(0, speeches[i + 1]["start"] - pad))
        else:
            speech["end"] = int(min(audio_samples, speech["end"] + pad))
    return [(s["start"], s["end"]) for s in speeches]


def segments(probs: list[float], audio_samples: int | None = None) -> list[tuple[int, int]]:
    samples = len(probs) * 512 if audio_samples is None else audio_samples
    return speech_segments(np.array(probs, dtype=np.float32), PARAMS, samples)


def test_silence_has_no_segments() -> None:
    assert segments([0.1] * 50) == []


def test_one_burst_is_padded_by_30_ms_each_side() -> None:
    # Speech frames 10..19 (samples 5120..10240), quiet from frame 20 for ≥ 4 frames.
    probs = [0.0] * 10 + [0.9] * 10 + [0.0] * 10
    assert segments(probs) == [(5120 - 480, 10240 + 480)]


def test_a_burst_shorter_than_250_ms_is_dropped() -> None:
    probs = [0.0] * 10 + [0.9] * 7 + [0.0] * 10  # 7 × 512 = 3584 samples < 4000
    assert segments(probs) == []


def test_a_pause_shorter_than_100_ms_does_not_split_speech() -> None:
    # 3 quiet frames: the 4th frame after the first quiet one never comes before speech.
    probs = [0.9] * 10 + [0.0] * 3 + [0.9] * 10 + [0.0] * 10
    assert segments(probs) == [(0, 23 * 512 + 480)]


def test_a_pause_of_100_ms_splits_speech_and_shares_the_padding() -> None:
    # Quiet frames 10..14: the one at 14 is 4 frames (2048 samples ≥ 1600) after 10.
    probs = [0.9] * 10 + [0.0] * 5 + [0.9] * 10 + [0.0] * 10
    # Silence 5120..7680 is 2560 ≥ 960: each side gets 480.
    assert segments(probs) == [(0, 5120 + 480), (7680 - 480, 12800 + 480)]


def test_probabilities_between_the_thresholds_neither_start_nor_end_speech() -> None:
    probs = [0.4] * 5 + [0.9] * 10 + [0.4] * 20 + [0.0] * 3 + [0.9] * 2 + [0.0] * 10
    # 0.4 is below 0.5 (no start) and above 0.35 (no silence); the quiet dip at 35..37
    # is too short, speech resumes at 38, and the silence from frame 40 ends it.
    assert segments(probs) == [(5 * 512 - 480, 40 * 512 + 480)]


def test_speech_running_to_the_end_ends_at_the_audio_length() -> None:
    assert segments([0.0] * 5 + [0.9] * 20, audio_samples=25 * 512 - 100) == [
        (5 * 512 - 480, 25 * 512 - 100)
    ]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([0.0, 0.2, 0.36, 0.45, 0.5, 0.7, 1.0]), max_size=120))
def test_vectorised_segments_equal_silero_loop(probs: list[float]) -> None:
    samples = len(probs) * 512
    assert segments(probs, samples) == reference_segments(probs, samples)


# ---- decoding and bad input -----------------------------------------------------------


def wav(seconds: float = 0.5, **kwargs: Any) -> bytes:
    return audio_bytes("WAV", "PCM_16", seconds=seconds, **kwargs)


def test_stereo_44k_is_mixed_to_mono_and_resampled_to_16k() -> None:
    decoded = decode(audio_bytes("WAV", "PCM_16", seconds=1.0, sample_rate=44100, channels=2))
    assert (decoded.sample_rate, decoded.channels, decoded.frames) == (44100, 2, 44100)
    assert decoded.samples.ndim == 1
    assert abs(decoded.samples.size - 16000) <= 1
    assert decoded.samples.dtype == np.float32


def test_loudness_of_a_sine_at_amplitude_0_3() -> None:
    decoded = decode(wav(1.0))
    assert decoded.peak_dbfs == pytest.approx(20 * np.log10(0.3), abs=0.05)
    assert decoded.rms_dbfs == pytest.approx(20 * np.log10(0.3 / np.sqrt(2)), abs=0.05)


def test_empty_bytes_are_empty() -> None:
    assert decode_error(b"") is ErrorCode.EMPTY


def test_a_wav_with_zero_frames_is_empty() -> None:
    buffer = io.BytesIO()
    soundfile.write(buffer, np.zeros(0, dtype=np.float32), 16000, format="WAV")
    assert decode_error(buffer.getvalue()) is ErrorCode.EMPTY


def test_a_file_over_the_byte_cap_is_too_large() -> None:
    data = wav()
    assert decode_error(data, max_bytes=len(data) - 1) is ErrorCode.TOO_LARGE


def test_a_file_over_the_duration_cap_is_too_long() -> None:
    assert decode_error(wav(2.0), max_seconds=1.5) is ErrorCode.TOO_LONG


def test_a_truncated_wav_is_corrupt() -> None:
    data = wav(1.0)
    assert decode_error(data[: len(data) // 2]) is ErrorCode.CORRUPT


def test_a_wav_header_claiming_more_audio_than_present_is_corrupt() -> None:
    data = bytearray(wav(1.0))
    data[40:44] = struct.pack("<I", 3 * (len(data) - 44))  # the data chunk's size
    assert decode_error(bytes(data)) is ErrorCode.CORRUPT


def test_a_flac_header_claiming_more_frames_than_present_is_corrupt() -> None:
    data = bytearray(audio_bytes("FLAC", "PCM_16", seconds=1.0))
    # STREAMINFO's 36-bit total-sample count sits in bytes 21..25 of the file.
    packed = int.from_bytes(data[21:26], "big")
    data[21:26] = ((packed & ~0xFFFFFFFFF) | 48_000).to_bytes(5, "big")
    assert decode_error(bytes(data)) is ErrorCode.CORRUPT


def test_a_flac_header_claiming_hours_is_too_long_before_decoding() -> None:
    data = bytearray(audio_bytes("FLAC", "PCM_16", seconds=1.0))
    packed = int.from_bytes(data[21:26], "big")
    data[21:26] = ((packed & ~0xFFFFFFFFF) | 16_000 * 3600).to_bytes(5, "big")
    assert decode_error(bytes(data)) is ErrorCode.TOO_LONG


def test_a_streamed_wav_with_a_placeholder_length_is_read() -> None:
    data = bytearray(wav(0.5))
    data[40:44] = b"\xff\xff\xff\xff"
    assert decode(bytes(data)).frames == 8000


@pytest.mark.parametrize(
    "data", [image_bytes("PNG"), b"just some text, not audio at all", bytes(range(256)) * 4]
)
def test_other_content_is_an_unsupported_type(data: bytes) -> None:
    assert decode_error(data) is ErrorCode.UNSUPPORTED_TYPE


def test_an_absurd_sample_rate_is_refused_from_the_header() -> None:
    data = bytearray(wav())
    data[24:28] = struct.pack("<I", 1000)  # sample rate
    data[28:32] = struct.pack("<I", 2000)  # byte rate
    assert decode_error(bytes(data)) is ErrorCode.UNSUPPORTED_TYPE


SEEDS = {
    "wav": wav(0.3),
    "flac": audio_bytes("FLAC", "PCM_16", seconds=0.3),
    "ogg": audio_bytes("OGG", "VORBIS", seconds=0.3),
}


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(list(SEEDS.values()))))
    how = draw(st.sampled_from(["truncate", "flip", "overwrite"]))
    if how == "truncate":
        return bytes(data[: draw(st.integers(0, len(data)))])
    positions = draw(st.lists(st.integers(0, len(data) - 1), min_size=1, max_size=8))
    for position in positions:
        if how == "flip":
            data[position] ^= 1 << draw(st.integers(0, 7))
        else:
            data[position] = draw(st.integers(0, 255))
    return bytes(data)


@settings(max_examples=150, deadline=None)
@given(damaged())
def test_damaged_audio_decodes_or_is_refused_with_a_code(data: bytes) -> None:
    try:
        decoded = decode(data)
    except PermanentError as error:
        refused = error
    else:
        assert decoded.samples.dtype == np.float32
        assert np.isfinite(decoded.samples).all()
        return
    assert refused.code in set(ErrorCode)


# ---- the model --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def analyzer(audio_spec: ModelSpec) -> AudioAnalyzer:
    return AudioAnalyzer(audio_spec, threads=1, max_bytes=10_000_000, max_seconds=60.0)


@pytest.fixture(scope="module")
def spoken_wav() -> bytes:
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        pytest.skip("espeak-ng is not installed (run `make system-deps`)")
    sentence = "The quick brown fox jumps over the lazy dog, twice."
    speech = subprocess.run([espeak, "--stdout", sentence], capture_output=True, check=True).stdout
    samples, rate = soundfile.read(io.BytesIO(speech), dtype="float32")
    silence = np.zeros(rate, dtype=np.float32)  # 1 s before and after the speech
    buffer = io.BytesIO()
    soundfile.write(buffer, np.concatenate([silence, samples, silence]), rate, format="WAV")
    return buffer.getvalue()


def test_silence_has_no_speech(analyzer: AudioAnalyzer) -> None:
    (outcome,) = run_batch(analyzer, [audio_bytes("WAV", "PCM_16", seconds=2.0, frequency=0)])
    assert outcome.result is not None
    assert outcome.result["speech_segments"] == []
    assert outcome.result["speech_ratio"] == 0.0
    assert outcome.result["loudness"] == {"rms_dbfs": -120.0, "peak_dbfs": -120.0}


def test_spoken_words_give_a_segment_inside_the_spoken_part(
    analyzer: AudioAnalyzer, spoken_wav: bytes
) -> None:
    (outcome,) = run_batch(analyzer, [spoken_wav])
    assert outcome.result is not None
    result = outcome.result
    speech_end = result["duration"] - 1.0
    assert result["speech_segments"]
    assert all(s["end"] > 1.0 and s["start"] < speech_end for s in result["speech_segments"])
    assert 0.3 < result["speech_ratio"] < 1.0
    assert result["sample_rate"] == 22050
    assert result["format"] == "wav"
    assert 500 < result["spectral"]["centroid_hz"] < 8000


def test_a_batch_gives_one_outcome_per_file_in_order_with_independent_state(
    analyzer: AudioAnalyzer, spoken_wav: bytes
) -> None:
    silence = audio_bytes("WAV", "PCM_16", seconds=1.0, frequency=0)
    alone = run_batch(analyzer, [spoken_wav])[0].result
    outcomes = run_batch(analyzer, [silence, b"not audio", spoken_wav, silence])
    assert [o.ok for o in outcomes] == [True, False, True, True]
    assert outcomes[1].error is not None
    assert outcomes[1].error.code is ErrorCode.UNSUPPORTED_TYPE
    assert outcomes[2].result == alone
    assert outcomes[3].result == outcomes[0].result


def test_long_audio_runs_in_blocks_with_the_state_carried(analyzer: AudioAnalyzer) -> None:
    noise = np.random.default_rng(0).standard_normal(16000 * 20).astype(np.float32) * 0.05
    frames = frame_audio(noise, 512, 64)
    assert len(frames) > 512  # more than one block
    (blocked,) = analyzer.execute([frames])
    session = get_session(analyzer.spec.onnx_path(), 1)
    state = np.zeros((1, 1, 128), dtype=np.float32)
    whole, _, _ = session.run(None, {"input": frames, "h": state, "c": state})
    np.testing.assert_allclose(blocked, np.asarray(whole).reshape(-1), atol=1e-5)


class RecordingTranscriber:
    """Stands in for Whisper: records what it is asked to transcribe."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, list[tuple[int, int]]]] = []

    def transcribe(self, samples: np.ndarray, spans: Any) -> dict[str, Any]:
        self.calls.append((samples.size, list(spans)))
        return {"text": f"{len(spans)} spans", "segments": [], "model": "stand-in"}


def test_only_the_speech_the_vad_found_is_transcribed(
    audio_spec: ModelSpec, spoken_wav: bytes
) -> None:
    transcriber = RecordingTranscriber()
    analyzer = AudioAnalyzer(
        audio_spec,
        threads=1,
        max_bytes=10_000_000,
        max_seconds=60.0,
        transcriber=transcriber,  # type: ignore[arg-type]
    )
    silence = audio_bytes("WAV", "PCM_16", seconds=2.0, frequency=0)
    quiet, spoken = run_batch(analyzer, [silence, spoken_wav])
    assert quiet.result is not None and spoken.result is not None
    (_, no_spans), (_, spans) = transcriber.calls
    assert no_spans == []
    # The spans it got are the speech segments the result reports (in seconds, to 1 ms).
    assert [
        {"start": round(start / 16000, 3), "end": round(end / 16000, 3)} for start, end in spans
    ] == spoken.result["speech_segments"]
    assert transcriber.calls[1][1], "the spoken file has speech to transcribe"
    assert spoken.result["transcript"]["model"] == "stand-in"


def test_without_a_transcriber_audio_results_have_no_transcript(
    analyzer: AudioAnalyzer, spoken_wav: bytes
) -> None:
    (outcome,) = run_batch(analyzer, [spoken_wav])
    assert outcome.result is not None and "transcript" not in outcome.result
