"""Archives, bombs and polyglots: refused with a code from their first bytes, or handled
as the one supported thing they start as — never unpacked, never costly."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

import pytest

from prism.errors import ErrorCode, PermanentError
from prism.modalities.image import decode_image
from prism.modalities.text import decode_text
from prism.modality import Modality
from prism.onnx.registry import ModelSpec
from prism.routing import MagikaClassifier, Route, route
from prism.settings import load_settings
from tests.fixtures.corpus import audio_bytes, image_bytes
from tests.fixtures.hostile import (
    MIB,
    appended_zip,
    gzip_bomb,
    pdf_with_embedded_jpeg,
    peak_growth,
    png_bomb,
    zip_bomb,
)

LIMITS = load_settings(environ={})
# Deciding on a few kilobytes of head and tail costs far less than the smallest bomb.
ROUTING_BOUND = 8 * MIB


@pytest.fixture(scope="module")
def magika(router_spec: ModelSpec) -> MagikaClassifier:
    return MagikaClassifier(router_spec)


def route_file(data: bytes, magika: MagikaClassifier, name: str) -> Route:
    return route(data[:4096], size=len(data), name=name, tail=data[-4096:],
                 magika=magika, settings=LIMITS)  # fmt: skip


@pytest.mark.parametrize(
    ("bomb", "name"),
    [
        (zip_bomb, "notes.txt"),
        (zip_bomb, "photo.jpg"),
        (gzip_bomb, "notes.txt"),
        (gzip_bomb, "talk.wav"),
    ],
)
def test_a_compression_bomb_is_refused_as_an_archive_without_being_unpacked(
    bomb: Callable[[int], bytes], name: str, magika: MagikaClassifier
) -> None:
    data = bomb(200)  # 200 MiB of zeros in a few hundred KiB
    assert len(data) < MIB
    outcome, grown = peak_growth(lambda: route_file(data, magika, name))
    assert isinstance(outcome, PermanentError), outcome
    assert outcome.code is ErrorCode.UNSUPPORTED_TYPE
    assert "archives are not supported" in outcome.message
    assert grown <= ROUTING_BOUND


@pytest.mark.parametrize("bomb", [zip_bomb, gzip_bomb])
def test_a_compression_bomb_posted_as_text_is_refused_without_being_unpacked(
    bomb: Callable[[int], bytes],
) -> None:
    data = bomb(50)
    outcome, grown = peak_growth(lambda: decode_text(data, LIMITS.max_text_bytes))
    assert isinstance(outcome, PermanentError)
    assert outcome.code in (ErrorCode.INVALID_ENCODING, ErrorCode.CORRUPT)
    assert grown <= ROUTING_BOUND


def test_a_png_whose_pixels_inflate_past_the_cap_is_a_bomb_refused_from_its_header() -> None:
    data = png_bomb(10_000, 10_000)  # 100 M pixels, 300 MB of RGB, about 300 KiB of PNG
    assert len(data) < MIB
    outcome, grown = peak_growth(
        lambda: decode_image(data, LIMITS.max_image_bytes, LIMITS.max_image_pixels)
    )
    assert isinstance(outcome, PermanentError)
    assert outcome.code is ErrorCode.DECOMPRESSION_BOMB
    assert grown <= ROUTING_BOUND


@pytest.mark.parametrize(("fmt", "label"), [("JPEG", "jpeg"), ("GIF", "gif"), ("PNG", "png")])
def test_an_image_that_is_also_a_java_archive_is_only_ever_read_as_its_image(
    fmt: str, label: str, magika: MagikaClassifier
) -> None:
    # A GIFAR (or JPEG/PNG + JAR): image readers see the picture, ZIP readers the archive.
    data = appended_zip(image_bytes(fmt))
    assert zipfile.is_zipfile(io.BytesIO(data))
    routed = route_file(data, magika, "archive.jar")
    assert routed == route_file(image_bytes(fmt), magika, f"photo.{label}")
    decoded = decode_image(data, LIMITS.max_image_bytes, LIMITS.max_image_pixels)
    assert (decoded.width, decoded.height, decoded.format) == (48, 32, fmt)


def test_audio_with_an_archive_appended_is_read_as_its_audio(magika: MagikaClassifier) -> None:
    data = appended_zip(audio_bytes("WAV", "PCM_16"))
    assert route_file(data, magika, "archive.zip").modality is Modality.AUDIO


@pytest.mark.parametrize("name", ["scan.pdf", "scan.jpg", None])
def test_a_pdf_with_an_embedded_image_is_routed_as_a_document(
    name: str | None, magika: MagikaClassifier
) -> None:
    data = pdf_with_embedded_jpeg()
    assert route_file(data, magika, name or "upload").modality is Modality.DOCUMENT


def test_a_pdf_with_an_embedded_image_forced_to_the_image_modality_is_not_an_image() -> None:
    # ?modality=image skips routing: the image decoder must not dig the JPEG out.
    with pytest.raises(PermanentError) as caught:
        decode_image(pdf_with_embedded_jpeg(), LIMITS.max_image_bytes, LIMITS.max_image_pixels)
    assert caught.value.code is ErrorCode.UNSUPPORTED_TYPE
