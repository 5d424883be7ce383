"""Image classification: EfficientNet-Lite0 (ImageNet-1k), int8; and the words in the
image, read by the OCR model (PP-OCRv4, int8), when there are any.

decode: Pillow with a decoder allow-list; the pixel count is checked from the header
before any pixel is decoded (decompression bombs cost nothing).
preprocess: short side to 256, centre crop 224, (x − 127) / 128, CHW float32.
execute: the classifier over the batch; then, when a text reader is configured, OCR of
each image (:data:`prism.modalities.decoded.IMAGE_OCR`: a photo's text is sparser and
smaller than a page's).
postprocess: softmax top-5 with ImageNet labels, plus width, height and format, and the
words found (``text``, and ``lines`` with their boxes in image pixels).
"""

from __future__ import annotations

import io
import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prism.budget import MB, Cost
from prism.errors import ErrorCode, PermanentError
from prism.modalities.base import JsonDict, check_size
from prism.modalities.decoded import DecodedImage
from prism.modalities.ocr import TextLine, TextReader, page_text
from prism.modality import Modality
from prism.onnx.registry import ModelRef, ModelSpec
from prism.onnx.sessions import get_session

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image as PILImage

# Formats Pillow may decode here; every other plugin stays unused (less attack surface).
ALLOWED_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")
TOP_K = 5
# How preprocessing resamples, in the model's configuration digest so that no cache
# serves probabilities made the other way ("crop-box": only the crop's region is
# resampled; the whole image was before, and top-1 probabilities moved by 1-2 points).
RESAMPLING = "crop-box"
# Beside the pixels and OCR's own (TextReader.working_bytes): the classifier's input and
# activations and the decoder's buffers (measured: tests/integration/test_costs.py).
IMAGE_WORKING_BYTES = 32 * MB
# An image's header is in its first bytes (a JPEG's EXIF block is at most 64 KiB): the
# cost is estimated from them before the image is downloaded.
IMAGE_HEADER_BYTES = 96 * 1024


@dataclass(frozen=True)
class PreparedImage:
    pixels: np.ndarray  # the classifier's input
    image: PILImage.Image  # what OCR reads


@dataclass(frozen=True)
class RawImage:
    probabilities: np.ndarray
    lines: list[TextLine]


def decode_image(data: bytes, max_bytes: int, max_pixels: int) -> DecodedImage:
    """Open and fully decode ``data`` as an RGB image, or raise a coded PermanentError."""
    from PIL import Image, UnidentifiedImageError

    check_size(data, max_bytes, "image file")
    with warnings.catch_warnings():
        # Pillow only *warns* between MAX_IMAGE_PIXELS and twice that; we decide ourselves.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
        except UnidentifiedImageError as exc:
            raise PermanentError(
                ErrorCode.UNSUPPORTED_TYPE,
                f"not a decodable image; supported formats: {', '.join(ALLOWED_FORMATS)}",
            ) from exc
        except Image.DecompressionBombError as exc:
            raise _bomb(max_pixels) from exc
        except (OSError, ValueError, SyntaxError) as exc:
            raise PermanentError(ErrorCode.CORRUPT, f"the image header is corrupt: {exc}") from exc
        width, height = image.size
        if width <= 0 or height <= 0:
            raise PermanentError(ErrorCode.CORRUPT, "the image has no pixels")
        if width * height > max_pixels:
            raise _bomb(max_pixels, width, height)
        image_format = str(image.format)
        try:
            image.seek(0)  # the first frame of an animation is what we classify
            image.load()
            # An RGB image is used as decoded: a converted copy would double its pixels.
            rgb = image if image.mode == "RGB" else image.convert("RGB")
        except Image.DecompressionBombError as exc:
            raise _bomb(max_pixels) from exc
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise PermanentError(
                ErrorCode.CORRUPT, f"the image data is truncated or corrupt: {exc}"
            ) from exc
    return DecodedImage(rgb, width, height, image_format)


def header_of(head: bytes) -> tuple[int, int, str] | None:
    """Width, height and Pillow mode from the first bytes of an image, or None when they
    do not hold its header (a TIFF whose directory is at the end, a JPEG with a long
    EXIF block): nothing is decoded."""
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with Image.open(io.BytesIO(head), formats=ALLOWED_FORMATS) as image:
                width, height = image.size
                return width, height, image.mode
        except Exception:  # any failure to read a partial header: assume the worst
            return None


def stored_bytes_per_pixel(mode: str) -> int:
    """What Pillow holds per pixel of ``mode`` (it stores RGB as 4 bytes, RGBX)."""
    if mode in ("1", "L", "P"):
        return 1
    if mode.startswith("I;16"):
        return 2
    return 4


