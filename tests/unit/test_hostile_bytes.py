"""Hostile bytes: mutated, random and header-lying files through routing and through
every modality's decoder.

Every decoder sees every input, not only what routing would send it: the HTTP API's
``?modality=`` skips routing, so a decoder's only defence is its own. Each call must end
in a decoded input or a coded :class:`PermanentError` — never another exception — and
must not grow the process's peak memory past a bound set by the caps.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prism.errors import ErrorCode, PermanentError
from prism.modalities.audio import decode_audio
from prism.modalities.decoded import DecodedAudio, DecodedImage
from prism.modalities.document import (
    DecodedDocument,
    DocumentLimits,
    decode_document,
    draw_page,
)
from prism.modalities.image import decode_image
from prism.modalities.text import DecodedText, decode_text
from prism.modalities.video import DecodedVideo, VideoLimits, decode_video
from prism.modality import Modality
from prism.onnx.registry import ModelSpec
from prism.routing import MagikaClassifier, Route, route
from prism.settings import load_settings
from tests.fixtures.corpus import audio_bytes, build_corpus
from tests.fixtures.hostile import HEADER_LIARS, MIB, peak_growth

CORPUS = build_corpus()
# Tight caps: what a hostile file may make a decoder hold is bounded by them
# (1 M pixels as RGBA is 4 MiB; 60 s of 16 kHz float32 is 3.7 MiB).
LIMITS = load_settings(environ={}, max_image_pixels=1_000_000, max_audio_seconds=60.0)
DEFAULTS = load_settings(environ={})
MODEL_RATE = 16_000
MEMORY_BOUND = 48 * MIB
# A rejection made from the header alone allocates next to nothing.
HEADER_REJECTION_BOUND = 8 * MIB
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

Decoded = DecodedImage | DecodedAudio | DecodedText | DecodedDocument | DecodedVideo
# Pages drawn for OCR are bounded like images: 1 M pixels each, at most two of them.
DOCUMENT_LIMITS = DocumentLimits(LIMITS.max_document_bytes, 50, 2, 1_000_000)
# Frames are images under the same pixel cap; at most four of them, and 60 s of sound.
VIDEO_LIMITS = VideoLimits(LIMITS.max_video_bytes, 60.0, LIMITS.max_image_pixels, 1.0, 4)
DECODERS: dict[Modality, Callable[[bytes], Decoded]] = {
    Modality.IMAGE: lambda data: decode_image(
        data, LIMITS.max_image_bytes, LIMITS.max_image_pixels
    ),
    Modality.AUDIO: lambda data: decode_audio(
        data,
        max_bytes=LIMITS.max_audio_bytes,
        max_seconds=LIMITS.max_audio_seconds,
        sample_rate=MODEL_RATE,
    ),
    Modality.TEXT: lambda data: decode_text(data, LIMITS.max_text_bytes),
    Modality.DOCUMENT: lambda data: decode_document(data, DOCUMENT_LIMITS),
    Modality.VIDEO: lambda data: decode_video(data, VIDEO_LIMITS, MODEL_RATE),
}


@pytest.fixture(scope="module", autouse=True)
def warm_decoders() -> None:
    """Load each decoder's libraries once, so their first-use cost is not metered."""
    for sample in CORPUS:
        if sample.modality is not None:
            DECODERS[Modality(sample.modality)](sample.data)


@pytest.fixture(scope="module")
def magika(router_spec: ModelSpec) -> MagikaClassifier:
    return MagikaClassifier(router_spec)


