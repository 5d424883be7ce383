"""Text sniffing: whether a file's bytes are strict UTF-8 text, and which common text
format its first characters show."""

from __future__ import annotations

import codecs
import json
import re

# Text may hold tabs, line breaks, form feeds and ANSI colour escapes; more than this
# share of other C0 control bytes means binary data that happens to decode.
MAX_CONTROL_SHARE = 0.01
_ALLOWED_CONTROLS = b"\t\n\r\x0b\x0c\x1b"
_CONTROL_BYTES = bytes(b for b in range(32) if b not in _ALLOWED_CONTROLS) + b"\x7f"
MAX_CELL_WORDS = 4
HEAD_CHARS = 1024  # the characters a text's format is told from (JSON is parsed whole)

# These run on at most HEAD_CHARS characters, but stay linear all the same: a link's text
# ``[^\[\]\n]+`` stops at the next ``[`` and its address ``[^)\s\]]+`` at the next ``]``,
# where the next attempt starts (``\[[^\]\n]+\]`` scanned from every ``[`` of a line of
# ``[[[…`` to its end). ``\[?`` and ``|\[`` keep ``[[](u)`` and ``[a[](u)`` links, as
# before; an address holding ``]`` (``http://[::1]/``) no longer makes a link.
_MARKDOWN = re.compile(
    r"^(#{1,6} \S|```|\* \S|- \S|> \S|\d+\. \S)|\[(?:[^\[\]\n]+\[?|\[)\]\([^)\s\]]+\)", re.M
)
_HTML = re.compile(r"<!doctype html|<html[\s>]|<head[\s>]|<body[\s>]", re.I)


def utf8_text(head: bytes, size: int, tail: bytes) -> str | None:
    """The head as text if the bytes are strict UTF-8 text, else None."""
    complete = len(head) >= size
    try:
        # Not final unless the head is the whole file: a character cut at the end is fine.
        text = codecs.getincrementaldecoder("utf-8")("strict").decode(head, final=complete)
        if tail and not complete:
            # The tail may start inside a character: skip up to 3 continuation bytes.
            start = next((i for i in range(min(4, len(tail))) if tail[i] & 0xC0 != 0x80), 0)
            tail[start:].decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text


def is_text(head: bytes, text: str | None) -> bool:
    if text is None or "\x00" in text:
        return False
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return controls <= MAX_CONTROL_SHARE * len(head)


def text_label(text: str, complete: bool) -> str:
    """Tell common text formats apart from the first characters, cheaply."""
    start = text.lstrip("\ufeff \t\r\n")[:HEAD_CHARS]
    if start[:1] in ("{", "["):
        if not complete:
            return "json"
        try:
            json.loads(text)
        except (ValueError, RecursionError):  # nesting deeper than the parser's stack
            return "txt"
        return "json"
    if _HTML.search(start):
        return "html"
    if start.startswith("<?xml"):
        return "xml"
    if _MARKDOWN.search(start):
        return "markdown"
    lines = [line for line in start.splitlines()[:6] if line.strip()]
    if not complete and len(lines) > 1:
        lines = lines[:-1]  # the last line of a partial head may be cut short
    for separator, label in ((",", "csv"), ("\t", "tsv")):
        rows = [line.split(separator) for line in lines]
        # Prose has commas too: a table has the same column count on every line and
        # short cells.
        same_width = len(rows) >= 2 and len({len(row) for row in rows}) == 1 and len(rows[0]) > 1
        if same_width and all(len(cell.split()) <= MAX_CELL_WORDS for row in rows for cell in row):
            return label
    return "txt"
