"""The document modality without the models: limits checked before any work, the text
layer read, pages without one drawn for OCR, hostile PDFs rejected with codes, and the
result assembled from the pages and the text modality's own output."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from prism.budget import Cost
from prism.errors import ErrorCode, PermanentError
from prism.modalities.base import JsonDict, run_batch
from prism.modalities.document import (
    OCR_DPI,
    DecodedDocument,
    DecodedPage,
    DocumentLimits,
    DocumentReader,
    decode_document,
    draw_page,
)
from prism.modalities.ocr import TextBox, TextLine
from prism.modality import Modality
from prism.onnx.registry import ModelRef
from prism.settings import load_settings
from tests.fixtures import pdfs
from tests.fixtures.hostile import hostile_documents, peak_growth

DEFAULTS = load_settings(environ={})
LIMITS = DocumentLimits(
    DEFAULTS.max_document_bytes,
    DEFAULTS.max_document_pages,
    DEFAULTS.max_ocr_pages,
    DEFAULTS.max_page_pixels,
)
REJECTION_BOUND = 16 * 1024 * 1024


def test_a_text_pdf_is_read_from_its_text_layer_and_nothing_is_drawn() -> None:
    decoded = decode_document(pdfs.sample_text_pdf(), LIMITS)
    [page] = decoded.pages
    assert page.text.splitlines() == pdfs.REPORT.splitlines()
    assert not page.ocr and page.scale == 0.0


def test_a_scanned_pdf_page_is_drawn_at_the_ocr_resolution() -> None:
    decoded = decode_document(pdfs.sample_scanned_pdf(), LIMITS)
    [page] = decoded.pages
    assert page.ocr and page.text == ""
    image = draw_page(decoded.data, page)
    assert image.mode == "RGB"
    width, height = image.size
    assert abs(width - 595 * OCR_DPI / 72) <= 1 and abs(height - 842 * OCR_DPI / 72) <= 1


def test_mixed_pages_keep_their_order() -> None:
    scan = pdfs.scanned_page_jpeg(["a scanned page"])
    decoded = decode_document(pdfs.document([pdfs.REPORT, scan, "Second text page\n" * 3]), LIMITS)
    assert [page.number for page in decoded.pages] == [1, 2, 3]
    assert [page.ocr for page in decoded.pages] == [False, True, False]


@pytest.mark.parametrize("name", sorted(hostile_documents()))
def test_hostile_documents_are_rejected_with_their_code_before_any_work(name: str) -> None:
    data, code = hostile_documents()[name]
    outcome, grown = peak_growth(lambda: decode_document(data, LIMITS))
    assert isinstance(outcome, PermanentError), outcome
    assert outcome.code == code and outcome.message
    assert grown <= REJECTION_BOUND, f"{name}: rejecting it grew the process by {grown} bytes"


def test_a_zip_bombed_image_inside_a_pdf_is_drawn_at_the_page_size_in_bounded_memory() -> None:
    data = pdfs.image_bomb_pdf(20_000)  # 1.2 GB of pixels once inflated
    outcome, grown = peak_growth(lambda: decode_document(data, LIMITS))
    assert not isinstance(outcome, PermanentError), outcome
    [page] = outcome.pages
    image, grown = peak_growth(lambda: draw_page(data, page))
    assert not isinstance(image, PermanentError) and image.size[0] <= 1241
    # PDFium draws the image at the page's resolution while inflating it, never whole.
    assert grown <= 160 * 1024 * 1024, grown


def test_each_limit_is_a_setting() -> None:
    two_pages = pdfs.document(["page one " * 4, "page two " * 4])
    with pytest.raises(PermanentError) as caught:
        decode_document(two_pages, DocumentLimits(10**6, 1, 20, 25_000_000))
    assert (
        caught.value.code is ErrorCode.TOO_LONG
        and "2 pages; the limit is 1" in caught.value.message
    )
    with pytest.raises(PermanentError) as caught:
        decode_document(two_pages, DocumentLimits(100, 10, 20, 25_000_000))
    assert caught.value.code is ErrorCode.TOO_LARGE
    scans = pdfs.document([pdfs.scanned_page_jpeg(["x"])] * 2)
    with pytest.raises(PermanentError) as caught:
        decode_document(scans, DocumentLimits(10**7, 10, 1, 25_000_000))
    assert caught.value.code is ErrorCode.TOO_LONG and "OCR is limited to 1" in caught.value.message


def test_pages_are_drawn_one_at_a_time_each_within_the_page_pixel_limit() -> None:
    # Twenty blank pages of 2,399 points square: drawn all at once at 150 dpi they took
    # 2.6 GB; each is drawn smaller, and the decoded document holds no pixels at all.
    data = pdfs.document([""] * 20, size=(2399, 2399))
    limits = DocumentLimits(10**7, 500, 20, 4_000_000)
    decoded, grown = peak_growth(lambda: decode_document(data, limits))
    assert not isinstance(decoded, PermanentError)
    assert all(page.ocr for page in decoded.pages) and grown <= REJECTION_BOUND
    image = draw_page(decoded.data, decoded.pages[0])
    assert image.width * image.height <= 4_000_000 * 1.01  # rounded to whole pixels
    assert abs(image.width - image.height) <= 1


def test_a_200_inch_page_is_read_at_a_lower_resolution_not_refused() -> None:
    decoded = decode_document(pdfs.huge_page_pdf(), LIMITS)
    [page] = decoded.pages
    assert page.ocr and page.scale < OCR_DPI / 72
    image = draw_page(decoded.data, page)
    assert image.width * image.height <= LIMITS.max_page_pixels * 1.01


class FakeReader:
    def read(self, image: Any) -> list[TextLine]:
        return [TextLine("Delivery note", 0.97, TextBox(10, 20, 300, 60, 0.9))]


class BlankReader:
    def read(self, image: Any) -> list[TextLine]:
        return []


class FakeText:
    """The text modality's contract, recording what it was given."""

    modality = Modality.TEXT
    model = ModelRef("text", "1", "1")

    def __init__(self) -> None:
        self.seen: list[str] = []

    def decode(self, data: bytes) -> str:
        text = data.decode()
        if not text.strip():
            raise PermanentError(ErrorCode.EMPTY, "the text is empty or only white space")
        return text

    header_bytes = 0

    def cost(self, size: int, head: bytes) -> Cost:
        return Cost(size, "a text", "send less")

    def preprocess(self, decoded: str) -> str:
        return decoded

    def execute(self, batch: Sequence[str]) -> list[str]:
        self.seen.extend(batch)
        return list(batch)

    def postprocess(self, decoded: str, prepared: str, raw: str) -> JsonDict:
        return {"format": "txt", "tokens": len(raw.split()), "truncated": False,
                "labels": [{"label": "work", "score": 0.5}], "embedding": {"dim": 384}}  # fmt: skip


