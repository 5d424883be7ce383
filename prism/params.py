"""Numbers that arrive from outside as text (query parameters, headers), parsed strictly.

``str.isdigit`` and ``int`` accept far more than ASCII digits: ``'²'.isdigit()`` is true
(and ``int('²')`` fails), ``int('１０')`` (fullwidth) and ``int('١٠')`` (Arabic-Indic) are
10, and ``int(' 1_0 ')`` is 10. An HTTP number is ASCII digits only.
"""

from __future__ import annotations

import re

from prism.errors import ErrorCode, PermanentError

_ASCII_DIGITS = re.compile(r"[0-9]{1,18}")


def is_ascii_number(raw: str) -> bool:
    """Whether ``raw`` is 1 to 18 ASCII digits and nothing else."""
    return _ASCII_DIGITS.fullmatch(raw) is not None


def parse_bounded_int(raw: str, name: str, minimum: int, maximum: int) -> int:
    """``raw`` as a whole number in ``[minimum, maximum]``, or a coded bad request."""
    if not is_ascii_number(raw):
        raise PermanentError(
            ErrorCode.BAD_REQUEST, f"{name} must be a whole number written in digits 0-9"
        )
    value = int(raw)
    if not minimum <= value <= maximum:
        raise PermanentError(
            ErrorCode.BAD_REQUEST, f"{name} must be between {minimum} and {maximum}: {value}"
        )
    return value