def assert_sound(outcome: Any) -> None:
    """A decoded input that keeps the caps' promises, or a coded, explained rejection."""
    if isinstance(outcome, PermanentError):
        assert outcome.code in set(ErrorCode) and outcome.message
    elif isinstance(outcome, DecodedImage):
        assert outcome.image.mode == "RGB"
        assert 0 < outcome.width * outcome.height <= LIMITS.max_image_pixels
    elif isinstance(outcome, DecodedDocument):
        assert 0 < len(outcome.pages) <= DOCUMENT_LIMITS.max_pages
        drawn = [page for page in outcome.pages if page.ocr]
        assert len(drawn) <= DOCUMENT_LIMITS.max_ocr_pages
        for page in drawn:  # drawn later, one at a time, within the page pixel limit
            image = draw_page(outcome.data, page)
            assert image.width * image.height <= DOCUMENT_LIMITS.max_page_pixels * 1.01
    elif isinstance(outcome, DecodedVideo):
        assert len(outcome.frames) <= VIDEO_LIMITS.max_frames
        assert all(p.width * p.height <= LIMITS.max_image_pixels for _, p in outcome.frames)
        assert outcome.duration <= VIDEO_LIMITS.max_seconds
        assert outcome.audio is None or outcome.audio.duration <= VIDEO_LIMITS.max_seconds + 1
    elif isinstance(outcome, DecodedAudio):
        assert outcome.samples.dtype == np.float32 and np.isfinite(outcome.samples).all()
        assert outcome.duration <= LIMITS.max_audio_seconds
    else:
        assert isinstance(outcome, DecodedText) and outcome.text.strip()


def decode_everywhere(data: bytes) -> None:
    for modality, decode in DECODERS.items():
        outcome, grown = peak_growth(functools.partial(decode, data))
        assert_sound(outcome)
        assert grown <= MEMORY_BOUND, f"{modality} decode of {len(data)} bytes grew {grown} B"


# Values a size or count field may be overwritten with: none, all, huge, just over 64 KiB.
LYING_FIELDS = [b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\xff\xff\xff\x7f", b"\x00\x00\x01\x00"]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A corpus file, truncated, bit-flipped, overwritten, spliced or with a lying header."""
    data = bytearray(draw(st.sampled_from(CORPUS)).data)
    how = draw(st.sampled_from(["truncate", "flip", "overwrite", "splice", "header"]))
    if how == "truncate":
        return bytes(data[: draw(st.integers(1, len(data)))])
    if how == "splice":
        at = draw(st.integers(0, len(data)))
        return bytes(data[:at] + draw(st.binary(min_size=1, max_size=64)) + data[at:])
    if how == "header":  # size and count fields live in the first bytes of every format
        at = draw(st.integers(0, min(60, len(data) - 4)))
        data[at : at + 4] = draw(st.sampled_from(LYING_FIELDS))
        return bytes(data)
    for position in draw(st.lists(st.integers(0, len(data) - 1), min_size=1, max_size=8)):
        if how == "flip":
            data[position] ^= 1 << draw(st.integers(0, 7))
        else:
            data[position] = draw(st.integers(0, 255))
    return bytes(data)


def route_outcome(data: bytes, magika: MagikaClassifier, name: str | None) -> Any:
    try:
        return route(data[:4096], size=len(data), name=name, tail=data[-4096:],
                     magika=magika, settings=LIMITS)  # fmt: skip
    except PermanentError as error:
        return error


@settings(FUZZ, max_examples=200)
@given(data=mutated(), name=st.sampled_from([None, "photo.jpg", "talk.wav", "notes.txt"]))
def test_mutated_files_route_to_a_modality_or_a_coded_refusal(
    data: bytes, name: str | None, magika: MagikaClassifier
) -> None:
    outcome = route_outcome(data, magika, name)
    assert isinstance(outcome, Route) or outcome.code in set(ErrorCode)


@settings(FUZZ, max_examples=200)
@given(data=mutated())
def test_mutated_files_decode_or_are_refused_with_a_code_by_every_modality_in_bounded_memory(
    data: bytes,
) -> None:
    decode_everywhere(data)


@settings(FUZZ, max_examples=100)
@given(data=st.binary(min_size=0, max_size=4096))
def test_random_bytes_decode_or_are_refused_with_a_code_by_every_modality_in_bounded_memory(
    data: bytes,
) -> None:
    decode_everywhere(data)


@pytest.mark.parametrize("fmt", sorted(HEADER_LIARS))
def test_an_image_declaring_billions_of_pixels_is_a_bomb_refused_from_its_header(fmt: str) -> None:
    # 16383 is the largest WebP can declare: 268 M pixels, still far over the default cap.
    side = 16_383 if fmt == "webp" else 65_535
    data = HEADER_LIARS[fmt](side, side)
    outcome, grown = peak_growth(
        lambda: decode_image(data, DEFAULTS.max_image_bytes, DEFAULTS.max_image_pixels)
    )
    assert isinstance(outcome, PermanentError), outcome
    assert outcome.code is ErrorCode.DECOMPRESSION_BOMB
    assert grown <= HEADER_REJECTION_BOUND, f"{len(data)} bytes of {fmt} grew {grown} B"


@settings(FUZZ, max_examples=120)
@given(
    fmt=st.sampled_from(sorted(HEADER_LIARS)),
    width=st.integers(1, 65_535),
    height=st.integers(1, 65_535),
)
def test_an_image_whose_header_lies_about_its_size_costs_no_more_than_the_pixel_cap(
    fmt: str, width: int, height: int
) -> None:
    data = HEADER_LIARS[fmt](width, height)
    outcome, grown = peak_growth(lambda: DECODERS[Modality.IMAGE](data))
    assert_sound(outcome)
    assert grown <= MEMORY_BOUND, f"{width}×{height} {fmt} grew {grown} B"


def wav_declaring(
    channels: int, rate: int, bits: int, block_align: int, data_size: int, *, payload: bytes
) -> bytes:
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * block_align & 0xFFFFFFFF,
                      block_align, bits)  # fmt: skip
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", data_size) + payload
    return b"RIFF" + struct.pack("<I", len(body)) + body


