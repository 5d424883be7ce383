"""The layering is import-linter's contracts (pyproject.toml, ``[tool.importlinter]``):
kept by the tree as it is, and each one broken by the import it exists to refuse,
planted in a copy of the tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("prism", "prism_local", "prism_tools", "functions", "models")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    # The tree under ``root``, not the installed (editable) one, is what is analysed.
    environment = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root, env=environment, capture_output=True, text=True, check=False,
    )  # fmt: skip


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "_generated", "*.json", "*.onnx", "build")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def plant(tree: Path, module: str, line: str) -> None:
    path = tree / module
    path.write_text(f"{path.read_text('utf-8')}\n{line}\n", "utf-8")


def test_the_tree_keeps_every_contract() -> None:
    completed = lint_imports(ROOT)
    assert completed.returncode == 0, completed.stdout
    assert "0 broken" in completed.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("prism/errors.py", "import prism_tools.cli", "The core never imports"),
        ("prism/results.py", "import prism_local.devhost", "The core never imports"),
        ("prism/jobs.py", "import functions.inference", "The core never imports"),
        ("functions/api.py", "import prism_tools.summary", "The Functions layer builds"),
        ("prism_local/logs.py", "import prism_tools.summary", "The local platform never"),
        ("prism/modalities/video.py", "import prism.modalities.audio", "Each modality"),
        ("prism/modalities/text.py", "import prism.modalities.image", "Each modality"),
        ("prism/onnx/registry.py", "import prism.inference.engine", "No import cycle"),
    ],
)
def test_an_import_against_the_layering_breaks_its_contract(
    tree: Path, module: str, line: str, contract: str
) -> None:
    assert lint_imports(tree).returncode == 0  # the copy keeps them before the plant
    plant(tree, module, line)
    completed = lint_imports(tree)
    assert completed.returncode != 0
    broken = completed.stdout.split("Broken contracts", 1)[1]
    assert contract in broken, completed.stdout
