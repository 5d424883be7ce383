"""Shared by the IaC tests: a throwaway copy of bicep/ to plant defects in, and the
checks whose rule tables every caller passes the same way."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from . import flex_rules
from .bicep_checks import BicepFile, flex_problems, role_problems
from .builtin_roles import AZURE_BUILTIN_ROLES, COSMOS_DATA_ROLES

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


def line_of(path: Path, start: str) -> int:
    """The number of the first line of ``path`` that starts with ``start``."""
    lines = path.read_text("utf-8").splitlines()
    return next(number for number, line in enumerate(lines, start=1) if line.startswith(start))


def role_rules_problems(bicep: BicepFile) -> list[str]:
    """Role assignments against Azure's built-in and Cosmos DB data-plane roles."""
    return role_problems(bicep, AZURE_BUILTIN_ROLES, COSMOS_DATA_ROLES)


def flex_rules_problems(bicep: BicepFile) -> list[str]:
    """The function app against what Flex Consumption accepts."""
    return flex_problems(
        bicep,
        flex_rules.DEPRECATED_APP_SETTINGS,
        flex_rules.DEPRECATED_SITE_CONFIG,
        flex_rules.INSTANCE_MEMORY_MB,
        flex_rules.RUNTIME_VERSIONS,
    )
