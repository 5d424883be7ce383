"""`prism lifecycle simulate` end to end through the CLI, and `apply`'s days (UTC)."""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient

from prism.errors import ConfigurationError
from prism.lifecycle.workload import EXAMPLE_WORKLOAD_PATH, inventory_start
from prism_tools.commands import lifecycle

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


def test_apply_runs_on_the_utc_date_whatever_the_machines_time_zone(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import prism_tools.lifecycle.apply

    monkeypatch.setattr(BlobServiceClient, "from_connection_string", lambda *_: None)
    monkeypatch.setattr(prism_tools.lifecycle.apply, "list_blob_states", lambda *_: [])
    zone = os.environ.get("TZ")
    try:
        # UTC+14 and UTC-12: at any hour, one of them is on another date than UTC.
        for local in ("Etc/GMT-14", "Etc/GMT+12"):
            os.environ["TZ"] = local
            time.tzset()
            before = datetime.now(UTC).date()
            assert run("apply", "--dry-run") == 0
            after = datetime.now(UTC).date()
            as_of = date.fromisoformat(capsys.readouterr().out.rsplit(" as of ", 1)[1].strip())
            assert as_of in (before, after), local
    finally:
        if zone is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = zone
        time.tzset()


def test_an_inventory_time_with_an_offset_counts_on_its_utc_day(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.csv"
    inventory.write_text(
        "Name,Creation-Time,Last-Modified,Content-Length,AccessTier\n"
        "incoming/a.jpg,2026-12-01T01:00:00+02:00,2026-12-01T01:00:00+02:00,1024,Hot\n",
        encoding="utf-8",
    )

    assert inventory_start(inventory) == date(2026, 11, 30)
