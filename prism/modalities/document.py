"""Documents (PDF): the text layer of each page, OCR where a page has none, and the
document's labels, embedding and search field computed as a text file's are.

decode: PDFium (pypdfium2) opens the file after the byte limit; every limit is checked
before any page is read or drawn — the page count, and each page's size in pixels at the
OCR resolution (from its media box, so a 200-inch page costs nothing to refuse); then
each page's text layer is read, and the pages without one (fewer than
``MIN_TEXT_LAYER_CHARS`` letters: a scan) are rendered, at most ``max_ocr_pages`` of them.
Encrypted, malformed and truncated files get coded rejections.
execute: the OCR model (:mod:`prism.modalities.ocr`) reads the rendered pages; the
pages' text, joined, goes through the text modality's own handler (decode → preprocess
→ execute → postprocess, :func:`prism.modalities.base.run_batch`), so a document's
labels and embedding mean what a text file's do.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from prism.errors import ErrorCode, PermanentError
from prism.modalities.base import JsonDict, ModalityHandler, check_size, run_batch
from prism.modalities.ocr import TextReader, page_text
from prism.modality import Modality
from prism.onnx.registry import ModelRef, ModelSpec

if TYPE_CHECKING:
    from PIL import Image as PILImage

OCR_DPI = 150  # pages without a text layer are drawn at this resolution for OCR
MIN_TEXT_LAYER_CHARS = 16  # fewer non-space characters than this: treat the page as a scan
# What a result stores of the pages' text (Cosmos DB items are at most 2 MB); the
# embedding and labels read the start of the text anyway (the text model's token limit).
MAX_STORED_CHARACTERS = 200_000
TEXT_LAYER, OCR = "text layer", "ocr"

# PDFium is not thread-safe: one call into it at a time in this process.
_pdfium = threading.Lock()


@dataclass(frozen=True)
class DocumentLimits:
    max_bytes: int
    max_pages: int
    max_ocr_pages: int
    max_page_pixels: int


@dataclass
class DecodedPage:
    number: int
    text: str
    image: PILImage.Image | None = None  # drawn for OCR: the page had no text layer
    ocr: bool = False
    lines: list[JsonDict] = field(default_factory=list)


@dataclass
class DecodedDocument:
    pages: list[DecodedPage]


def _pixels(width_pt: float, height_pt: float) -> tuple[int, int]:
    scale = OCR_DPI / 72
    return round(width_pt * scale), round(height_pt * scale)


def decode_document(data: bytes, limits: DocumentLimits) -> DecodedDocument:
    """Open ``data`` as a PDF within ``limits``: each page's text layer, and the pages
    without one drawn for OCR; or raise a coded PermanentError."""
    import pypdfium2

    check_size(data, limits.max_bytes, "document")
    with _pdfium:
        try:
            pdf = pypdfium2.PdfDocument(data)
        except pypdfium2.PdfiumError as exc:
            code = getattr(exc, "err_code", None)
            if code in (pypdfium2.raw.FPDF_ERR_PASSWORD, pypdfium2.raw.FPDF_ERR_SECURITY):
                raise PermanentError(
                    ErrorCode.ENCRYPTED,
                    "the PDF is encrypted with a password: save an unprotected copy",
                ) from exc
            raise PermanentError(
                ErrorCode.CORRUPT, "the PDF is malformed or truncated and cannot be read"
            ) from exc
        try:
            return _read_pages(pdf, limits)
        except pypdfium2.PdfiumError as exc:
            raise PermanentError(
                ErrorCode.CORRUPT, f"the PDF is malformed and cannot be read: {exc}"
            ) from exc
        finally:
            pdf.close()


def _read_pages(pdf: Any, limits: DocumentLimits) -> DecodedDocument:
    count = len(pdf)
    if count == 0:
        raise PermanentError(ErrorCode.EMPTY, "the PDF has no pages")
    if count > limits.max_pages:
        raise PermanentError(
            ErrorCode.TOO_LONG, f"the PDF has {count} pages; the limit is {limits.max_pages}"
        )
    for index in range(count):
        width, height = _pixels(*pdf.get_page_size(index))
        if width * height > limits.max_page_pixels:
            raise PermanentError(
                ErrorCode.DECOMPRESSION_BOMB,
                f"page {index + 1} is {width}×{height} pixels at {OCR_DPI} dpi; "
                f"the limit is {limits.max_page_pixels} pixels a page",
            )
    pages: list[DecodedPage] = []
    to_draw = 0
    for index in range(count):
        page = pdf[index]
        try:
            textpage = page.get_textpage()
            text = textpage.get_text_bounded().replace("\r\n", "\n").strip()
            textpage.close()
            if sum(not ch.isspace() for ch in text) >= MIN_TEXT_LAYER_CHARS:
                pages.append(DecodedPage(index + 1, text))
                continue
            to_draw += 1
            if to_draw > limits.max_ocr_pages:
                raise PermanentError(
                    ErrorCode.TOO_LONG,
                    f"more than {limits.max_ocr_pages} pages have no text layer; "
                    f"OCR is limited to {limits.max_ocr_pages} pages a document",
                )
            bitmap = page.render(scale=OCR_DPI / 72)
            image = bitmap.to_pil().convert("RGB")
            pages.append(DecodedPage(index + 1, "", image=image, ocr=True))
            bitmap.close()
        finally:
            page.close()
    return DecodedDocument(pages)


def _utf8_prefix(text: str, max_bytes: int) -> bytes:
    """``text`` as UTF-8, cut to ``max_bytes`` on a character boundary."""
    return text.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore").encode("utf-8")


class DocumentReader:
    """The document modality (see the module docstring)."""

    modality = Modality.DOCUMENT

    def __init__(
        self,
        spec: ModelSpec,
        *,
        threads: int,
        limits: DocumentLimits,
        text: Callable[[], ModalityHandler[Any, Any, Any]],
        text_max_bytes: int,
    ) -> None:
        self.model: ModelRef = spec.ref
        self.reader = TextReader(spec, threads)
        self.limits = limits
        self.text_handler = text
        self.text_max_bytes = text_max_bytes

    def decode(self, data: bytes) -> DecodedDocument:
        return decode_document(data, self.limits)

    def preprocess(self, decoded: DecodedDocument) -> DecodedDocument:
        return decoded

    def execute(self, batch: Sequence[DecodedDocument]) -> list[JsonDict]:
        """OCR of every drawn page, then the text modality on each document's text."""
        texts = []
        for document in batch:
            for page in document.pages:
                if page.image is not None:
                    lines = self.reader.read(page.image)
                    page.text = page_text(lines)
                    page.lines = [line.to_dict() for line in lines]
                    page.image = None  # the pixels are not needed any more
            texts.append("\n\n".join(page.text for page in document.pages if page.text))
        payloads = [_utf8_prefix(text, self.text_max_bytes) for text in texts]
        outcomes = run_batch(self.text_handler(), payloads)
        # A document without any text (blank pages) has no labels or embedding.
        return [outcome.result or {} for outcome in outcomes]

    def postprocess(
        self, decoded: DecodedDocument, prepared: DecodedDocument, raw: JsonDict
    ) -> JsonDict:
        budget = MAX_STORED_CHARACTERS
        pages = []
        for page in decoded.pages:
            stored = page.text[: max(0, budget)]
            budget -= len(stored)
            entry: JsonDict = {
                "page": page.number,
                "source": OCR if page.ocr else TEXT_LAYER,
                "text": stored,
            }
            if len(stored) < len(page.text):
                entry["text_truncated"] = True
            if page.lines:
                entry["lines"] = page.lines
            pages.append(entry)
        ocr_pages = sum(1 for page in pages if page["source"] == OCR)
        result: JsonDict = {
            "page_count": len(decoded.pages),
            "ocr_pages": ocr_pages,
            "characters": sum(len(page.text) for page in decoded.pages),
            "pages": pages,
            "labels": raw.get("labels", []),
        }
        for key in ("format", "tokens", "truncated", "embedding"):
            if key in raw:
                result[key] = raw[key]
        return result