def image_cost(size: int, head: bytes, *, max_pixels: int, ocr_bytes: int) -> Cost:
    """The peak memory of decoding and classifying (and reading) one image, from its size
    and header: the file, its pixels as decoded, an RGB copy unless it decodes as RGB,
    the largest region OCR may crop from it (a line box can span the whole image) and
    ``ocr_bytes`` for reading it (0: OCR is off), and the classifier. An unreadable
    header costs what the pixel limit allows."""
    header = header_of(head)
    width, height, mode = header if header else (max_pixels, 1, "RGBA")
    pixels = min(width * height, max_pixels)  # more is rejected before any pixel is decoded
    decoded = pixels * stored_bytes_per_pixel(mode)
    rgb = 0 if mode == "RGB" else pixels * 4
    crop = pixels * 4 if ocr_bytes else 0
    shown = f"{width}×{height} {mode}" if header else "an image whose header is not at its start"
    return Cost(
        size + decoded + rgb + crop + ocr_bytes + IMAGE_WORKING_BYTES,
        f"{shown} decoded",
        "send an image with fewer pixels (e.g. scaled to 4,000 pixels on its longer side)",
    )


def _bomb(max_pixels: int, width: int = 0, height: int = 0) -> PermanentError:
    size = f"{width}×{height} pixels" if width else "too many pixels"
    return PermanentError(
        ErrorCode.DECOMPRESSION_BOMB,
        f"the image declares {size}; the limit is {max_pixels} pixels",
    )


def preprocess_image(image: PILImage.Image, params: dict[str, Any]) -> np.ndarray:
    """Resize the short side, centre-crop, normalise: one CHW float32 tensor.

    Only the region the crop keeps is resampled (``resize(box=...)``), straight to the
    crop's size, so the intermediate is the crop however far the aspect ratio goes: a
    20,000 × 2 image resized whole would be 2,560,000 × 256 pixels (2.8 GB). The box is
    where the crop of the whole resized image falls in the original, so the pixels are
    those of resizing the whole image and cropping it.
    """
    import numpy as np
    from PIL import Image

    short_side = int(params["resize_short_side"])
    crop = int(params["crop_size"])
    width, height = image.size
    scale = short_side / min(width, height)
    new_width, new_height = max(crop, round(width * scale)), max(crop, round(height * scale))
    left = (new_width - crop) // 2
    top = (new_height - crop) // 2
    x_scale, y_scale = width / new_width, height / new_height
    box = (left * x_scale, top * y_scale, (left + crop) * x_scale, (top + crop) * y_scale)
    cropped = image.resize((crop, crop), Image.Resampling.BICUBIC, box=box, reducing_gap=3.0)
    pixels = np.asarray(cropped, dtype=np.float32)
    normalised = (pixels - float(params["mean"])) / float(params["scale"])
    return np.ascontiguousarray(normalised.transpose(2, 0, 1))


def softmax(logits: np.ndarray) -> np.ndarray:
    import numpy as np

    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    result: np.ndarray = exp / exp.sum(axis=-1, keepdims=True)
    return result


class ImageClassifier:
    """The image modality (see the module docstring for its steps)."""

    modality = Modality.IMAGE
    header_bytes = IMAGE_HEADER_BYTES  # where Pillow finds the size and mode

    def __init__(
        self,
        spec: ModelSpec,
        *,
        threads: int,
        max_bytes: int,
        max_pixels: int,
        reader: TextReader | None = None,
    ) -> None:
        self.spec = spec
        self.model: ModelRef = spec.ref
        self.threads = threads
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels
        self.reader = reader
        self._labels: list[str] | None = None

    @property
    def labels(self) -> list[str]:
        if self._labels is None:
            with self.spec.asset("labels.json").open(encoding="utf-8") as handle:
                self._labels = list(json.load(handle))
        return self._labels

    def cost(self, size: int, head: bytes) -> Cost:
        ocr_bytes = self.reader.working_bytes if self.reader else 0
        return image_cost(size, head, max_pixels=self.max_pixels, ocr_bytes=ocr_bytes)

    def decode(self, data: bytes) -> DecodedImage:
        return decode_image(data, self.max_bytes, self.max_pixels)

    def preprocess(self, decoded: DecodedImage) -> PreparedImage:
        return PreparedImage(
            preprocess_image(decoded.image, self.spec.preprocessing), decoded.image
        )

    def execute(self, batch: Sequence[PreparedImage]) -> list[RawImage]:
        import numpy as np

        session = get_session(self.spec.onnx_path(), self.threads)
        input_name = session.get_inputs()[0].name
        (logits,) = session.run(None, {input_name: np.stack([item.pixels for item in batch])})
        probabilities = softmax(np.asarray(logits, dtype=np.float32))
        return [
            RawImage(row, self.reader.read(item.image) if self.reader else [])
            for row, item in zip(probabilities, batch, strict=True)
        ]

    def postprocess(
        self, decoded: DecodedImage, prepared: PreparedImage, raw: RawImage
    ) -> JsonDict:
        import numpy as np

        top = np.argsort(raw.probabilities)[::-1][:TOP_K]
        result: JsonDict = {
            "width": decoded.width,
            "height": decoded.height,
            "format": decoded.format.lower(),
            "labels": [
                {
                    "label": self.labels[int(i)],
                    "class_id": int(i),
                    "probability": float(raw.probabilities[i]),
                }
                for i in top
            ],
        }
        if raw.lines:
            result["text"] = page_text(raw.lines)
            result["lines"] = [line.to_dict() for line in raw.lines]
        return result
