"""``prism results`` asks the same queries as ``GET /api/v1/results``: its options become
the API's query parameters, parsed by the same strict parsers."""

from __future__ import annotations

import pytest

from prism_tools.cli import build_parser, main
from prism_tools.commands.results import params_of


def parsed(*argv: str) -> dict[str, str]:
    return params_of(build_parser().parse_args(["results", *argv]))


def test_every_option_becomes_the_query_parameter_of_the_same_name() -> None:
    assert parsed(
        "--modality", "text", "--status", "rejected", "--error-code", "corrupt",
        "--since", "2026-11-30", "--until", "2026-12-01T00:00Z", "--prefix", "batch/",
        "--limit", "50", "--continuation", "abc",
    ) == {
        "modality": "text", "status": "rejected", "error_code": "corrupt",
        "since": "2026-11-30", "until": "2026-12-01T00:00Z", "prefix": "batch/",
        "limit": "50", "continuation": "abc",
    }  # fmt: skip
    assert parsed("--blob", "a.txt", "--latest") == {"blob": "a.txt"}  # a flag, not a filter
    assert parsed() == {}


def test_a_lookup_by_name_takes_a_blob_and_nothing_else(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["results", "--latest", "--blob", "a", "--prefix", "b"]) == 2
    assert "--latest takes --blob and no other filter" in capsys.readouterr().err


def test_following_every_page_cannot_start_from_a_token_or_a_lookup(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["results", "--all", "--continuation", "abc"]) == 2
    assert "--all lists from the start" in capsys.readouterr().err
