"""The README and docs/ stay true: two Quick start commands, CI runs the second, every
command and setting a page shows exists, every link leads somewhere, and the README
stays a short introduction that links every page of docs/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from prism.settings import Env
from prism_tools.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
README_LINES = 200
# The README and every page of docs/, by path: the commands and settings that moved from
# the README to docs/ stay checked there.
PAGES = {
    path.relative_to(ROOT).as_posix(): path.read_text(encoding="utf-8")
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
}


def quick_start_commands() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None, "the Quick start has no sh block"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_quick_start_has_exactly_two_commands() -> None:
    assert quick_start_commands() == ["make demo", "make test"]


def test_ci_runs_the_second_quick_start_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert f"exec {quick_start_commands()[1]}" in ci


def test_both_commands_are_make_targets() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for command in quick_start_commands():
        target = command.split()[1]
        assert re.search(rf"^{target}:", makefile, re.M), target


@pytest.mark.parametrize(
    # A sub-command and its action ("lifecycle simulate"), never a file it is given
    # ("submit photo.jpg": argparse checks that a file exists before it sees --help).
    "command",
    sorted(
        {
            command
            for text in PAGES.values()
            for command in re.findall(r"\.venv/bin/prism ([a-z-]+(?: [a-z]+(?![.\w]))?)", text)
        }
    ),
)
def test_every_prism_command_in_the_readme_and_docs_exists(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # --help exits 0 for a known command and 2 (usage error) for an unknown one.
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args([*command.split(), "--help"])
    capsys.readouterr()
    assert exited.value.code == 0, command


def test_every_setting_in_the_readme_and_docs_is_one_prism_reads() -> None:
    known = {value for name, value in vars(Env).items() if name.isupper()}
    # The platform's setting, not Prism's: the Bicep sets it (docs/deploy.md) so that
    # telemetry is sent with the identity's Entra token.
    known.add("APPLICATIONINSIGHTS_AUTHENTICATION_STRING")
    pattern = r"`((?:PRISM|APPLICATIONINSIGHTS)_[A-Z_]*[A-Z](?:__[A-Za-z]+)?)"
    named = {(page, name) for page, text in PAGES.items() for name in re.findall(pattern, text)}
    assert ("docs/configuration.md", "PRISM_SHARED_CACHE") in named  # the pattern finds them
    assert sorted((page, name) for page, name in named if name not in known) == []


def test_the_readme_is_a_short_introduction_that_links_every_docs_page() -> None:
    assert len(README.splitlines()) <= README_LINES
    linked = set(re.findall(r"\]\((docs/[\w-]+\.md)(?:#[\w-]+)?\)", README))
    assert sorted(page for page in PAGES if page.startswith("docs/") and page not in linked) == []


def anchors(page: str) -> set[str]:
    """The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces
    as hyphens, a repeated heading numbered (-1, -2…)."""
    found: set[str] = set()
    for heading in re.findall(r"^#+ (.+)$", page, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        numbered, repeats = slug, 0
        while numbered in found:
            repeats += 1
            numbered = f"{slug}-{repeats}"
        found.add(numbered)
    return found


def test_every_relative_link_of_the_readme_and_docs_leads_somewhere() -> None:
    broken: list[tuple[str, str]] = []
    for page, text in PAGES.items():
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue  # https:, mailto:: not this test's to fetch
            path, _, anchor = target.partition("#")
            linked = (ROOT / page).parent / path if path else ROOT / page
            if not linked.exists() or (
                anchor
                and linked.suffix == ".md"
                and anchor not in anchors(linked.read_text(encoding="utf-8"))
            ):
                broken.append((page, target))
    assert broken == []
