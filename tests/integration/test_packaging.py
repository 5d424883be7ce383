"""A wheel of the project carries every data file its code reads, so an installed
`prism` works outside a checkout (an editable install hides a missing one)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Read at run time relative to the code: the manifest, prices, policies, console files.
DATA_FILES = [
    "models/manifest.json",
    "prism_tools/cost/prices.json",
    "prism_tools/cost/cosmos_ru.json",
    "prism_tools/capacity/limits.json",
    "prism_local/functionrpc/function_rpc.proto",
    *(f"lifecycle_policies/{p.name}" for p in sorted((ROOT / "lifecycle_policies").glob("*.json"))),
    *(f"prism/console/static/{p.name}" for p in sorted((ROOT / "prism/console/static").iterdir())),
]


@pytest.mark.integration
def test_a_wheel_of_the_project_holds_every_data_file_its_code_reads(tmp_path: Path) -> None:
    # Built from a copy: setuptools writes build/ and *.egg-info beside the sources.
    source = tmp_path / "source"
    ignore = shutil.ignore_patterns("__pycache__", "build", "build.*", "*.onnx", ".*")
    for part in ("prism", "prism_local", "prism_tools", "models", "functions",
                 "lifecycle_policies"):  # fmt: skip
        shutil.copytree(ROOT / part, source / part, ignore=ignore)
    for part in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / part, source / part)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(tmp_path), str(source)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("prism-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [path for path in DATA_FILES if path not in names]
    assert not missing, f"the wheel lacks {missing}"
