"""`prism lifecycle simulate` end to end through the CLI."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from prism.commands import lifecycle
from prism.errors import ConfigurationError
from prism.lifecycle.workload import EXAMPLE_WORKLOAD_PATH

INVENTORY = Path(__file__).parents[2] / "fixtures" / "lifecycle" / "inventory.csv"


def run(*argv: str) -> int:
    """Parse and run like `prism` does, with only this module's commands registered."""
    parser = argparse.ArgumentParser(prog="prism")
    lifecycle.register(parser.add_subparsers(required=True))
    args = parser.parse_args(["lifecycle", *argv])
    code: int = args.handler(args)
    return code


def test_simulate_workload_prints_a_json_report_and_writes_the_plot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plot = tmp_path / "year.png"

    code = run(
        *("simulate", "--workload", str(EXAMPLE_WORKLOAD_PATH), "--days", "90"),
        *("--json", "--plot", str(plot)),
    )

    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert len(report["per_day"]) == 90
    assert report["policy"]["final"]["Cold"]["gigabytes"] > 0
    assert report["baseline_all_hot"]["final"]["Cold"]["gigabytes"] == 0
    assert plot.read_bytes().startswith(b"\x89PNG")


def test_simulate_inventory_prints_the_summary(capsys: pytest.CaptureFixture[str]) -> None:
    code = run("simulate", "--inventory", str(INVENTORY), "--days", "30")

    output = capsys.readouterr().out
    assert code == 0
    assert "all hot" in output
    assert "deleted by the policy: 1 blobs" in output


def test_simulate_with_a_broken_policy_raises_the_problem(tmp_path: Path) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text('{"rules": [], "extra": 1}', encoding="utf-8")

    with pytest.raises(ConfigurationError, match="extra"):
        run("simulate", "--policy", str(policy), "--inventory", str(INVENTORY))
