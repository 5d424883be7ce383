"""Video decoding (real FFmpeg through PyAV, no model): limits, key frames, the audio
track, hostile containers, and the timeline built from the two modalities' results."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest

from prism.errors import ErrorCode, PermanentError
from prism.modalities.video import (
    FRAME_MAX_SIDE,
    VideoLimits,
    decode_video,
    sampling_interval,
    timeline,
    video_labels,
)
from prism.search import searchable_text
from tests.fixtures import media
from tests.fixtures.hostile import hostile_videos, key_frames_stamped_zero, peak_growth

LIMITS = VideoLimits(
    max_bytes=200 * 1024 * 1024,
    max_seconds=600.0,
    max_frame_pixels=40_000_000,
    frame_seconds=2.0,
    max_frames=60,
)
RATE = 16_000
REJECTION_BOUND = 64 * 1024 * 1024  # FFmpeg's demuxer and decoder buffers, not the claim
LAUNCH = (media.SAMPLES / "launch.mp4").read_bytes()


def rejection(data: bytes, limits: VideoLimits = LIMITS) -> PermanentError:
    with pytest.raises(PermanentError) as caught:
        decode_video(data, limits, RATE)
    return caught.value


def test_the_sample_video_keeps_its_key_frames_and_its_sound_track_at_the_model_rate() -> None:
    decoded = decode_video(LAUNCH, LIMITS, RATE)
    assert (decoded.container, decoded.video_codec, decoded.audio_codec) == ("mp4", "h264", "aac")
    assert (decoded.width, decoded.height) == media.VIDEO_SIZE
    # The encoder put key frames at the start and at the cut from the cat to the rocket.
    assert [time for time, _ in decoded.frames] == [0.0, 4.0]
    assert all(picture.size == media.VIDEO_SIZE for _, picture in decoded.frames)
    assert decoded.audio is not None
    assert decoded.audio.samples.size / RATE == pytest.approx(decoded.duration, abs=0.1)
    assert -40 < decoded.audio.rms_dbfs < decoded.audio.peak_dbfs <= 0


def test_a_webm_with_vp9_and_opus_decodes_its_frames_and_resamples_its_sound() -> None:
    data = media.video(
        [("cat.jpg", 1.0), ("rocket.webp", 1.0)], media.spoken("Hi."), container="webm"
    )
    decoded = decode_video(data, LIMITS, RATE)
    assert (decoded.container, decoded.video_codec, decoded.audio_codec) == (
        "matroska", "vp9", "opus",
    )  # fmt: skip
    assert decoded.frames and decoded.audio is not None and decoded.audio.samples.size > RATE


def test_key_frames_closer_than_the_sampling_interval_are_skipped() -> None:
    decoded = decode_video(LAUNCH, replace(LIMITS, frame_seconds=5.0), RATE)
    assert [time for time, _ in decoded.frames] == [0.0]


def test_no_more_than_max_frames_are_kept() -> None:
    decoded = decode_video(LAUNCH, replace(LIMITS, max_frames=1, frame_seconds=0.1), RATE)
    assert len(decoded.frames) == 1


def test_the_interval_stretches_so_a_long_video_keeps_at_most_max_frames() -> None:
    assert sampling_interval(60.0, LIMITS) == 2.0
    assert sampling_interval(600.0, LIMITS) == 10.0
    assert sampling_interval(None, LIMITS) == 10.0  # unknown: as long as the limit allows


@pytest.mark.parametrize(
    ("limits", "code"),
    [
        (replace(LIMITS, max_bytes=1000), ErrorCode.TOO_LARGE),
        (replace(LIMITS, max_seconds=3.0), ErrorCode.TOO_LONG),
        (replace(LIMITS, max_frame_pixels=100_000), ErrorCode.DECOMPRESSION_BOMB),
    ],
)
def test_limits_are_checked_before_any_frame_is_decoded(limits: VideoLimits, code: str) -> None:
    error = rejection(LAUNCH, limits)
    assert error.code == code and error.message


def test_empty_bytes_and_other_containers_are_refused_with_their_code() -> None:
    assert rejection(b"").code == ErrorCode.EMPTY
    png = (media.SAMPLES / "coffee.png").read_bytes()
    assert rejection(png).code == ErrorCode.UNSUPPORTED_TYPE


@pytest.mark.parametrize("name", sorted(hostile_videos()))
def test_hostile_videos_are_rejected_with_their_code_in_bounded_memory(name: str) -> None:
    data, code = hostile_videos()[name]
    outcome, grown = peak_growth(lambda: decode_video(data, LIMITS, RATE))
    assert isinstance(outcome, PermanentError), outcome
    assert outcome.code == code and outcome.message
    assert grown <= REJECTION_BOUND, f"{name}: rejecting it grew the process by {grown} bytes"


def test_key_frames_are_decoded_only_up_to_a_bound_whatever_their_timestamps_say() -> None:
    # 50 key frames all stamped 0 s: no timestamp passes the 5 s limit, but at most two
    # frames a second of it, at the frame-size limit, are decoded.
    limits = VideoLimits(10**7, 5.0, 64 * 64, 1.0, 4)
    with pytest.raises(PermanentError) as caught:
        decode_video(key_frames_stamped_zero(50), limits, RATE)
    assert caught.value.code is ErrorCode.TOO_LONG and "key frames" in caught.value.message
    decoded = decode_video(key_frames_stamped_zero(10), limits, RATE)  # within the bound
    assert len(decoded.frames) == 1  # every frame says 0 s: one is kept


FRAMES = [
    {"time": 0.0, "labels": [{"label": "tabby", "probability": 0.5}]},
    {
        "time": 4.0,
        "labels": [
            {"label": "missile", "probability": 0.4},
            {"label": "tabby", "probability": 0.7},
        ],
        "text": "LAUNCH",
    },
]


def test_the_timeline_holds_each_frame_until_the_next_and_the_speech_in_start_order() -> None:
    speech = [
        {"start": 0.5, "end": 4.8, "text": "Welcome aboard."},
        {"start": 5, "end": 6, "text": ""},
    ]
    assert timeline(FRAMES, speech, 5.5) == [
        {"start": 0.0, "end": 4.0, "labels": ["tabby"]},
        {"start": 0.5, "end": 4.8, "speech": "Welcome aboard."},
        {"start": 4.0, "end": 5.5, "labels": ["missile", "tabby"], "text": "LAUNCH"},
    ]


def test_the_video_labels_are_each_labels_best_probability_and_frame_count() -> None:
    assert video_labels(FRAMES) == [
        {"label": "tabby", "probability": 0.7, "frames": 2},
        {"label": "missile", "probability": 0.4, "frames": 1},
    ]


def test_a_video_is_searched_by_what_is_said_then_shown_then_its_labels() -> None:
    result = {
        "frames": FRAMES,
        "labels": video_labels(FRAMES),
        "audio": {"transcript": {"text": " Welcome  aboard. "}},
    }
    assert searchable_text("video", result) == "Welcome aboard. LAUNCH. tabby, missile"
    assert searchable_text("video", {"frames": [], "labels": []}) is None


def test_a_large_frame_is_kept_scaled_to_what_the_image_modality_reads() -> None:
    import av
    import numpy as np

    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as output:
        stream = output.add_stream("libx264", rate=5)
        stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
        for shade in range(5):
            picture = np.full((720, 1280, 3), shade * 40, np.uint8)
            output.mux(stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
        output.mux(stream.encode())
    decoded = decode_video(out.getvalue(), LIMITS, RATE)
    assert (decoded.width, decoded.height) == (1280, 720)  # the video's own size
    assert [picture.size for _, picture in decoded.frames] == [(FRAME_MAX_SIDE, 540)]
    assert decoded.audio is None  # no sound track: frames only
