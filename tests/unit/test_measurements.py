"""``prism plan`` and ``prism cost`` on a fresh clone: with no benchmark results of this
machine (bench/results) they answer from the reference results the project ships
(bench/reference, one ``make bench`` run on the project's machine) and say so; once
``make bench`` has written this machine's own, they use those and say that."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

import prism_tools.commands.measurements
from prism_tools.cli import main
from prism_tools.commands.measurements import OPTIONAL, REFERENCE_DIR, REQUIRED, measurements

ELSEWHERE = {"cpu": "A test machine", "cores": 64, "memory_gib": 256.0,
             "started": "2031-01-02T03:04:05+00:00"}  # fmt: skip


@pytest.fixture
def local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty bench/results: a fresh clone, or `make clean`."""
    directory = tmp_path / "results"
    directory.mkdir()
    monkeypatch.setattr(prism_tools.commands.measurements, "LOCAL_DIR", directory)
    return directory


def reference_file(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((REFERENCE_DIR / name).read_text("utf-8"))
    return document


def slower_copy_of_the_reference(directory: Path) -> None:
    """Every results file of the reference, measured 'elsewhere' on a machine where the
    batched modalities run at half the rate."""
    for name in (*REQUIRED, *OPTIONAL):
        document = reference_file(name)
        document["machine"] = ELSEWHERE
        if name == "batching.json":
            for row in document["comparison"]:
                row["on_items_per_s"] /= 2
                row["off_items_per_s"] /= 2
        (directory / name).write_text(json.dumps(document), "utf-8")


def plan_json(capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
    assert main(["plan", "--json", "--files-per-day", "1000000", *extra]) == 0
    document: dict[str, Any] = json.loads(capsys.readouterr().out)
    return document


def test_the_reference_holds_every_file_plan_and_cost_read_each_dated_with_its_machine() -> None:
    for name in (*REQUIRED, *OPTIONAL):
        machine = reference_file(name)["machine"]
        assert machine["cpu"] and machine["cores"] and machine["memory_gib"], name
        assert machine["started"] >= "2026-12-05", name
        assert "quick" not in reference_file(name), name  # a full run's figures


def test_without_local_results_the_plan_answers_from_the_reference_and_says_so(
    local: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = plan_json(capsys)
    source = document["measurements"]
    assert source["source"] == "reference"
    assert source["directory"] == "bench/reference"
    assert source["recorded"] == reference_file("pipeline.json")["machine"]["started"][:10]
    assert reference_file("pipeline.json")["machine"]["cpu"] in source["machine"]
    assert set(source["files"]) == {*REQUIRED, *OPTIONAL}
    assert source["note"] is None
    assert document["plans"][0]["instances"]["total"] >= 1

    assert main(["plan", "--files-per-day", "1000000"]) == 0
    text = capsys.readouterr().out
    assert "Measurements: the project's reference benchmark results (bench/reference of " in text
    assert "Run `make bench` to plan from this machine's own." in text


def test_with_local_results_the_plan_uses_them_and_says_so(
    local: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from_reference = plan_json(capsys)["plans"][0]
    slower_copy_of_the_reference(local)
    document = plan_json(capsys)
    assert document["measurements"] == {
        "source": "local",
        "directory": str(local),
        "recorded": "2031-01-02",
        "machine": "A test machine, 64 cores, 256.0 GiB",
        "files": [*REQUIRED, *OPTIONAL],
        "note": None,
    }
    mine = document["plans"][0]
    # Half the measured rate: more CPU per file, so more instances and compute.
    assert mine["instances"]["total"] > from_reference["instances"]["total"]
    assert mine["monthly_cost"]["compute"] > from_reference["monthly_cost"]["compute"]

    assert main(["plan", "--files-per-day", "1000000"]) == 0
    text = capsys.readouterr().out
    assert f"Measurements: local benchmark results ({local} of 2031-01-02 on A test" in text
    assert "Run `make bench`" not in text


def test_partial_local_results_leave_the_plan_on_the_reference_and_it_says_why(
    local: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(REFERENCE_DIR / "media.json", local / "media.json")
    source = plan_json(capsys)["measurements"]
    assert source["source"] == "reference"
    assert "media.json but not batching.json, models.json, pipeline.json" in source["note"]


def test_a_bench_dir_given_is_used_as_it_is(
    local: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    given = tmp_path / "given"
    given.mkdir()
    slower_copy_of_the_reference(given)
    source = plan_json(capsys, "--bench-dir", str(given))["measurements"]
    assert (source["source"], source["directory"]) == ("local", str(given))
    (given / "pipeline.json").unlink()  # what it lacks is an error, never the reference
    assert main(["plan", "--bench-dir", str(given)]) == 2
    assert "pipeline.json is missing: run `make bench` first" in capsys.readouterr().err


def test_the_reference_named_as_the_bench_dir_is_called_the_reference(
    local: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    slower_copy_of_the_reference(local)  # present, but not what was asked for
    source = plan_json(capsys, "--bench-dir", "bench/reference")["measurements"]
    assert (source["source"], source["directory"]) == ("reference", "bench/reference")


def test_the_markdown_plan_is_the_text_plans_rows_and_brief_keeps_what_to_deploy(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def printed(*extra: str) -> list[str]:
        assert main(["plan", "--bench-dir", "bench/reference", *extra]) == 0
        return capsys.readouterr().out.splitlines()

    text, markdown, brief = printed(), printed("--markdown"), printed("--markdown", "--brief")
    rows = [line.split("|")[1].strip() for line in markdown if line.startswith("| ")][2:]
    labels = [line[: line.index("  ")] for line in text[2 : 2 + len(rows)]]
    assert rows and rows == labels  # every row, in the same order, under a header
    kept = [line.split("|")[1].strip() for line in brief if line.startswith("| ")][2:]
    assert kept == [
        "files per second, average / peak",
        "instances at the peak: all",
        "binds first",
        "scale preset (Bicep scalePreset)",
        "USD a month: total",
    ]
    assert markdown[-1] == brief[-1] == text[-1]  # which measurements, last


def test_the_simulated_day_says_which_measurements_it_used(
    local: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", "--simulate", "--files-per-day", "10000", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["measurements"]["source"] == "reference"
    assert main(["plan", "--simulate", "--files-per-day", "10000"]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith("Measurements: the project's reference benchmark results")


def test_brief_is_refused_with_the_simulation(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--simulate", "--brief"]) == 2
    assert "--brief goes with the plan, not with --simulate" in capsys.readouterr().err


def test_cost_says_which_measurements_it_used(
    local: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["cost", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["measurements"]["source"] == "reference"
    assert {line["modality"] for line in document["per_million_files"]} >= {"image", "video"}
    slower_copy_of_the_reference(local)
    assert main(["cost"]) == 0
    assert "Measurements: local benchmark results" in capsys.readouterr().out


def test_the_project_root_is_shown_relative_and_a_machine_without_a_record_is_none(
    tmp_path: Path,
) -> None:
    bare = tmp_path / "bare"
    bare.mkdir()
    for name in REQUIRED:
        (bare / name).write_text("{}")
    found = measurements(bare)
    assert (found.recorded, found.machine, found.files) == (None, None, REQUIRED)
    assert measurements(REFERENCE_DIR).to_dict()["directory"] == "bench/reference"
