"""A text file's shape, and the words of it a sentence model can read.

A sentence embedding model reads prose. Fed a JSON document, a table or source code as
it is, it sees mostly braces, quotes, separators and identifiers, and its zero-shot
label drifts to whatever description shares the most punctuation (a tab-separated
table of stock prices came back ``other``; see ``bench/labels.py``). So the text
modality first tells the shape apart, cheaply, from the characters:

* ``json``, ``csv``, ``tsv``, ``markdown``, ``html``, ``xml`` — by the router's own
  sniffing (:func:`prism.routing.text.text_label`), over the whole decoded text;
* ``code`` — at least half the non-blank lines look like statements of a programming
  language (a lower-case keyword or an upper-case SQL one first, a line ending in
  ``{``, ``}`` or ``;``, an assignment, a call), or the file starts with ``#!``;
* ``txt`` — anything else.

and then embeds its words rather than its syntax (:func:`readable_text`): a JSON
document's keys and string values, ``key: value`` a line; a table's header and cells,
a row a line, with the header named; markup without its markers; code with a short
lead-in that says it is source code, its identifiers split into words. Prose is left as
it is. The result names the shape (``format``), so a table is not mistaken for prose
in either direction.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from itertools import repeat
from typing import Any

from prism.routing.text import text_label

# The version of this preprocessing: part of the text model's configuration digest, so
# no cache serves labels made the other way. 2: linear-time patterns (a stray "<" before
# a tag now stays in the text).
SHAPE_VERSION = "shape-2"
CODE_SHARE = 0.5  # of the non-blank lines (at most the first 60)
# Every pattern here runs on untrusted text of up to the text limit (1 MiB), so each must
# take time linear in it (tests/unit/test_text_linear_time.py checks them):
# no two adjacent quantifiers that can share characters, and no unbounded scan that a
# search would start again from each of many positions (``<[^>]+>`` scans from every
# ``<`` to the end of a text with no ``>``: quadratic, 160 KB took 23 s). Each unbounded
# scan is anchored to a line's start, ends the match, or stops where the next attempt
# starts.
#
# Case matters: prose starts sentences with "If", "For" or "With"; code's keywords are
# lower case, SQL's upper case by custom.
_CODE_LINE = re.compile(
    r"""^\s*(
        (import|from|def|class|return|if|elif|else|for|while|try|except|with|async|await
         |func|package|fn|let|const|var|function|export|public|private|static|void|int
         |struct|enum|impl|use|mod|namespace|using|echo|set|fi|done|then|do|end)\b
      | (SELECT|INSERT|UPDATE|DELETE|CREATE|FROM|WHERE|GROUP\ BY|ORDER\ BY|LIMIT|JOIN)\b
      | \#include | @\w | //
    )
    | [{};]\s*$ | ^\s*[})\]]
    | ^\s*[\w.\[\]"']+\s*(=|:=|\+=|-=|=>)\s*\S
    | \w\([^()]*\)\s*(;\s*)?$
    """,
    re.X,
)
# The call alternative was ``\w\([^)]*\)\s*;?\s*$``: ``[^)]*`` ran from every ``a(`` of a
# line of ``a(a(a(…`` to its end, and ``\s*;?\s*`` split a run of spaces two ways at
# every point. ``[^()]*`` stops at the next ``(``, where the next attempt starts; on a
# line whose parentheses balance it matches exactly the lines the old one did (the last
# ``)`` closes the only ``(`` after the one before it).
_IDENTIFIER_PARTS = re.compile(r"(?<=[a-z])(?=[A-Z])|_+")
# A tag is ``<[^<>]+>``, not ``<[^>]+>``: the scan stops at the next ``<``, so it is linear
# and still spans lines, as tags do; a stray ``<`` before a tag (``a < b <i>``), which
# well-formed markup escapes, now stays in the text instead of going with the tag.
_MARKUP = re.compile(r"^\s{0,3}(#{1,6}|[-*+]|\d+\.|>)\s+|[`*_]{1,3}|<[^<>]+>", re.M)
MAX_JSON_ITEMS = 400  # keys and strings read from a JSON document


def text_format(text: str) -> str:
    """``json``, ``csv``, ``tsv``, ``markdown``, ``html``, ``xml``, ``code`` or ``txt``."""
    label = text_label(text, complete=True)
    if label in ("txt", "markdown") and _looks_like_code(text):
        return "code"
    return label


def _looks_like_code(text: str) -> bool:
    if text.lstrip().startswith("#!"):
        return True
    lines = [line for line in text.splitlines() if line.strip()][:60]
    if len(lines) < 3:
        return False
    coded = sum(1 for line in lines if _CODE_LINE.search(line))
    return coded >= CODE_SHARE * len(lines)


def _words(name: str) -> str:
    """``temp_max_c`` → ``temp max c``; ``homeTeam`` → ``home Team``."""
    return _IDENTIFIER_PARTS.sub(" ", name).strip()


def _json_lines(document: Any) -> list[str]:
    """A JSON document's keys and strings, ``key: value`` a line, depth first, at most
    ``MAX_JSON_ITEMS``.

    A loop over a stack of iterators, not recursion: a document nested thousands deep
    (the parser takes up to about 10,000) would exceed Python's recursion limit."""
    out: list[str] = []
    # Each entry yields (value, key) pairs: a dict's items under their own keys, a list's
    # items under the key of the list.
    stack: list[Iterator[tuple[Any, str]]] = [iter([(document, "")])]
    while stack and len(out) < MAX_JSON_ITEMS:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        value, key = entry
        if isinstance(value, dict):
            stack.append((item, _words(str(name))) for name, item in value.items())
        elif isinstance(value, list):
            stack.append(zip(value, repeat(key)))
        elif isinstance(value, str):
            out.append(f"{key}: {value}" if key else value)
        elif value is not None and not isinstance(value, bool) and key:
            out.append(f"{key}: {value}")
    return out


class _Lines:
    """The lines of a text, as csv.reader reads them, counting the characters read."""

    def __init__(self, text: str) -> None:
        # newline="": a lone "\r" ends a line (csv.reader raises on one mid-line), and
        # no line end is translated, so ``read`` counts characters of ``text``.
        self._lines = io.StringIO(text, newline="")
        self.read = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.read += len(line)
        return line


def _table_lines(text: str, delimiter: str) -> list[str]:
    """The header named and a row a line; from a row the csv module cannot read (a cell
    over its field size limit, 131,072 characters), the rest of the text as it is.

    The limit is not raised: ``csv.field_size_limit`` is one setting for the whole
    process, and the model reads a few hundred tokens, far fewer than one such cell."""
    lines = _Lines(text)
    reader = csv.reader(lines, delimiter=delimiter)
    rows: list[list[str]] = []
    rest = ""
    while True:
        start = lines.read
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error:
            rest = text[start:].strip()
            break
        if any(row):
            rows.append(row)
    if not rows:
        return [rest] if rest else []
    header = [_words(cell) for cell in rows[0]]
    table = ["A table of " + ", ".join(header) + "."]
    table += [", ".join(cell.strip() for cell in row) for row in rows[1:]]
    return [*table, rest] if rest else table


def readable_text(text: str, shape: str) -> str:
    """The words of ``text`` of shape ``shape`` (see the module docstring)."""
    if shape == "json":
        try:
            document = json.loads(text)
        except (ValueError, RecursionError):
            return text
        return "\n".join(_json_lines(document)) or text
    if shape in ("csv", "tsv"):
        return "\n".join(_table_lines(text, "," if shape == "csv" else "\t")) or text
    if shape in ("markdown", "html", "xml"):
        return _MARKUP.sub(" ", text)
    if shape == "code":
        return "Source code of a computer program: " + _words(text)
    return text
