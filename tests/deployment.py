"""The deployment package as azd builds it: the files `.funcignore` lets through.

That file is an inclusion list in gitignore syntax, which is how azd reads it; the
package is listed here by git's own matcher (``git ls-files --others
--exclude-from=.funcignore`` over the project, from an empty repository, so that no
``.gitignore`` takes part), not by a reimplementation of its rules.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[1]


def package_files(root: Path = ROOT) -> list[PurePosixPath]:
    """Every file of ``root`` the package holds, relative to it."""
    with tempfile.TemporaryDirectory() as empty:
        subprocess.run(["git", "init", "--quiet", empty], check=True)
        listed = subprocess.run(
            ["git", "--git-dir", f"{empty}/.git", "--work-tree", str(root), "ls-files",
             "--others", f"--exclude-from={root / '.funcignore'}", "-z"],
            cwd=root, capture_output=True, check=True,
        ).stdout  # fmt: skip
    return sorted(PurePosixPath(name) for name in listed.decode("utf-8").split("\0") if name)


@functools.cache
def _packaged() -> frozenset[PurePosixPath]:
    return frozenset(package_files())


def left_out(path: PurePosixPath) -> bool:
    """Whether the package leaves ``path`` (a file, relative to the project) out."""
    return path not in _packaged()


def copy_package(target: Path, root: Path = ROOT) -> list[PurePosixPath]:
    """Copy what the package holds into ``target``; the files, relative."""
    files = package_files(root)
    for relative in files:
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / relative, destination)
    return files
