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
from typing import Any

from prism.routing.text import text_label

# The version of this preprocessing: part of the text model's configuration digest, so
# no cache serves labels made the other way.
SHAPE_VERSION = "shape-1"
CODE_SHARE = 0.5  # of the non-blank lines (at most the first 60)
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
    | \w\([^)]*\)\s*;?\s*$
    """,
    re.X,
)
_IDENTIFIER_PARTS = re.compile(r"(?<=[a-z])(?=[A-Z])|_+")
_MARKUP = re.compile(r"^\s{0,3}(#{1,6}|[-*+]|\d+\.|>)\s+|[`*_]{1,3}|<[^>]+>", re.M)
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


def _json_lines(value: Any, key: str, out: list[str]) -> None:
    if len(out) >= MAX_JSON_ITEMS:
        return
    if isinstance(value, dict):
        for name, item in value.items():
            _json_lines(item, _words(str(name)), out)
    elif isinstance(value, list):
        for item in value:
            _json_lines(item, key, out)
    elif isinstance(value, str):
        out.append(f"{key}: {value}" if key else value)
    elif value is not None and not isinstance(value, bool) and key:
        out.append(f"{key}: {value}")


def _table_lines(text: str, delimiter: str) -> list[str]:
    rows = [row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if any(row)]
    if not rows:
        return []
    header = [_words(cell) for cell in rows[0]]
    lines = ["A table of " + ", ".join(header) + "."]
    lines += [", ".join(cell.strip() for cell in row) for row in rows[1:]]
    return lines


def readable_text(text: str, shape: str) -> str:
    """The words of ``text`` of shape ``shape`` (see the module docstring)."""
    if shape == "json":
        try:
            document = json.loads(text)
        except (ValueError, RecursionError):
            return text
        lines: list[str] = []
        _json_lines(document, "", lines)
        return "\n".join(lines) or text
    if shape in ("csv", "tsv"):
        return "\n".join(_table_lines(text, "," if shape == "csv" else "\t")) or text
    if shape in ("markdown", "html", "xml"):
        return _MARKUP.sub(" ", text)
    if shape == "code":
        return "Source code of a computer program: " + _words(text)
    return text
