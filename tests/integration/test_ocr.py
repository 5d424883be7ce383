"""The real, built int8 OCR model reading a page rendered here."""

from __future__ import annotations

from typing import Any

import pytest

from models.ocr import character_error_rate, render_page
from prism.modalities.ocr import TextReader, page_text
from prism.modality import Modality
from prism.onnx.registry import model_for
from prism.settings import get_settings
from tests.fixtures import media, pdfs

SAMPLES = media.SAMPLES

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


@pytest.mark.parametrize("degrees", [0.8, -1.5, 3.0])
def test_int8_ocr_reads_a_tilted_scan_as_it_reads_a_straight_one(
    built_models: dict[str, Any], degrees: float
) -> None:
    from PIL import Image

    spec = model_for("ocr", get_settings().model_dir)
    page, truth = render_page(TEXT * 3, seed=1, scanned=True)
    # Turned as a page on a scanner's glass is: about its centre, grey paper around it.
    tilted = page.rotate(degrees, Image.Resampling.BICUBIC, expand=True, fillcolor=(236,) * 3)
    lines = TextReader(spec, threads=1).read(tilted)
    text = page_text(lines)
    # Before deskew, every one of these read 66-100 % wrong (lines cut by their boxes).
    assert character_error_rate([truth], [text]) <= 0.02, text
    for line in lines:
        x0, y0, x1, y1 = line.box.page_box
        assert 0 <= x0 < x1 <= tilted.width and 0 <= y0 < y1 <= tilted.height


def columns_page(columns: int) -> tuple[Any, str]:
    """An A4 page at 200 dpi: a heading over ``columns`` columns of prose, each set
    ragged right, with the text in reading order."""
    from PIL import Image, ImageDraw, ImageFont

    page = Image.new("RGB", (1654, 2339), "white")
    draw = ImageDraw.Draw(page)
    font, margin, gap = ImageFont.load_default(size=24), 120, 60
    width = (page.width - 2 * margin - (columns - 1) * gap) // columns
    heading = "Quarterly report: the warehouse roof and its solar panels"
    draw.text((margin, margin), heading, fill="black", font=ImageFont.load_default(size=36))
    read = [heading]
    for index in range(columns):
        x, y, line = margin + index * (width + gap), margin + 90, ""
        for word in " ".join(TEXT[index % 3 :] + TEXT[: index % 3]).split():
            if draw.textlength(f"{line} {word}".strip(), font=font) <= width:
                line = f"{line} {word}".strip()
                continue
            draw.text((x, y), line, fill="black", font=font)
            read.append(line)
            y, line = y + 38, word
        draw.text((x, y), line, fill="black", font=font)
        read.append(line)
    return page, "\n".join(read)


@pytest.mark.parametrize("columns", [2, 3])
def test_int8_ocr_reads_a_page_in_columns_column_by_column(
    built_models: dict[str, Any], columns: int
) -> None:
    spec = model_for("ocr", get_settings().model_dir)
    page, truth = columns_page(columns)
    text = page_text(TextReader(spec, threads=1).read(page))
    # Read line by line across the columns, these pages were 29 % and 49 % wrong.
    assert character_error_rate([truth], [text]) <= 0.02, text


def test_prism_infer_reads_the_sample_pdfs_by_text_layer_and_by_ocr(
    built_models: dict[str, Any],
) -> None:
    import json
    import subprocess
    import sys
    from pathlib import Path

    samples = Path(__file__).resolve().parents[2] / "samples"
    completed = subprocess.run(
        [sys.executable, "-m", "prism_tools.cli", "infer", "--json",
         str(samples / "report.pdf"), str(samples / "scanned.pdf")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    report, scanned = (item["result"] for item in json.loads(completed.stdout))
    assert [p["source"] for p in report["pages"]] == ["text layer"]
    assert report["pages"][0]["text"].startswith("Quarterly report: solar panels")
    assert [p["source"] for p in scanned["pages"]] == ["ocr"] and scanned["ocr_pages"] == 1
    truth = "\n".join(pdfs.SCANNED)
    assert character_error_rate([truth], [scanned["pages"][0]["text"]]) <= 0.02
    for result in (report, scanned):
        assert result["labels"] and result["embedding"]["dim"] == 384


def test_an_image_result_carries_the_words_in_it_and_a_photo_without_words_none(
    built_models: dict[str, Any],
) -> None:
    from prism.inference.engine import Engine

    engine = Engine(get_settings())
    sign, cat = (
        outcome.result
        for outcome in engine.run(
            Modality.IMAGE, [(SAMPLES / name).read_bytes() for name in ("sign.jpg", "cat.jpg")]
        )
    )
    assert sign is not None and cat is not None
    assert sign["text"].split("\n") == media.SIGN
    for line in sign["lines"]:
        x0, y0, x1, y1 = line["box"]
        assert 0 <= x0 < x1 <= sign["width"] and 0 <= y0 < y1 <= sign["height"]
    assert "text" not in cat and "lines" not in cat
