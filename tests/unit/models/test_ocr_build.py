"""The OCR build's pieces that need no model: the character error rate and the pages
it renders."""

from __future__ import annotations

import math

import pytest

from models.build import check_gate
from models.ocr import char_errors, character_error_rate, render_page
from models.speech import word_errors
from prism.onnx.registry import load_manifest


@pytest.mark.parametrize(
    ("reference", "hypothesis", "errors"),
    [
        ("kitten", "sitting", 3),
        ("", "abc", 3),
        ("abc", "", 3),
        ("flaw", "lawn", 2),
        ("Prism reads PDFs", "Prism reads PDFs", 0),
        ("naïve café", "naive cafe", 2),
    ],
)
def test_char_errors_is_the_levenshtein_distance(
    reference: str, hypothesis: str, errors: int
) -> None:
    assert char_errors(reference, hypothesis) == errors
    # The same distance as the plain dynamic programme the speech build uses for words.
    assert char_errors(reference, hypothesis) == word_errors(list(reference), list(hypothesis))


def test_character_error_rate_counts_whitespace_runs_as_one_space() -> None:
    assert character_error_rate(["a  b\nc"], ["a b c"]) == 0.0
    assert character_error_rate(["abcd", "efgh"], ["abcx", "efgh"]) == pytest.approx(1 / 8)
    assert math.isnan(character_error_rate([""], [""]))


def test_a_rendered_page_holds_the_text_it_reports() -> None:
    page, text = render_page(["one two three " * 40], seed=3, scanned=False)
    assert page.size == (1240, 1754)
    assert text.split() == ("one two three " * 40).split()
    assert len(text.splitlines()) > 1  # word-wrapped
    scanned, same = render_page(["one two three " * 40], seed=3, scanned=True)
    assert same == text and scanned.getpixel((5, 5)) != (255, 255, 255)


def test_the_ocr_gate_fails_when_int8_reads_worse() -> None:
    [ocr] = [entry for entry in load_manifest()["models"] if entry["role"] == "ocr"]
    good = {"eval_items": 12, "cer_int8_vs_fp32": 0.002, "cer_int8": 0.003,
            "cer_quantization_cost": 0.001}  # fmt: skip
    assert check_gate(ocr["gate"], good) == []
    worse = good | {"cer_int8": 0.2, "cer_quantization_cost": 0.19}
    assert len(check_gate(ocr["gate"], worse)) == 2