def reader(text: FakeText) -> DocumentReader:
    document = DocumentReader.__new__(DocumentReader)
    document.reader = FakeReader()  # type: ignore[assignment]
    document.limits = LIMITS
    document.text_handler = lambda: text
    document.text_max_bytes = 1024
    document.model = None  # type: ignore[assignment]
    return document


def test_the_result_has_pages_with_their_source_and_the_text_modalitys_fields() -> None:
    text = FakeText()
    data = pdfs.document([pdfs.REPORT, pdfs.scanned_page_jpeg(["Delivery note"])])
    [outcome] = run_batch(reader(text), [data])
    result = outcome.result
    assert result is not None
    assert result["page_count"] == 2 and result["ocr_pages"] == 1
    assert [page["source"] for page in result["pages"]] == ["text layer", "ocr"]
    assert result["pages"][1]["text"] == "Delivery note"
    assert result["pages"][1]["lines"] == [
        {"text": "Delivery note", "confidence": 0.97, "box": [10, 20, 300, 60]}
    ]
    assert result["labels"] == [{"label": "work", "score": 0.5}]
    assert result["embedding"] == {"dim": 384} and result["format"] == "txt"
    # The text modality saw the pages' text, joined, cut to its byte limit.
    assert text.seen[-1].startswith("Quarterly report") and text.seen[-1].endswith("Delivery note")


def test_a_document_without_any_text_is_ok_without_labels_or_embedding() -> None:
    blank = DecodedDocument(pdfs.document([""]), [DecodedPage(1, "", ocr=True, scale=1.0)])
    document = reader(FakeText())
    document.reader = BlankReader()  # type: ignore[assignment]
    [raw] = document.execute([blank])
    result = document.postprocess(blank, blank, raw)
    assert result["labels"] == [] and "embedding" not in result
    assert result["pages"] == [{"page": 1, "source": "ocr", "text": ""}]


def test_the_document_modality_routes_a_pdf_and_has_its_own_queue() -> None:
    assert DEFAULTS.modality_queues["document"] == "document-jobs"
    assert DEFAULTS.batching("document").size == 1


def test_the_committed_sample_pdfs_are_what_the_writer_writes() -> None:
    from pathlib import Path

    samples = Path(__file__).resolve().parents[3] / "samples"
    assert (samples / "report.pdf").read_bytes() == pdfs.sample_text_pdf()
    assert (samples / "scanned.pdf").read_bytes() == pdfs.sample_scanned_pdf()
    assert (samples / "bad" / "invoice.pdf").read_bytes() == pdfs.encrypted_pdf()
