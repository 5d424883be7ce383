"""Image decoding limits and preprocessing, without a model."""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from prism.errors import ErrorCode, PermanentError
from prism.inference.engine import Engine
from prism.modalities.decoded import IMAGE_OCR
from prism.modalities.image import decode_image, preprocess_image, softmax
from prism.modalities.ocr import TextReader
from prism.modality import Modality
from prism.settings import Settings
from tests.fixtures import media

PARAMS = {"resize_short_side": 256, "crop_size": 224, "mean": 127.0, "scale": 128.0}
MIB = 1024 * 1024


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR declares ``width``×``height`` with one tiny compressed row."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def decode_error(data: bytes, max_bytes: int = 20 * MIB, max_pixels: int = 40_000_000) -> str:
    with pytest.raises(PermanentError) as caught:
        decode_image(data, max_bytes, max_pixels)
    return caught.value.code.value


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF"])
def test_every_allowed_format_decodes_to_rgb_with_its_size(fmt: str) -> None:
    data = encode(Image.new("RGB", (64, 48), (200, 10, 10)), fmt)
    decoded = decode_image(data, 20 * MIB, 40_000_000)
    assert (decoded.width, decoded.height, decoded.format) == (64, 48, fmt)
    assert decoded.image.mode == "RGB"


def test_empty_bytes_are_rejected_as_empty() -> None:
    assert decode_error(b"") == ErrorCode.EMPTY


def test_image_over_the_byte_cap_is_rejected_before_decoding() -> None:
    data = encode(Image.new("RGB", (32, 32)), "PNG")
    assert decode_error(data, max_bytes=len(data) - 1) == ErrorCode.TOO_LARGE


def test_header_declaring_too_many_pixels_is_a_decompression_bomb() -> None:
    assert decode_error(png_header_only(50_000, 50_000)) == ErrorCode.DECOMPRESSION_BOMB


def test_pixel_cap_is_the_configured_one_not_pillows() -> None:
    data = encode(Image.new("RGB", (100, 100)), "PNG")
    assert decode_error(data, max_pixels=9_999) == ErrorCode.DECOMPRESSION_BOMB


def test_truncated_jpeg_is_corrupt() -> None:
    rng = np.random.default_rng(0)
    noisy = Image.fromarray(rng.integers(0, 255, (128, 128, 3), dtype=np.uint8))
    data = encode(noisy, "JPEG")
    assert decode_error(data[: len(data) // 2]) == ErrorCode.CORRUPT


def test_format_outside_the_allow_list_is_unsupported() -> None:
    data = encode(Image.new("RGB", (16, 16)), "PCX")
    assert decode_error(data) == ErrorCode.UNSUPPORTED_TYPE


def test_animated_gif_is_classified_on_its_first_frame() -> None:
    frames = [Image.new("RGB", (32, 32), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    decoded = decode_image(buffer.getvalue(), MIB, 10_000)
    red, _, blue = decoded.image.getpixel((0, 0))  # type: ignore[misc]
    assert red > 200 and blue < 50


def test_preprocessing_gives_chw_float32_of_the_crop_size() -> None:
    tensor = preprocess_image(Image.new("RGB", (640, 480)), PARAMS)
    assert tensor.shape == (3, 224, 224)
    assert tensor.dtype == np.float32
    assert tensor.flags["C_CONTIGUOUS"]


def test_normalisation_maps_127_to_zero_and_the_range_to_about_one() -> None:
    grey = preprocess_image(Image.new("RGB", (300, 300), (127, 127, 127)), PARAMS)
    np.testing.assert_allclose(grey, 0.0, atol=1e-6)
    white = preprocess_image(Image.new("RGB", (300, 300), (255, 255, 255)), PARAMS)
    np.testing.assert_allclose(white, 1.0, atol=1e-6)
    black = preprocess_image(Image.new("RGB", (300, 300), (0, 0, 0)), PARAMS)
    np.testing.assert_allclose(black, -127 / 128, atol=1e-6)


def test_centre_crop_keeps_the_middle_of_a_wide_image() -> None:
    image = Image.new("RGB", (1024, 256), (0, 0, 0))
    image.paste((255, 255, 255), (0, 0, 300, 256))  # white only at the far left
    tensor = preprocess_image(image, PARAMS)
    np.testing.assert_allclose(tensor, -127 / 128, atol=1e-6)


def test_channels_stay_in_rgb_order() -> None:
    tensor = preprocess_image(Image.new("RGB", (256, 256), (255, 0, 0)), PARAMS)
    assert tensor[0].mean() > 0.9 and tensor[1].mean() < -0.9 and tensor[2].mean() < -0.9


def test_softmax_rows_sum_to_one_and_keep_the_order() -> None:
    probabilities = softmax(np.array([[1.0, 3.0, 2.0], [1000.0, 0.0, -1000.0]]))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    assert list(probabilities[0].argsort()) == [0, 2, 1]


def test_the_committed_sign_photo_is_what_the_writer_writes() -> None:
    assert (media.SAMPLES / "sign.jpg").read_bytes() == media.sign_photo()


def test_reading_words_in_images_is_part_of_the_image_configuration(tmp_path: Path) -> None:
    settings = Settings(model_dir=tmp_path)
    on = Engine(settings).config_digest(Modality.IMAGE)
    off = Engine(replace(settings, image_text="off")).config_digest(Modality.IMAGE)
    assert on != off


def test_image_text_off_gives_a_classifier_without_a_reader(tmp_path: Path) -> None:
    off = Engine(Settings(model_dir=tmp_path, image_text="off")).handler(Modality.IMAGE)
    assert getattr(off, "reader", "missing") is None
    on = Engine(Settings(model_dir=tmp_path)).handler(Modality.IMAGE)
    reader = getattr(on, "reader", None)
    assert isinstance(reader, TextReader)
    assert reader.params.det_max_side == IMAGE_OCR["det_max_side"]
