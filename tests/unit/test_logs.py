from __future__ import annotations

import io
import logging

from prism_local.logs import OneLineMessages, one_line


def test_a_hostile_name_cannot_forge_a_log_line() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(OneLineMessages())
    logger = logging.getLogger("tests.logs.forge")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        name = "a.txt\n2026-01-01 00:00:00 prism ERROR forged\tline\x1b[31m\u202e"
        logger.warning("queued %s", name)
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue()
    assert written.count("\n") == 1  # the record's own line end only
    assert "\t" not in written and "\x1b" not in written and "\u202e" not in written
    assert "\\x0a2026-01-01" in written and "\\u202e" in written


def test_tracebacks_keep_their_lines() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(OneLineMessages())
    logger = logging.getLogger("tests.logs.traceback")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("failed on %s", "x\ny")
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "failed on x\\x0ay"
    assert lines[1] == "Traceback (most recent call last):"


def test_printable_text_is_unchanged() -> None:
    assert one_line("photo (1) — café.jpg") == "photo (1) — café.jpg"
