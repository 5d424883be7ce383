"""`prism demo` prints where the console is, with the local key the page passes on."""

from __future__ import annotations

import pytest

from prism_tools.commands.pipeline import console_url


def test_the_console_address_carries_the_local_function_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PRISM_FUNCTION_KEY", "local-dev-key")
    assert console_url("http://127.0.0.1:7071") == (
        "http://127.0.0.1:7071/api/console?code=local-dev-key"
    )


def test_a_key_with_reserved_characters_is_encoded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRISM_FUNCTION_KEY", "a/b+c==")
    assert console_url("http://h:1").endswith("/api/console?code=a%2Fb%2Bc%3D%3D")
