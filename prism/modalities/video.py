"""Video (MP4/MOV, WebM/MKV): frames labelled by the image modality, the audio track
through the audio modality (voice activity, transcript), and a timeline of both.

decode: the container is opened with the one FFmpeg demuxer its magic bytes name
(PyAV: no probing of other formats), after the byte limit. Before any packet is read,
the declared duration and the picture size are checked against the limits. Then one
pass over the packets: only key frames are decoded (``skip_frame``: encoders place them
at scene changes and every few seconds, so the other frames are never decoded), and the
first at or after each sampling time (every ``frame_seconds``, stretched so that at most
``max_frames`` are kept) is kept as a picture; the audio track is decoded, mixed to mono
and resampled to the audio model's rate as it streams. A packet past the duration limit
stops the pass (a container that hides its length is caught there); data that ends well
before the declared duration is a truncated file.
execute: the image modality on the kept frames (labels and words on screen) and the
audio modality on the track, through their own handlers' steps
(:func:`prism.modalities.base.run_decoded`), so a frame's labels and the transcript mean
what an image's and an audio file's do.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from prism.budget import MB, Cost
from prism.errors import ErrorCode, PermanentError
from prism.modalities.base import JsonDict, ModalityHandler, check_size, run_decoded
from prism.modalities.decoded import IMAGE_OCR, DecodedAudio, DecodedImage, audio_cost, dbfs
from prism.modality import Modality
from prism.onnx.registry import ModelRef
from prism.routing import sniff_magic

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image as PILImage

# Routing label → the FFmpeg demuxer that alone may open it.
DEMUXERS = {"mp4": "mp4", "mkv": "matroska", "webm": "matroska"}
# Data that ends more than this short of the declared duration is a truncated file.
TRUNCATION_TOLERANCE_S = 1.0
FRAME_LABELS = 3  # per frame on the timeline
# Kept frames are scaled (by FFmpeg, as they are converted) to at most this many pixels
# on their longer side: no more than the image modality's OCR reads, and 60 frames of a
# 4K video then hold ~90 MB, not 1.5 GB.
FRAME_MAX_SIDE = int(IMAGE_OCR["det_max_side"])
VIDEO_LABELS = 5  # for the whole video
# Key frames decoded, at most: this many a second of the duration limit, at the frame-size
# limit (encoders place one every 1-10 s; an all-intra video at 24 fps still fits at
# 480p). A stream of key frames stamped 0 s would otherwise decode without end.
KEY_FRAMES_PER_SECOND = 2
# The decoder's pictures per pixel of the frame-size limit: up to 16 reference frames
# (H.264/HEVC's most), the one being decoded and the one shown, at 1.5 bytes a pixel
# (YUV 4:2:0) with FFmpeg's padding.
DECODER_BYTES_PER_PIXEL = 30
FRAME_WORKING_BYTES = 64 * MB  # one frame's way through the classifier and OCR
# Bumped when what a video result holds or how it is sampled changes (cache keys).
PROCESSING_VERSION = "1"


@dataclass(frozen=True)
class VideoLimits:
    max_bytes: int
    max_seconds: float
    max_frame_pixels: int
    frame_seconds: float
    max_frames: int


@dataclass
class DecodedVideo:
    container: str
    duration: float
    width: int
    height: int
    video_codec: str | None
    audio_codec: str | None
    frames: list[tuple[float, PILImage.Image]] = field(default_factory=list)
    audio: DecodedAudio | None = None


def video_cost(size: int, limits: VideoLimits, sound: Cost) -> Cost:
    """The peak memory of reading one video, from the limits the decoding enforces (the
    picture size is not known before the container is opened): the file, the decoder's
    pictures at the frame-size limit, the kept frames (square, the worst shape), the
    sound track's cost as an audio file's (``sound``), and one frame through the image
    modality."""
    decoder = limits.max_frame_pixels * DECODER_BYTES_PER_PIXEL
    kept = limits.max_frames * FRAME_MAX_SIDE * FRAME_MAX_SIDE * 4  # Pillow's RGB: 4 B/px
    return Cost(
        size + decoder + kept + sound.peak_bytes + FRAME_WORKING_BYTES,
        f"a {size:,}-byte video: up to {limits.max_frames} frames and "
        f"{limits.max_seconds:.0f} s of sound",
        "send a shorter video",
    )


def sampling_interval(duration: float | None, limits: VideoLimits) -> float:
    """Seconds between kept frames: ``frame_seconds``, or longer where that would keep
    more than ``max_frames`` over the duration (or the duration limit, when unknown)."""
    span = duration if duration is not None else limits.max_seconds
    return max(limits.frame_seconds, span / limits.max_frames)


def _seconds(value: int | None, time_base: Any) -> float | None:
    return None if value is None or time_base is None else float(value * time_base)


def _declared_duration(container: Any) -> float | None:
    if container.duration is not None and container.duration > 0:
        return float(container.duration) / 1_000_000  # AV_TIME_BASE
    durations = [
        seconds
        for stream in container.streams
        if (seconds := _seconds(stream.duration, stream.time_base)) is not None
    ]
    return max(durations) if durations else None


def _too_long(seconds: float, limit: float, verb: str) -> PermanentError:
    return PermanentError(
        ErrorCode.TOO_LONG, f"the video {verb} {seconds:.0f} s; the limit is {limit:.0f} s"
    )


class _AudioTrack:
    """The audio track, mixed to mono and resampled to ``rate`` as it is decoded, and
    refused once it holds more than ``max_seconds`` of samples: samples are counted as
    they are decoded, because packet timestamps can lie (a track whose every packet says
    0 s would otherwise decode an hour of sound)."""

    def __init__(self, stream: Any, rate: int, max_seconds: float) -> None:
        import av

        self.stream = stream
        self.rate = rate
        self.max_samples = int(max_seconds * rate)
        self.max_seconds = max_seconds
        self.samples = 0
        self.resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        self.chunks: list[np.ndarray] = []

    def add(self, frames: Sequence[Any]) -> None:
        for frame in frames:
            for mono in self.resampler.resample(frame):
                chunk = mono.to_ndarray()[0]
                self.samples += chunk.size
                if self.samples > self.max_samples:
                    raise PermanentError(
                        ErrorCode.TOO_LONG,
                        f"the video's sound runs past {self.max_seconds:.0f} s, the limit "
                        "(counted as decoded, whatever its timestamps say)",
                    )
                self.chunks.append(chunk)

    def finish(self) -> DecodedAudio:
        import numpy as np

        self.add([None])  # flushes the resampler
        samples = np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.float32)
        samples = samples.astype(np.float32, copy=False)
        context = self.stream.codec_context
        return DecodedAudio(
            samples=samples,
            sample_rate=self.rate,
            channels=int(context.channels or 1),
            format=str(context.name),
            frames=int(samples.size),
            rms_dbfs=dbfs(float(np.mean(samples**2)) if samples.size else 0.0, power=True),
            peak_dbfs=dbfs(float(np.max(np.abs(samples))) if samples.size else 0.0, power=False),
        )


def decode_video(data: bytes, limits: VideoLimits, sample_rate: int) -> DecodedVideo:
    """Open ``data`` as a video within ``limits``: the frames to label and the audio
    track at ``sample_rate``; or raise a coded PermanentError."""
    import av

    check_size(data, limits.max_bytes, "video")
    demuxer = DEMUXERS.get(sniff_magic(data) or "")
    if demuxer is None:
        raise PermanentError(
            ErrorCode.UNSUPPORTED_TYPE, "not an MP4/MOV or WebM/Matroska video container"
        )
    try:
        container = av.open(io.BytesIO(data), format=demuxer)
    except av.FFmpegError as exc:
        raise PermanentError(
            ErrorCode.CORRUPT, "the video container is malformed or truncated and cannot be read"
        ) from exc
    try:
        return _read(container, demuxer, limits, sample_rate)
    except av.FFmpegError as exc:
        raise PermanentError(
            ErrorCode.CORRUPT, f"the video data is corrupt and cannot be decoded: {exc}"
        ) from exc
    finally:
        container.close()


def _read(container: Any, demuxer: str, limits: VideoLimits, sample_rate: int) -> DecodedVideo:
    # The first track of each kind that FFmpeg has a decoder for.
    video = next((s for s in container.streams.video if s.codec_context is not None), None)
    audio = next((s for s in container.streams.audio if s.codec_context is not None), None)
    if video is None and audio is None:
        raise PermanentError(
            ErrorCode.CORRUPT, "the container holds no video or audio track that can be decoded"
        )
    declared = _declared_duration(container)
    if declared is not None and declared > limits.max_seconds:
        raise _too_long(declared, limits.max_seconds, "declares")
    width = height = 0
    if video is not None:
        width, height = int(video.codec_context.width), int(video.codec_context.height)
        if width <= 0 or height <= 0:
            raise PermanentError(ErrorCode.CORRUPT, "the video track has no picture size")
        _check_frame_size(width, height, limits)
        video.codec_context.skip_frame = "NONKEY"
        video.codec_context.thread_count = 1
    decoded = DecodedVideo(
        container="mp4" if demuxer == "mp4" else "matroska",
        duration=0.0,
        width=width,
        height=height,
        video_codec=video.codec_context.name if video is not None else None,
        audio_codec=audio.codec_context.name if audio is not None else None,
    )
    track = _AudioTrack(audio, sample_rate, limits.max_seconds) if audio is not None else None
    interval = sampling_interval(declared, limits)
    next_frame_at = 0.0
    end = 0.0
    # The decoding work, bounded whatever the timestamps say (they can all be 0).
    decoded_pixels = 0
    max_decoded_pixels = KEY_FRAMES_PER_SECOND * limits.max_seconds * limits.max_frame_pixels
    # Every packet goes to its decoder (the video decoder drops all but key frames
    # unseen, and a decoder may hold a frame back until later packets, or the flush
    # packet without a time that ends each stream, arrive).
    for packet in container.demux(*(s for s in (video, audio) if s is not None)):
        start = _seconds(packet.pts, packet.time_base)
        if start is not None:
            end = max(end, start + (_seconds(packet.duration, packet.time_base) or 0.0))
            if start > limits.max_seconds:
                raise _too_long(limits.max_seconds, limits.max_seconds, "runs past")
        if packet.stream is video:
            for frame in packet.decode():
                _check_frame_size(frame.width, frame.height, limits)  # it may change midway
                decoded_pixels += frame.width * frame.height
                if decoded_pixels > max_decoded_pixels:
                    raise PermanentError(
                        ErrorCode.TOO_LONG,
                        f"the video has more key frames than {KEY_FRAMES_PER_SECOND} a second "
                        f"of its {limits.max_seconds:.0f}-second limit at full size; Prism "
                        "decodes no more (re-encode it with a key frame every second or more)",
                    )
                shown = frame.time
                wanted = shown is not None and shown >= next_frame_at
                if wanted and len(decoded.frames) < limits.max_frames:
                    decoded.frames.append((round(shown, 3), _picture(frame)))
                    next_frame_at = shown + interval
        elif track is not None:
            track.add(packet.decode())
    if declared is not None and end < declared - TRUNCATION_TOLERANCE_S:
        raise PermanentError(
            ErrorCode.CORRUPT,
            f"the video is truncated: it declares {declared:.1f} s, its data ends at {end:.1f} s",
        )
    decoded.duration = round(declared if declared is not None else end, 3)
    if track is not None:
        decoded.audio = track.finish()
    if not decoded.frames and (decoded.audio is None or decoded.audio.samples.size == 0):
        raise PermanentError(ErrorCode.CORRUPT, "the video has no decodable frame or sound")
    return decoded


def _check_frame_size(width: int, height: int, limits: VideoLimits) -> None:
    if width * height > limits.max_frame_pixels:
        raise PermanentError(
            ErrorCode.DECOMPRESSION_BOMB,
            f"the video's frames are {width}×{height} pixels; "
            f"the limit is {limits.max_frame_pixels} pixels",
        )


def _picture(frame: Any) -> PILImage.Image:
    """A decoded frame as an RGB picture at most FRAME_MAX_SIDE on its longer side."""
    width, height = int(frame.width), int(frame.height)
    scale = min(1.0, FRAME_MAX_SIDE / max(width, height))
    size = {"width": max(1, round(width * scale)), "height": max(1, round(height * scale))}
    picture: PILImage.Image = frame.to_image(**size).convert("RGB")
    return picture


def timeline(
    frames: Sequence[JsonDict], speech: Sequence[JsonDict], duration: float
) -> list[JsonDict]:
    """Frames (each lasting until the next) and transcript segments, by start time."""
    entries: list[JsonDict] = []
    for index, frame in enumerate(frames):
        following = frames[index + 1]["time"] if index + 1 < len(frames) else duration
        entries.append(
            {
                "start": frame["time"],
                "end": round(max(frame["time"], following), 3),
                "labels": [item["label"] for item in frame["labels"]],
                **({"text": frame["text"]} if frame.get("text") else {}),
            }
        )
    entries += [
        {"start": s["start"], "end": s["end"], "speech": s["text"]} for s in speech if s.get("text")
    ]
    return sorted(entries, key=lambda entry: (entry["start"], "speech" in entry))


def video_labels(frames: Sequence[JsonDict]) -> list[JsonDict]:
    """The labels of the whole video: each label's highest probability over the frames
    and how many frames it was among the top labels of."""
    best: dict[str, JsonDict] = {}
    for frame in frames:
        for item in frame["labels"]:
            entry = best.setdefault(
                item["label"], {"label": item["label"], "probability": 0.0, "frames": 0}
            )
            entry["probability"] = max(entry["probability"], item["probability"])
            entry["frames"] += 1
    ranked = sorted(best.values(), key=lambda e: (-e["probability"], e["label"]))
    return ranked[:VIDEO_LABELS]


class VideoReader:
    """The video modality (see the module docstring)."""

    modality = Modality.VIDEO
    header_bytes = 0  # the cost follows from the size and the limits

    def __init__(
        self,
        *,
        limits: VideoLimits,
        image: Callable[[], ModalityHandler[Any, Any, Any]],
        audio: Callable[[], ModalityHandler[Any, Any, Any]],
        sample_rate: int,
        model: ModelRef,
    ) -> None:
        self.limits = limits
        self.image_handler = image
        self.audio_handler = audio
        self.sample_rate = sample_rate
        self.model = model

    def cost(self, size: int, head: bytes) -> Cost:
        # The sound track costs what an audio file of the video's length limit would.
        return video_cost(size, self.limits, audio_cost(0, self.limits.max_seconds))

    def decode(self, data: bytes) -> DecodedVideo:
        return decode_video(data, self.limits, self.sample_rate)

    def preprocess(self, decoded: DecodedVideo) -> DecodedVideo:
        return decoded

    def execute(self, batch: Sequence[DecodedVideo]) -> list[JsonDict]:
        """The image modality on every kept frame and the audio modality on every track."""
        images = [
            DecodedImage(picture, picture.width, picture.height, "video frame")
            for video in batch
            for _, picture in video.frames
        ]
        labelled = iter(run_decoded(self.image_handler(), images) if images else [])
        tracks = [video.audio for video in batch if video.audio is not None]
        heard = iter(run_decoded(self.audio_handler(), tracks) if tracks else [])
        raws = []
        for video in batch:
            frames = [_frame(time, next(labelled)) for time, _ in video.frames]
            video.frames = []  # the pixels are not needed any more
            raws.append(
                {"frames": frames, "audio": next(heard) if video.audio is not None else None}
            )
        return raws

    def postprocess(self, decoded: DecodedVideo, prepared: DecodedVideo, raw: JsonDict) -> JsonDict:
        frames: list[JsonDict] = raw["frames"]
        audio: JsonDict | None = raw["audio"]
        speech = (audio or {}).get("transcript", {}).get("segments", [])
        result: JsonDict = {
            "duration": decoded.duration,
            "container": decoded.container,
            "width": decoded.width,
            "height": decoded.height,
            "video_codec": decoded.video_codec,
            "audio_codec": decoded.audio_codec,
            "labels": video_labels(frames),
            "frames": frames,
            "timeline": timeline(frames, speech, decoded.duration),
        }
        if audio is not None:
            result["audio"] = audio
        return result


def _frame(time: float, image_result: JsonDict) -> JsonDict:
    frame: JsonDict = {
        "time": time,
        "labels": [
            {"label": item["label"], "probability": round(item["probability"], 4)}
            for item in image_result["labels"][:FRAME_LABELS]
        ],
    }
    if image_result.get("text"):
        frame["text"] = image_result["text"]
        frame["lines"] = image_result["lines"]
    return frame
