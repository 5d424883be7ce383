"""A text's shape from its characters, and the words the sentence model is given for it:
JSON keys and values, a table's header and rows, code with its lead-in, prose as is."""

from __future__ import annotations

import json

import pytest

from prism.modalities.text_shape import MAX_JSON_ITEMS, readable_text, text_format

PROSE = "The striker scored twice as the team won the cup final on Saturday afternoon."
PYTHON = "import os\n\n\ndef main() -> None:\n    path = os.getcwd()\n    print(path)\n"
SQL = "SELECT name, total\nFROM orders\nWHERE total > 10\nORDER BY total DESC;\n"
SHELL = "#!/bin/sh\necho hello\n"
TSV = "station\tmonth\trainfall_mm\nCardiff\tJanuary\t142\nCardiff\tFebruary\t110\n"
CSV = "team,played,points\nArsenal,14,33\nLiverpool,14,31\n"
JSON = '{"home_team": "Leeds", "score": {"home": 2}, "scorers": ["Gnonto"], "live": false}'
NOTES = "Minutes\nPresent: the chair, the treasurer.\nThe accounts were approved.\n"
STEPS = "If it rains, take the bus.\nFor lunch: soup.\nWith luck we finish early.\nThen home:\n"


@pytest.mark.parametrize(
    ("text", "shape"),
    [(PROSE, "txt"), (PYTHON, "code"), (SQL, "code"), (SHELL, "code"), (TSV, "tsv"),
     (CSV, "csv"), (JSON, "json"), ("# Title\n\nSome words.\n", "markdown"), (NOTES, "txt"),
     (STEPS, "txt")],
)  # fmt: skip
def test_the_shape_is_told_from_the_characters(text: str, shape: str) -> None:
    assert text_format(text) == shape


def test_json_is_read_as_its_keys_and_values_a_line_each() -> None:
    assert readable_text(JSON, "json").splitlines() == [
        "home team: Leeds",
        "home: 2",
        "scorers: Gnonto",
    ]  # booleans and nulls say nothing a reader would


def test_a_table_is_read_as_its_named_header_and_its_rows() -> None:
    assert readable_text(TSV, "tsv").splitlines() == [
        "A table of station, month, rainfall mm.",
        "Cardiff, January, 142",
        "Cardiff, February, 110",
    ]
    assert readable_text(CSV, "csv").splitlines()[0] == "A table of team, played, points."


def test_code_is_named_as_code_and_its_identifiers_split_into_words() -> None:
    text = readable_text("total_price = unitPrice * 2\n", "code")
    assert text == "Source code of a computer program: total price = unit Price * 2"


def test_markup_loses_its_markers_and_prose_stays_as_it_is() -> None:
    assert readable_text("## Notes\n- **ship** it\n", "markdown").split() == ["Notes", "ship", "it"]
    assert readable_text(PROSE, "txt") == PROSE


def test_broken_json_is_read_as_it_is() -> None:
    assert readable_text('{"a": ', "json") == '{"a": '


def test_json_is_read_depth_first_up_to_the_cap() -> None:
    text = '{"a": [{"b": "1"}, "2"], "c": {"d": 3, "e": null}, "f": "4"}'
    assert readable_text(text, "json").splitlines() == ["b: 1", "a: 2", "d: 3", "f: 4"]
    many = json.dumps({"list": [str(i) for i in range(1000)], "after": "cut"})
    lines = readable_text(many, "json").splitlines()
    assert lines == [f"list: {i}" for i in range(MAX_JSON_ITEMS)]


def test_a_table_with_carriage_return_line_ends_or_quoted_line_breaks_is_read_as_rows() -> None:
    assert readable_text("team,points\rArsenal,33\rLeeds,30\r", "csv").splitlines() == [
        "A table of team, points.",
        "Arsenal, 33",
        "Leeds, 30",
    ]
    text = 'team,note\r\nArsenal,"won\r\nat home"\r\n'
    assert readable_text(text, "csv") == "A table of team, note.\nArsenal, won\r\nat home"


def test_markup_tags_may_span_lines_and_a_stray_angle_bracket_stays() -> None:
    html = '<a\n  href="/x">link</a> if a < b <i>then</i>'
    assert readable_text(html, "html") == " link  if a < b  then "
