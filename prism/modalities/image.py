"""Image classification: EfficientNet-Lite0 (ImageNet-1k), int8; and the words in the
image, read by the OCR model (PP-OCRv4, int8), when there are any.

decode: Pillow with a decoder allow-list; the pixel count is checked from the header
before any pixel is decoded (decompression bombs cost nothing).
preprocess: short side to 256, centre crop 224, (x − 127) / 128, CHW float32.
execute: the classifier over the batch; then, when a text reader is configured, OCR of
each image (:data:`IMAGE_OCR`: a photo's text is sparser and smaller than a page's).
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

from prism.errors import ErrorCode, PermanentError
from prism.modalities.base import JsonDict, check_size
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
            rgb = image.convert("RGB")
        except Image.DecompressionBombError as exc:
            raise _bomb(max_pixels) from exc
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise PermanentError(
                ErrorCode.CORRUPT, f"the image data is truncated or corrupt: {exc}"
            ) from exc
    return DecodedImage(rgb, width, height, image_format)


def _bomb(max_pixels: int, width: int = 0, height: int = 0) -> PermanentError:
    size = f"{width}×{height} pixels" if width else "too many pixels"
    return PermanentError(
        ErrorCode.DECOMPRESSION_BOMB,
        f"the image declares {size}; the limit is {max_pixels} pixels",
    )


def preprocess_image(image: PILImage.Image, params: dict[str, Any]) -> np.ndarray:
    """Resize the short side, centre-crop, normalise: one CHW float32 tensor."""
    import numpy as np
    from PIL import Image

    short_side = int(params["resize_short_side"])
    crop = int(params["crop_size"])
    width, height = image.size
    scale = short_side / min(width, height)
    new_size = (max(crop, round(width * scale)), max(crop, round(height * scale)))
    resized = image.resize(new_size, Image.Resampling.BICUBIC, reducing_gap=3.0)
    left = (new_size[0] - crop) // 2
    top = (new_size[1] - crop) // 2
    cropped = resized.crop((left, top, left + crop, top + crop))
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
