"""File names from outside (an upload's path, the HTTP ``name`` parameter) made safe to
store and to log: the last path segment only, with every character that is not a
letter, digit, ``_``, ``.``, ``-`` or space replaced. Control characters would forge log
lines, bidi overrides (U+202E) disguise an extension, separators and ``..`` escape a
container's flat namespace."""

from __future__ import annotations

import re

_UNSAFE_NAME = re.compile(r"[^\w.\- ]+")
MAX_NAME_CHARS = 200

# Azure Storage's rule for a container name and for a queue name: 3 to 63 lowercase
# letters, digits and single hyphens, a letter or digit at each end ($root and $web are
# the special containers). Python's engine: the rule needs a lookahead.
STORAGE_NAME = r"(?:[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62})"
CONTAINER_NAME = rf"^(?:\$root|\$web|{STORAGE_NAME})$"
QUEUE_NAME = rf"^{STORAGE_NAME}$"
# Where the Functions host moves a queue's messages after maxDequeueCount failures:
# the queue's name and this.
POISON_SUFFIX = "-poison"
# Cosmos DB's rule for a database or container id: 1 to 255 characters, none of / \ # ?.
COSMOS_NAME = r"^[^/\\#?]{1,255}$"


def safe_file_name(name: str, default: str = "file") -> str:
    """The last segment of ``name`` (``/`` or ``\\`` separated), made safe; ``default``
    when nothing readable remains."""
    last = re.split(r"[/\\]", name)[-1]
    return (_UNSAFE_NAME.sub("_", last).strip(" ._") or default)[:MAX_NAME_CHARS]
