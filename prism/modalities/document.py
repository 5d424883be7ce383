"""Documents (PDF): the text layer of each page, OCR where a page has none, and the
document's labels, embedding and search field computed as a text file's are.

decode: PDFium (pypdfium2) opens the file after the byte limit and the page count is
checked before any page is read; then each page's text layer is read, and the pages
without one (fewer than ``MIN_TEXT_LAYER_CHARS`` letters: a scan), at most
``max_ocr_pages`` of them, are marked for OCR with the scale they will be drawn at (150
dpi, or less for a page over ``max_page_pixels``: from its media box). Encrypted,
malformed and truncated files get coded rejections.
execute: each marked page is drawn, read by the OCR model (:mod:`prism.modalities.ocr`)
and let go before the next is drawn (a document's memory is one page's); the
pages' text, joined, goes through the text modality's own handler (decode → preprocess
→ execute → postprocess, :func:`prism.modalities.base.run_batch`), so a document's
labels and embedding mean what a text file's do.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from prism.budget import MB, Cost
from prism.errors import ErrorCode, PermanentError
from prism.modalities.base import BudgetedHandler, JsonDict, check_size, run_batch
from prism.modalities.ocr import TextReader, page_text
from prism.modalities.pdf_streams import MAX_STREAM_BYTES, check_streams
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
# Memory a drawn page holds per pixel at its peak: PDFium's bitmap (up to 4 bytes), its
# RGB copy (Pillow stores RGB in 4), and a line box OCR may crop as large as the page (4).
DRAWN_PAGE_BYTES_PER_PIXEL = 12
# PDFium holds the file and what it parses of it (cross-references, fonts, the current
# page's objects): measured under twice the file (tests/integration/test_costs.py).
PDF_HOLD_FACTOR = 3
PAGE_WORKING_BYTES = 64 * MB  # PDFium's own buffers and the page's text

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
    ocr: bool = False  # no text layer: drawn for OCR when the document runs
    scale: float = 0.0  # pixels per point it is drawn at (OCR pages)
    lines: list[JsonDict] = field(default_factory=list)


@dataclass
class DecodedDocument:
    data: bytes  # the PDF, from which OCR pages are drawn one at a time
    pages: list[DecodedPage]


def drawing_scale(width_pt: float, height_pt: float, max_page_pixels: int) -> float:
    """Pixels per point a page is drawn at for OCR: ``OCR_DPI``, or less for a page that
    would hold more than ``max_page_pixels`` (a poster is read at a lower resolution, not
    refused, and never costs more than a page of the limit)."""
    scale = OCR_DPI / 72
    pixels = width_pt * scale * height_pt * scale
    if pixels > max_page_pixels:
        scale *= math.sqrt(max_page_pixels / pixels)
    return scale


def document_cost(size: int, limits: DocumentLimits, ocr_bytes: int, text_cost: Cost) -> Cost:
    """The peak memory of reading one PDF: the file and PDFium's hold on it, a page's
    content stream inflated (:mod:`prism.modalities.pdf_streams` bounds it), one drawn
    page at a time (PDFium's bitmap, its RGB copy, the largest region OCR may crop from
    it, and ``ocr_bytes`` for reading it), and the text modality on the document's text."""
    drawn = limits.max_page_pixels * DRAWN_PAGE_BYTES_PER_PIXEL + ocr_bytes
    # A page's content stream, inflated, and what PDFium parses of it (measured: twice).
    content = 2 * MAX_STREAM_BYTES
    return Cost(
        PDF_HOLD_FACTOR * size + content + drawn + PAGE_WORKING_BYTES + text_cost.peak_bytes,
        f"a {size:,}-byte PDF, with pages drawn at up to {limits.max_page_pixels:,} pixels",
        "split the PDF into smaller files",
    )


