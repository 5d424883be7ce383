"""The console ships with the app: neither the Functions package (``.funcignore``) nor
a wheel leaves its files, or the lifecycle files its view reads, behind."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path, PurePosixPath

from prism.console.assets import STATIC_DIR
from prism.lifecycle.validation import DEFAULT_POLICY_PATH
from prism.lifecycle.workload import EXAMPLE_WORKLOAD_PATH

ROOT = Path(__file__).resolve().parents[3]


def ignored(path: PurePosixPath, patterns: list[str]) -> bool:
    """gitignore-style: ``/x`` matches from the root, ``x`` any path component."""
    for pattern in patterns:
        if pattern.startswith("/"):
            anchored = PurePosixPath(pattern.lstrip("/"))
            if path.parts[: len(anchored.parts)] == anchored.parts:
                return True
        elif any(fnmatch.fnmatch(part, pattern.rstrip("/")) for part in path.parts):
            return True
    return False


def test_the_ignore_matcher_reads_funcignore_entries_as_the_host_does() -> None:
    assert ignored(PurePosixPath("prism_local/devhost/host.py"), ["/prism_local/devhost"])
    assert ignored(PurePosixPath("prism/x/__pycache__/a.pyc"), ["__pycache__"])
    assert not ignored(PurePosixPath("prism_local/devhost.py"), ["/prism_local/devhost"])


def test_the_functions_package_keeps_the_console_and_the_lifecycle_files() -> None:
    lines = (ROOT / ".funcignore").read_text(encoding="utf-8").splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    shipped = [*STATIC_DIR.iterdir(), DEFAULT_POLICY_PATH, EXAMPLE_WORKLOAD_PATH]
    for path in shipped:
        assert not ignored(PurePosixPath(path.relative_to(ROOT).as_posix()), patterns), path


def test_a_wheel_carries_the_static_files() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert config["tool"]["setuptools"]["package-data"]["prism.console"] == ["static/*"]
