"""Every error of the ``prism`` command is one coded line on stderr and a non-zero exit,
never a traceback; paths and numbers are checked while the command line is parsed,
the same way in every sub-command."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

import prism_tools.commands.stack
from prism.errors import ConfigurationError
from prism_tools.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[2]
A_FILE = str(ROOT / "README.md")
MISSING = "/no/such/file.txt"
A_DIRECTORY = str(ROOT / "samples")


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Exit status and stderr of ``prism ARGV``, as the shell would see them."""
    try:
        code = main(argv)
    except SystemExit as exited:  # argparse's way out after a usage error
        code = int(exited.code or 0)
    return code, capsys.readouterr().err


def assert_one_coded_line(err: str, code: str, *fragments: str) -> None:
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"prism: error: {code}: "), err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, err)


# Per sub-command, a path or number argument given a value it would fail on later.
REFUSED = [
    (["submit", MISSING], "does not exist"),
    (["submit", A_DIRECTORY], "is a directory"),
    (["submit", A_FILE, "--timeout", "-1"], "greater than 0"),
    (["submit", A_FILE, "--timeout", "0"], "greater than 0"),
    (["submit", A_FILE, "--timeout", "inf"], "not a finite number"),
    (["submit", A_FILE, "--timeout", "soon"], "not a number"),
    (["infer", MISSING], "does not exist"),
    (["infer", A_DIRECTORY], "is a directory"),
    (["infer", "/dev/null"], "not a regular file"),
    (["search", "a cat", MISSING], "does not exist"),
    (["search", "a cat", A_FILE, "--limit", "0"], "at least 1"),
    (["cost", "--prices", MISSING], "does not exist"),
    (["cost", "--bench-dir", A_FILE], "is not a directory"),
    (["cost", "--instance-mb", "1024"], "invalid choice"),
    (["cost", "--instance-mb", "２０４８"], "digits 0-9"),
    (["cost", "--cache-hit-rate", "1"], "up to (not including) 1"),
    (["cost", "--cache-hit-rate", "nan"], "not a finite number"),
    (["cost", "--io-overlap", "0"], "at least 1"),
    (["plan", "--files-per-day", "0"], "from 1 to"),
    (["plan", "--peak-factor", "0.5"], "at least 1"),
    (["plan", "--speech-minutes-per-file", "-1"], "at least 0"),
    (["plan", "--results-ttl-days", "-5"], "digits 0-9"),
    (["plan", "--prices", A_DIRECTORY], "is a directory"),
    (["plan", "--bench-dir", MISSING], "does not exist"),
    (["plan", "--json", "--markdown"], "not allowed with argument --json"),
    (["lifecycle", "simulate", "--workload", MISSING], "does not exist"),
    (["lifecycle", "simulate", "--inventory", A_DIRECTORY], "is a directory"),
    (["lifecycle", "simulate", "--workload", A_FILE, "--days", "0"], "at least 1"),
    (["lifecycle", "simulate", "--workload", A_FILE, "--run-every", "x"], "digits 0-9"),
    (["lifecycle", "simulate", "--workload", A_FILE, "--plot", A_DIRECTORY], "is a directory"),
    (["lifecycle", "simulate", "--workload", A_FILE, "--plot", "/no/dir/a.png"], "not a dir"),
    (["lifecycle", "apply", "--policy", MISSING], "does not exist"),
    (["lifecycle", "apply", "--as-of", "yesterday"], "not a date"),
    (["migrate-results", "--page-size", "0"], "from 1 to 1000"),
    (["migrate-results", "--attempts", "0"], "at least 1"),
    (["up", "--settings", A_DIRECTORY], "is a directory"),
    (["status", "--state-dir", A_FILE], "is not a directory"),
    (["nonsense"], "invalid choice"),
    ([], "required"),
]


@pytest.mark.parametrize(("argv", "why"), REFUSED, ids=[" ".join(a) or "-" for a, _ in REFUSED])
def test_a_bad_path_or_number_is_refused_while_parsing_in_one_coded_line(
    argv: list[str], why: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Parsing only: no command runs, whatever it would start.
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(argv)

    assert exited.value.code == 2
    assert_one_coded_line(capsys.readouterr().err, "bad_request", why)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
def test_a_file_that_cannot_be_read_is_refused_before_the_command_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("x")
    secret.chmod(0)

    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["infer", str(secret)])

    assert exited.value.code == 2
    assert_one_coded_line(capsys.readouterr().err, "bad_request", "cannot be read")


def _arguments(parser: argparse.ArgumentParser, path: str = "prism") -> list[tuple[str, object]]:
    """(sub-command and option, its type) of every argument of every sub-command."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _arguments(sub, f"{path} {name}")
        elif action.option_strings or action.dest != "help":
            found.append((f"{path} {'/'.join(action.option_strings) or action.dest}", action.type))
    return found


def test_no_argument_of_any_sub_command_takes_an_unchecked_path_or_number() -> None:
    unchecked = [name for name, kind in _arguments(build_parser()) if kind in (Path, int, float)]

    assert unchecked == []


def test_a_file_gone_by_the_time_the_command_reads_it_is_one_coded_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def read_gone_file(args: argparse.Namespace) -> int:
        Path(MISSING).read_bytes()
        return 0

    monkeypatch.setattr(prism_tools.commands.stack, "run_status", read_gone_file)

    code, err = run(["status"], capsys)

    assert code == 2
    assert_one_coded_line(err, "bad_request", MISSING, "No such file or directory")


def test_an_unexpected_error_is_one_internal_line_and_traceback_shows_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(args: argparse.Namespace) -> int:
        raise KeyError("state")

    monkeypatch.setattr(prism_tools.commands.stack, "run_status", broken)

    code, err = run(["status"], capsys)

    assert code == 1
    assert_one_coded_line(err, "internal", "unexpected KeyError", "--traceback")
    with pytest.raises(KeyError):
        main(["--traceback", "status"])


def test_a_prism_error_from_a_command_is_its_own_coded_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def not_running(args: argparse.Namespace) -> int:
        raise ConfigurationError("the local stack is not running: start it with `prism up`")

    monkeypatch.setattr(prism_tools.commands.stack, "run_status", not_running)

    code, err = run(["status"], capsys)

    assert code == 2
    assert_one_coded_line(err, "bad_request", "the local stack is not running")


def test_a_search_for_no_words_is_one_coded_line_before_any_model_loads(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, err = run(["search", "\u200b", A_FILE], capsys)

    assert code == 2
    assert_one_coded_line(err, "bad_request", "QUERY", "a letter or a digit")