def decode_document(data: bytes, limits: DocumentLimits) -> DecodedDocument:
    """Open ``data`` as a PDF within ``limits``: each page's text layer, and which pages
    have none (drawn for OCR later, one at a time); or raise a coded PermanentError."""
    import pypdfium2

    check_size(data, limits.max_bytes, "document")
    check_streams(data)  # before PDFium inflates any page's content whole
    with _pdfium:
        pdf = _open(data)
        try:
            return DecodedDocument(data, _read_pages(pdf, limits))
        except pypdfium2.PdfiumError as exc:
            raise PermanentError(
                ErrorCode.CORRUPT, f"the PDF is malformed and cannot be read: {exc}"
            ) from exc
        finally:
            pdf.close()


def _open(data: bytes) -> Any:
    """The PDF as a PDFium document (call under ``_pdfium``), or a coded rejection."""
    import pypdfium2

    try:
        return pypdfium2.PdfDocument(data)
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


def draw_page(data: bytes, page: DecodedPage) -> PILImage.Image:
    """One page of the PDF ``data`` drawn at its scale, as RGB (the PDF is opened again:
    PDFium is called only under ``_pdfium``, and no other page's pixels are held)."""
    import pypdfium2

    with _pdfium:
        pdf = _open(data)
        try:
            drawn = pdf[page.number - 1]
            try:
                bitmap = drawn.render(scale=page.scale)
                try:
                    image: PILImage.Image = bitmap.to_pil()  # RGB: PDFium drew BGR
                    image = image if image.mode == "RGB" else image.convert("RGB")
                finally:
                    bitmap.close()
            finally:
                drawn.close()
        except pypdfium2.PdfiumError as exc:
            raise PermanentError(
                ErrorCode.CORRUPT, f"page {page.number} of the PDF cannot be drawn: {exc}"
            ) from exc
        finally:
            pdf.close()
    return image


def _read_pages(pdf: Any, limits: DocumentLimits) -> list[DecodedPage]:
    count = len(pdf)
    if count == 0:
        raise PermanentError(ErrorCode.EMPTY, "the PDF has no pages")
    if count > limits.max_pages:
        raise PermanentError(
            ErrorCode.TOO_LONG, f"the PDF has {count} pages; the limit is {limits.max_pages}"
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
            width_pt, height_pt = pdf.get_page_size(index)
            scale = drawing_scale(width_pt, height_pt, limits.max_page_pixels)
            pages.append(DecodedPage(index + 1, "", ocr=True, scale=scale))
        finally:
            page.close()
    return pages


def _utf8_prefix(text: str, max_bytes: int) -> bytes:
    """``text`` as UTF-8, cut to ``max_bytes`` on a character boundary."""
    return text.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore").encode("utf-8")


class DocumentReader:
    """The document modality (see the module docstring)."""

    modality = Modality.DOCUMENT
    header_bytes = 0  # the cost follows from the size and the limits

    def __init__(
        self,
        spec: ModelSpec,
        *,
        threads: int,
        limits: DocumentLimits,
        text: Callable[[], BudgetedHandler[Any, Any, Any]],
        text_max_bytes: int,
    ) -> None:
        self.model: ModelRef = spec.ref
        self.reader = TextReader(spec, threads)
        self.limits = limits
        self.text_handler = text
        self.text_max_bytes = text_max_bytes

    def cost(self, size: int, head: bytes) -> Cost:
        text = self.text_handler().cost(self.text_max_bytes, b"")
        return document_cost(size, self.limits, self.reader.working_bytes, text)

    def decode(self, data: bytes) -> DecodedDocument:
        return decode_document(data, self.limits)

    def preprocess(self, decoded: DecodedDocument) -> DecodedDocument:
        return decoded

    def execute(self, batch: Sequence[DecodedDocument]) -> list[JsonDict]:
        """OCR of every drawn page, then the text modality on each document's text."""
        texts = []
        for document in batch:
            for page in document.pages:
                if page.ocr:  # drawn, read and let go one page at a time
                    lines = self.reader.read(draw_page(document.data, page))
                    page.text = page_text(lines)
                    page.lines = [line.to_dict() for line in lines]
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
