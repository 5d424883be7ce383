"""A PDF's streams are measured as they would inflate before PDFium reads a page: a
content stream past its bound is refused, images are left to PDFium (it draws them at
the page's size), and the scan holds nothing it inflates."""

from __future__ import annotations

import zlib

import pytest

from prism.errors import ErrorCode, PermanentError
from prism.modalities import pdf_streams
from prism.modalities.pdf_streams import check_streams, inflated_size
from tests.fixtures import pdfs
from tests.fixtures.hostile import peak_growth

MIB = 1024 * 1024


def test_a_content_stream_inflating_past_the_bound_is_a_decompression_bomb() -> None:
    data = pdfs.content_bomb_pdf(200)  # ~200 KB inflating to 200 MB
    outcome, grown = peak_growth(lambda: check_streams(data))
    assert isinstance(outcome, PermanentError)
    assert outcome.code is ErrorCode.DECOMPRESSION_BOMB and "more than 64 MB" in outcome.message
    assert grown <= 16 * MIB  # counted a megabyte at a time, never held


def test_streams_adding_up_past_the_total_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdf_streams, "MAX_INFLATED_BYTES", 3 * MIB)
    pages = [pdfs.content_bomb_pdf(2)] * 2  # two documents' worth of 2 MB streams
    check_streams(pages[0])  # one is within both bounds
    two_streams = pages[0] + pages[1]  # a file holding both streams
    with pytest.raises(PermanentError) as caught:
        check_streams(two_streams)
    assert "streams inflate to more than 3 MB" in caught.value.message


def test_an_image_stream_is_left_to_pdfium_however_far_it_inflates() -> None:
    check_streams(pdfs.image_bomb_pdf(8_000))  # 192 MB of pixels once inflated


def test_ordinary_documents_pass() -> None:
    check_streams(pdfs.sample_text_pdf())
    check_streams(pdfs.sample_scanned_pdf())
    check_streams(pdfs.document(["page one " * 40, "page two " * 40]))


def test_a_truncated_or_corrupt_stream_is_left_to_pdfium() -> None:
    bomb = pdfs.content_bomb_pdf(1)
    check_streams(bomb[: bomb.index(b"endstream") - 10])
    corrupt = bomb.replace(b"stream\n", b"stream\nnot zlib at all", 1)
    check_streams(corrupt)


def test_the_inflated_size_is_counted_exactly_up_to_just_past_the_limit() -> None:
    payload = bytes(range(256)) * 40_000  # ~10 MB
    compressed = memoryview(zlib.compress(payload))
    assert inflated_size(compressed, 64 * MIB) == len(payload)
    assert len(payload) // 4 < inflated_size(compressed, len(payload) // 4) <= len(payload)