@settings(FUZZ, max_examples=150)
@given(
    channels=st.sampled_from([0, 1, 2, 7, 32, 33, 255, 65_535]),
    rate=st.sampled_from([0, 1, 3_999, 8_000, 44_100, 384_000, 384_001, 2**31, 2**32 - 1]),
    bits=st.sampled_from([0, 1, 8, 16, 24, 32, 64, 65_535]),
    block_align=st.integers(0, 65_535),
    data_size=st.sampled_from([0, 1, 4_000, 2**31, 2**32 - 1]),
)
def test_a_wav_whose_header_lies_decodes_or_is_refused_with_a_code_in_bounded_memory(
    channels: int, rate: int, bits: int, block_align: int, data_size: int
) -> None:
    payload = audio_bytes("WAV", "PCM_16", seconds=0.25)[44:]
    data = wav_declaring(channels, rate, bits, block_align, data_size, payload=payload)
    outcome, grown = peak_growth(lambda: DECODERS[Modality.AUDIO](data))
    assert_sound(outcome)
    assert grown <= MEMORY_BOUND


# Byte sequences strict UTF-8 forbids, and characters binary files are made of.
BAD_UTF8 = [b"\xc0\x80", b"\xed\xa0\x80", b"\x80", b"\xf8\x88\x80\x80\x80", b"\xff", b"\xf4\x90"]
ODD_TEXT = ["\x00", "\x1b[31m", "\ufeff", "\u202e", "\x07", "\ud7ff", "\U0010ffff"]


@settings(FUZZ, max_examples=150)
@given(
    text=st.text(max_size=300),
    inserts=st.lists(st.sampled_from(BAD_UTF8 + [s.encode() for s in ODD_TEXT]), max_size=4),
    at=st.integers(0, 300),
    cut=st.integers(0, 3),
)
def test_mutated_utf8_routes_and_decodes_as_text_or_is_refused_with_a_code(
    text: str, inserts: list[bytes], at: int, cut: int, magika: MagikaClassifier
) -> None:
    raw = text.encode("utf-8")
    data = raw[:at] + b"".join(inserts) + raw[at:]
    data = data[: len(data) - cut] if cut < len(data) else data
    if data:
        routed = route_outcome(data, magika, "notes.txt")
        assert isinstance(routed, Route) or routed.code in set(ErrorCode)
    outcome, _ = peak_growth(lambda: decode_text(data, LIMITS.max_text_bytes))
    assert_sound(outcome)


@pytest.mark.parametrize("opening", ["[", '{"a":', '[{"b":'])
def test_deeply_nested_json_is_routed_as_text_not_a_recursion_error(opening: str) -> None:
    data = (opening * 2_000).encode()
    routed = route(data, size=len(data), settings=LIMITS)
    assert routed.modality is Modality.TEXT
