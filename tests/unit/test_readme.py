"""The README stays true: two Quick start commands, CI runs the second, and every
command and setting it shows exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from prism.cli import build_parser
from prism.settings import Env

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


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
    sorted(set(re.findall(r"\.venv/bin/prism ([a-z-]+(?: [a-z]+(?![.\w]))?)", README))),
)
def test_every_prism_command_in_the_readme_exists(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # --help exits 0 for a known command and 2 (usage error) for an unknown one.
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args([*command.split(), "--help"])
    capsys.readouterr()
    assert exited.value.code == 0, command


def test_every_setting_in_the_readme_is_one_prism_reads() -> None:
    known = {value for name, value in vars(Env).items() if name.isupper()}
    pattern = r"`((?:PRISM|APPLICATIONINSIGHTS)_[A-Z_]*[A-Z](?:__[A-Za-z]+)?)"
    for setting in set(re.findall(pattern, README)):
        assert setting in known, setting
