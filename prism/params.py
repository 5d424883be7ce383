"""Values that arrive from outside as text (query parameters, headers), parsed strictly:
numbers, choices from a fixed list, UTC times and free text.

``str.isdigit`` and ``int`` accept far more than ASCII digits: ``'²'.isdigit()`` is true
(and ``int('²')`` fails), ``int('１０')`` (fullwidth) and ``int('١٠')`` (Arabic-Indic) are
10, and ``int(' 1_0 ')`` is 10. An HTTP number is ASCII digits only.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime

from prism.errors import ErrorCode, PermanentError

# The query parameter that may carry a function key (the Functions host's, not a route's:
# every keyed route accepts it beside its own).
KEY_PARAMETER = "code"
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


def parse_choice(raw: str, name: str, choices: Sequence[str]) -> str:
    """``raw`` if it is exactly one of ``choices`` (case and all), else a coded bad request."""
    if raw not in choices:
        raise PermanentError(ErrorCode.BAD_REQUEST, f"{name} must be one of {', '.join(choices)}")
    return raw


# What a caller may write for a time: a date, or a date and time in UTC ("Z" or
# "+00:00"), seconds and up to six decimals optional. Nothing else: no local times,
# no week dates, no other offsets, no Unicode digits.
_TIMESTAMP = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})"
    r"(?:T(?P<time>[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?)(?:Z|\+00:00))?"
)


def parse_timestamp(raw: str, name: str) -> str:
    """A UTC time from a caller, in the form result documents store
    (``2026-11-30T16:08:55.123Z``), so it compares as text with theirs."""
    match = _TIMESTAMP.fullmatch(raw)
    if match is None:
        raise PermanentError(
            ErrorCode.BAD_REQUEST,
            f"{name} must be a UTC date or time like 2026-11-30 or 2026-11-30T16:08:55Z",
        )
    text = match["date"] + ("T" + match["time"] if match["time"] else "")
    try:
        moment = datetime.fromisoformat(text).replace(tzinfo=UTC)
    except ValueError:
        raise PermanentError(ErrorCode.BAD_REQUEST, f"{name} is not a real date or time") from None
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_text(raw: str, name: str, max_length: int) -> str:
    """Free text from a caller (a blob name, a prefix): 1 to ``max_length`` characters,
    none of them a control character, a line or paragraph separator or a lone surrogate
    (no blob name holds one; in a log line they would forge another)."""
    if not 1 <= len(raw) <= max_length:
        raise PermanentError(
            ErrorCode.BAD_REQUEST, f"{name} must be 1 to {max_length} characters long"
        )
    if any(unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp") for ch in raw):
        raise PermanentError(ErrorCode.BAD_REQUEST, f"{name} must not contain control characters")
    return raw
