"""The smallest pieces of the HTTP contract, light enough for the local host and the
CLI: the function key's query parameter, and what a number written in text is (routes
parse their parameters with their models: prism.http_contract).

``str.isdigit`` and ``int`` accept far more than ASCII digits: ``'²'.isdigit()`` is true
(and ``int('²')`` fails), ``int('１０')`` (fullwidth) and ``int('١٠')`` (Arabic-Indic) are
10, and ``int(' 1_0 ')`` is 10. An HTTP number is ASCII digits only.
"""

from __future__ import annotations

import re

# The query parameter that may carry a function key (the Functions host's, not a route's:
# every keyed route accepts it beside its own).
KEY_PARAMETER = "code"
_ASCII_DIGITS = re.compile(r"[0-9]{1,18}")


def is_ascii_number(raw: str) -> bool:
    """Whether ``raw`` is 1 to 18 ASCII digits and nothing else."""
    return _ASCII_DIGITS.fullmatch(raw) is not None
