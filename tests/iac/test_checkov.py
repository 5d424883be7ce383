"""checkov over bicep/, in its own virtual environment (`make checkov` creates it).

checkov's Bicep parser skips a file it cannot parse and still exits 0, so the run only
counts when it reports zero parsing errors and has scanned every file.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    if not CHECKOV.exists():
        pytest.skip("checkov is not installed: run `make checkov` (make test does)")
    # Without BC_SKIP_MAPPING checkov tries to download its guideline mapping.
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE"}
    completed = subprocess.run(
        [str(CHECKOV), "-d", "bicep", "--framework", "bicep", "-o", "json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    parsed = json.loads(completed.stdout)
    result: dict[str, Any] = parsed[0] if isinstance(parsed, list) else parsed
    return result


# Parses each file with checkov's own Bicep parser and names the ones it rejects.
_PARSE_ALL = """
import sys
from pathlib import Path
from pycep import BicepParser
for name in sys.argv[1:]:
    try:
        BicepParser().parse(file_path=Path(name))
    except Exception as exc:
        print(f"{name}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
"""


def test_checkov_reports_no_parsing_error(report: dict[str, Any]) -> None:
    assert report["summary"]["parsing_errors"] == 0


def test_checkov_parser_reads_every_bicep_file(report: dict[str, Any]) -> None:
    # checkov reports a file it skips only as a count; parsing each file with its
    # parser names the culprit, and catches a file checkov never tried.
    files = sorted(str(path) for path in (ROOT / "bicep").rglob("*.bicep"))
    completed = subprocess.run(
        [str(CHECKOV.with_name("python")), "-c", _PARSE_ALL, *files],
        capture_output=True,
        text=True,
        check=True,
    )
    assert completed.stdout == ""


def test_checkov_finds_no_failed_check(report: dict[str, Any]) -> None:
    failed = [
        f"{check['check_id']} {check['resource']}: {check['check_name']}"
        for check in report["results"]["failed_checks"]
    ]
    assert failed == []


def test_every_skipped_check_gives_a_reason(report: dict[str, Any]) -> None:
    unexplained = [
        f"{check['check_id']} {check['resource']}"
        for check in report["results"]["skipped_checks"]
        if len(check["check_result"].get("suppress_comment", "").strip()) < 20
    ]
    assert unexplained == []
