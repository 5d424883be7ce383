"""The console's page and static files, read from ``static/`` inside the package."""

from __future__ import annotations

import html
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import quote

from prism.errors import ErrorCode, PermanentError

STATIC_DIR = Path(__file__).resolve().parent / "static"
PAGE = "index.html"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
# Only files from this origin, no inline script or style: an injected string in a
# result (a file name, a label) can never run. The key travels in the page's URL, so
# no Referer may carry it elsewhere.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Content-Type": self.content_type, **SECURITY_HEADERS}


@cache
def asset_names() -> frozenset[str]:
    """The files the asset route may serve: a fixed set, so no name can climb out."""
    return frozenset(
        path.name
        for path in STATIC_DIR.iterdir()
        if path.is_file() and path.name != PAGE and path.suffix in CONTENT_TYPES
    )


def page(path: str, key: str | None) -> Asset:
    """The console's HTML. ``path`` is the page's own URL path (``/api/console``): the
    assets live under it and the API beside it, whatever the host's route prefix.
    A browser sends no header with ``<script src>``, so asset URLs carry the key."""
    base = path.rstrip("/") or "/"
    query = f"?code={quote(key, safe='')}" if key else ""
    text = (STATIC_DIR / PAGE).read_text(encoding="utf-8")
    for placeholder, value in (
        ("{{assets}}", base),
        ("{{api}}", base.rsplit("/", 1)[0]),
        ("{{query}}", query),
    ):
        text = text.replace(placeholder, html.escape(value))
    return Asset(text.encode(), CONTENT_TYPES[".html"])


def asset(name: str) -> Asset:
    if name not in asset_names():
        raise PermanentError(ErrorCode.NOT_FOUND, f"the console has no file {name!r}")
    path = STATIC_DIR / name
    return Asset(path.read_bytes(), CONTENT_TYPES[path.suffix])
