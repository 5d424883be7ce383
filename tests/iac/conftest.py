"""Shared by the IaC tests: a throwaway copy of bicep/ to plant defects in."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """A copy of bicep/ (and the policy it loads) to break."""
    shutil.copytree(ROOT / "bicep", tmp_path / "bicep")
    shutil.copytree(ROOT / "lifecycle_policies", tmp_path / "lifecycle_policies")
    return tmp_path / "bicep"


def replace_once(path: Path, old: str, new: str) -> None:
    """Plant a defect: replace the first ``old`` in ``path`` (which must hold it)."""
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
