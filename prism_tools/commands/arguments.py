"""What every ``prism`` sub-command shares: its parser, the one-line form of an error,
and the argument types that check paths and numbers while the command line is parsed.

Every error the CLI reports is one line on stderr, ``prism: error: <code>: <message>``
(the codes of :class:`prism.errors.ErrorCode`), and a non-zero exit — a usage error
from argparse included. An argument is checked by its ``type`` where argparse can:
a file to read exists, is a regular file and opens; a number is written in ASCII
digits, finite and within its range. A command then never starts on an argument it
would fail on half-way.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import NoReturn

from prism.errors import ErrorCode
from prism.params import is_ascii_number


def error_line(code: ErrorCode, message: str) -> str:
    """The CLI's form of an error: one line (a message's own line breaks are folded)."""
    return f"prism: error: {code.value}: {' '.join(message.split())}"


def print_error(code: ErrorCode, message: str) -> None:
    print(error_line(code, message), file=sys.stderr)


class CommandLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one coded line, like every other
    error of the CLI. Sub-command parsers are of the same class (argparse makes them
    with ``type(parent)``)."""

    def error(self, message: str) -> NoReturn:
        print_error(ErrorCode.BAD_REQUEST, f"{message} (see `{self.prog} --help`)")
        self.exit(2)


# ---- paths ----------------------------------------------------------------------------


def _unusable(path: Path, why: str) -> argparse.ArgumentTypeError:
    return argparse.ArgumentTypeError(f"{str(path)!r} {why}")


def readable_file(text: str) -> Path:
    """A file the command will read: it exists, is a regular file (or a link to one)
    and this user can open it."""
    path = Path(text)
    if not path.exists():
        raise _unusable(path, "does not exist")
    if path.is_dir():
        raise _unusable(path, "is a directory, not a file")
    if not path.is_file():
        raise _unusable(path, "is not a regular file")
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise _unusable(path, f"cannot be read: {exc.strerror or exc}") from exc
    return path


def readable_directory(text: str) -> Path:
    """A directory the command will read files from: it exists and can be listed."""
    path = Path(text)
    if not path.exists():
        raise _unusable(path, "does not exist")
    if not path.is_dir():
        raise _unusable(path, "is not a directory")
    try:
        next(path.iterdir(), None)
    except OSError as exc:
        raise _unusable(path, f"cannot be read: {exc.strerror or exc}") from exc
    return path


def output_file(text: str) -> Path:
    """A file the command will write: not a directory, in a directory that exists."""
    path = Path(text)
    if path.is_dir():
        raise _unusable(path, "is a directory, not a file")
    if path.exists() and not path.is_file():
        raise _unusable(path, "is not a regular file")
    if not path.parent.is_dir():
        raise _unusable(path, f"is in {str(path.parent)!r}, which is not a directory")
    return path


def file_read_or_created(text: str) -> Path:
    """A file the command reads if it is there and creates if it is not."""
    path = Path(text)
    return readable_file(text) if path.exists() else output_file(text)


def directory_used_or_created(text: str) -> Path:
    """A directory the command keeps its files in, created if missing: if something is
    there already, it must be a directory."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise _unusable(path, "is not a directory")
    return path


# ---- numbers and dates ----------------------------------------------------------------


def _whole(text: str) -> int:
    # ASCII digits only, as for the HTTP API (prism.params): int() also takes '１０',
    # '١٠' and ' 1_0 '.
    if not is_ascii_number(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number written in digits 0-9")
    return int(text)


def _finite(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def whole_number(text: str) -> int:
    """A whole number >= 0 (a choice list, if any, bounds it further)."""
    return _whole(text)


def positive_int(text: str) -> int:
    value = _whole(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def int_between(minimum: int, maximum: int) -> Callable[[str], int]:
    def between(text: str) -> int:
        value = _whole(text)
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(f"must be from {minimum} to {maximum}, got {value}")
        return value

    between.__name__ = f"int_between_{minimum}_and_{maximum}"
    return between


def positive_number(text: str) -> float:
    """A finite number greater than 0 (a timeout, a factor)."""
    value = _finite(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number greater than 0, got {text!r}")
    return value


def non_negative_number(text: str) -> float:
    value = _finite(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a number of at least 0, got {text!r}")
    return value


def at_least_one(text: str) -> float:
    """A finite number >= 1 (a peak over an average)."""
    value = _finite(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a number of at least 1, got {text!r}")
    return value


def fraction(text: str) -> float:
    """A share: 0 <= value < 1."""
    value = _finite(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be from 0 up to (not including) 1, got {text!r}")
    return value


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from exc
