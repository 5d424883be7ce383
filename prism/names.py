"""File names from outside (an upload's path, the HTTP ``name`` parameter) made safe to
store and to log: the last path segment only, with every character that is not a
letter, digit, ``_``, ``.``, ``-`` or space replaced. Control characters would forge log
lines, bidi overrides (U+202E) disguise an extension, separators and ``..`` escape a
container's flat namespace."""

from __future__ import annotations

import re

_UNSAFE_NAME = re.compile(r"[^\w.\- ]+")
MAX_NAME_CHARS = 200


def safe_file_name(name: str, default: str = "file") -> str:
    """The last segment of ``name`` (``/`` or ``\\`` separated), made safe; ``default``
    when nothing readable remains."""
    last = re.split(r"[/\\]", name)[-1]
    return (_UNSAFE_NAME.sub("_", last).strip(" ._") or default)[:MAX_NAME_CHARS]
