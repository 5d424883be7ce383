"""The real, built int8 OCR model reading a page rendered here."""

from __future__ import annotations

from typing import Any

import pytest

from models.ocr import character_error_rate, render_page
from prism.modalities.ocr import TextReader, page_text
from prism.onnx.registry import model_for
from prism.settings import get_settings

pytestmark = pytest.mark.integration

TEXT = [
    "Prism routes every file by what it really is, never by its name.",
    "Invoice 2026-0417: 3 boxes of paper, 12.50 EUR each, due on 30 November.",
    "A scanned page has no text layer, so its words come from the OCR model.",
]


@pytest.mark.parametrize("scanned", [False, True])
def test_int8_ocr_reads_a_rendered_page(built_models: dict[str, Any], scanned: bool) -> None:
    spec = model_for("ocr", get_settings().model_dir)
    assert spec.runtime_precision == "int8"
    page, truth = render_page(TEXT, seed=0, scanned=scanned)
    lines = TextReader(spec, threads=1).read(page)
    text = page_text(lines)
    assert character_error_rate([truth], [text]) <= 0.02, text
    assert all(0 <= line.box.x0 < line.box.x1 <= page.width for line in lines)
    assert all(line.confidence >= 0.5 for line in lines)
