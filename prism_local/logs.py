"""Log records that cannot forge or disguise log lines.

Blob names, HTTP paths and message ids come from outside; a name with a line break
would write a forged line into the log (``...\\n2026-01-01 ERROR ...``), a tab or an
ANSI escape would shift or recolour it, and a bidi override would disguise it.
:class:`OneLineMessages` escapes them in every record's message at the handler, so no
call site has to remember to; tracebacks (added after the message) keep their lines.
"""

from __future__ import annotations

import logging

# C0 and C1 controls, DEL, the Unicode line and paragraph separators, and the bidi
# embedding, override and isolate characters.
_UNSAFE = (*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029, *range(0x202A, 0x202F),
           *range(0x2066, 0x206A))  # fmt: skip
_ESCAPES = {code: f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" for code in _UNSAFE}


def one_line(text: str) -> str:
    """``text`` with every character that could break or disguise a log line escaped."""
    return text.translate(_ESCAPES)


class OneLineMessages(logging.Filter):
    """Escapes each record's formatted message (its arguments included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = one_line(record.getMessage())
        record.args = None
        return True


def configure_logging(level: int = logging.INFO) -> None:
    """Root logging for Prism's own processes (the local host, the CLI)."""
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, OneLineMessages) for f in handler.filters):
            handler.addFilter(OneLineMessages())
    # The SDKs log every request at INFO.
    logging.getLogger("azure").setLevel(logging.WARNING)
