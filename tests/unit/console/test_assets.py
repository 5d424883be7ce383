"""The console's page and files: what the page links to exists, the key and paths are
escaped into it, nothing comes from another origin, and no name climbs out."""

from __future__ import annotations

import re

import pytest

from prism.console.assets import (
    SECURITY_HEADERS,
    STATIC_DIR,
    asset,
    asset_names,
    page,
)
from prism.errors import PermanentError


def test_the_page_links_its_files_under_its_own_path_with_the_key() -> None:
    html = page("/api/console", "local-dev-key").body.decode()
    linked = re.findall(r'(?:href|src)="(/[^"]+)"', html)
    assert linked == [
        "/api/console/favicon.svg?code=local-dev-key",
        "/api/console/console.css?code=local-dev-key",
        "/api/console/console.js?code=local-dev-key",
    ]
    assert 'data-api="/api"' in html
    assert "{{" not in html


def test_a_trailing_slash_does_not_move_the_files() -> None:
    assert page("/api/console/", None).body == page("/api/console", None).body


def test_a_hostile_key_cannot_break_out_of_the_attribute() -> None:
    html = page("/api/console", '"><script>alert(1)</script>').body.decode()
    assert "<script>alert" not in html
    assert "?code=%22%3E%3Cscript%3Ealert%281%29%3C%2Fscript%3E" in html


def test_every_linked_file_is_served_with_its_content_type() -> None:
    html = page("/api/console", None).body.decode()
    for name in re.findall(r'/api/console/([\w.]+)"', html):
        assert name in asset_names()
    assert asset("console.js").content_type.startswith("text/javascript")
    assert asset("console.css").content_type.startswith("text/css")
    assert asset("favicon.svg").content_type == "image/svg+xml"


@pytest.mark.parametrize("name", ["../assets.py", "index.html", "..", "assets.py", ""])
def test_names_outside_the_served_set_are_not_found(name: str) -> None:
    with pytest.raises(PermanentError) as raised:
        asset(name)
    assert raised.value.code.value == "not_found"


def test_the_console_fetches_nothing_from_another_origin() -> None:
    for path in STATIC_DIR.iterdir():
        text = path.read_text(encoding="utf-8")
        # The SVG namespace is an identifier, never fetched.
        urls = set(re.findall(r"https?://[^\s\"'`)]+", text)) - {"http://www.w3.org/2000/svg"}
        assert urls == set(), path.name
    policy = SECURITY_HEADERS["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy


def test_the_page_uses_no_inline_script_or_style_the_policy_would_block() -> None:
    html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
    assert "<style" not in html and " style=" not in html and " on" not in html.lower()
