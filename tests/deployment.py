"""The deployment package as azd builds it: the app's folder minus what `.funcignore`
leaves out (gitignore-style patterns, as the Functions tooling and azd read them)."""

from __future__ import annotations

import fnmatch
import os
import shutil
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[1]


def funcignore_patterns(root: Path = ROOT) -> list[str]:
    lines = (root / ".funcignore").read_text("utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def left_out(path: PurePosixPath, patterns: list[str] | None = None) -> bool:
    """Whether ``.funcignore`` leaves ``path`` (relative to the app) out of the package."""
    for pattern in funcignore_patterns() if patterns is None else patterns:
        if pattern.startswith("/"):
            anchored = PurePosixPath(pattern.lstrip("/"))
            if path.parts[: len(anchored.parts)] == anchored.parts:
                return True
        elif any(fnmatch.fnmatch(part, pattern.rstrip("/")) for part in path.parts):
            return True
    return False


def copy_package(target: Path, root: Path = ROOT) -> list[PurePosixPath]:
    """Copy what the package would hold into ``target``; the files, relative."""
    patterns = funcignore_patterns(root)
    copied: list[PurePosixPath] = []
    for folder, directories, files in os.walk(root):
        relative_folder = PurePosixPath(Path(folder).relative_to(root).as_posix())
        directories[:] = [d for d in directories if not left_out(relative_folder / d, patterns)]
        for name in files:
            relative = relative_folder / name
            if left_out(relative, patterns):
                continue
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(Path(folder) / name, destination)
            copied.append(relative)
    return copied
