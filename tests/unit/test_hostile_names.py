"""File names with path tricks, control characters and unicode: what gets stored (the blob
name, the HTTP result's ``source.name``) is one flat, printable segment."""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prism.client import blob_name_for
from prism.names import MAX_NAME_CHARS, safe_file_name

BLOB_NAME = re.compile(r"[0-9a-f]{8}-[\w.\- ]+")
# Characters that must never be stored or logged: controls (forge log lines), format
# characters (U+202E turns "gpj.exe" around), and line/paragraph separators.
FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}

TRICKS = [
    "../../etc/passwd",
    "/etc/shadow",
    "..\\..\\windows\\system32\\config\\SAM",
    "C:\\Users\\me\\photo.jpg",
    "photo.jpg\x00.exe",
    "report\n2026-01-01 prism.pipeline INFO forged line",
    "\x1b[31mred\x1b[0m.txt",
    "invoice\u202egpj.exe",
    "\u2028split\u2029.txt",
    "ＣＯＮ／．．／x",  # fullwidth: looks like a path, is not one
    "..",
    ".",
    "",
    " ",
    "x" * 5000,
    "é" * 300 + ".txt",
]
SEPARATORS_AND_DOTS = "./\\\x00\n"
names = st.one_of(
    st.sampled_from(TRICKS), st.text(max_size=400), st.text(SEPARATORS_AND_DOTS, max_size=20)
)


def assert_flat_and_printable(stored: str) -> None:
    assert stored and "/" not in stored and "\\" not in stored
    assert stored not in {".", ".."} and not stored.startswith(".")
    bad = [ch for ch in stored if unicodedata.category(ch) in FORBIDDEN_CATEGORIES]
    assert bad == [], f"{stored!r} keeps {bad!r}"


@settings(max_examples=300, deadline=None)
@given(name=names)
def test_a_blob_name_is_one_printable_segment_inside_the_container(name: str) -> None:
    stored = blob_name_for(PurePosixPath(name))
    assert BLOB_NAME.fullmatch(stored), stored
    assert len(stored) <= 9 + MAX_NAME_CHARS
    assert_flat_and_printable(stored)


@settings(max_examples=300, deadline=None)
@given(name=names)
def test_an_http_name_is_stored_as_one_printable_segment(name: str) -> None:
    stored = safe_file_name(name, default="upload")
    assert len(stored) <= MAX_NAME_CHARS
    assert_flat_and_printable(stored)


@pytest.mark.parametrize(
    ("name", "stored"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\photo.jpg", "photo.jpg"),
        ("invoice\u202egpj.exe", "invoice_gpj.exe"),
        ("a\nforged line", "a_forged line"),
        ("..", "upload"),
        ("", "upload"),
    ],
)
def test_an_http_name_keeps_its_readable_last_segment(name: str, stored: str) -> None:
    assert safe_file_name(name, default="upload") == stored


def test_the_extension_survives_so_a_declared_type_still_reads() -> None:
    assert safe_file_name("../holiday photo (1).JPG").endswith(".JPG")
